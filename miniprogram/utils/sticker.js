/**
 * Sticker links. A unit's sticker carries a plain URL `{RW_QR_BASE_URL}/u/{unit_code}?v={n}&s={sig}`:
 *   - scanned with WeChat's own scanner ("扫普通链接二维码打开小程序"), the mini program opens with launch
 *     option `q` = the URL-encoded link (and `scancode_time`);
 *   - scanned inside the app with wx.scanCode, `result` is the same URL.
 * The client only extracts the unit code for display; the signature is verified by the server (POST /scan).
 */

function decodeQ(q) {
  let text = String(q || '').trim();
  // WeChat passes the link URL-encoded once; tolerate a double encoding too.
  for (let i = 0; i < 3 && /^https?%(25)*3a/i.test(text); i += 1) {
    try {
      text = decodeURIComponent(text);
    } catch (e) {
      break;
    }
  }
  return text;
}

/** {qr, unitCode} from a scanned string or a `q` launch parameter, or null when it is not a sticker link. */
function parseSticker(input) {
  const qr = decodeQ(input);
  if (!qr || qr.length > 512) return null;
  let codePart;
  let query;
  const m = qr.match(/^https?:\/\/[^/]+(\/[^?#]*)(?:\?([^#]*))?/i);
  if (m) {
    if (!m[1].startsWith('/u/')) return null;
    codePart = m[1].slice(3);
    query = m[2] || '';
  } else {
    const i = qr.indexOf('?');
    if (i < 0) return null;
    codePart = qr.slice(0, i).replace(/^u\//, '');
    query = qr.slice(i + 1);
  }
  let unitCode;
  try {
    unitCode = decodeURIComponent(codePart).replace(/\/+$/, '');
  } catch (e) {
    return null;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(unitCode)) return null;
  if (!/(^|&)v=\d+/.test(query) || !/(^|&)s=[0-9a-f]+/.test(query)) return null;
  return { qr, unitCode };
}

/**
 * A refund progress link `{RW_QR_BASE_URL}/rp/{token}` (the tenant's progress QR, refunds/progress.py):
 * {url, token} or null. Token shape `{id}.{expiry}.{22-char base64url sig}`.
 */
function parseProgressLink(input) {
  const url = decodeQ(input);
  const m = url.match(/^https?:\/\/[^/]+\/rp\/([0-9]+\.[0-9]+\.[A-Za-z0-9_-]{22})\/?(?:[?#].*)?$/i);
  return m ? { url, token: m[1] } : null;
}

/** What a scanned string or `q` points at: {type: 'unit', qr, unitCode} | {type: 'progress', url, token} | null. */
function parseLink(input) {
  const progress = parseProgressLink(input);
  if (progress) return Object.assign({ type: 'progress' }, progress);
  const sticker = parseSticker(input);
  return sticker ? Object.assign({ type: 'unit' }, sticker) : null;
}

/** The sticker in App/Page launch options ({query: {q, scancode_time}}), or null. */
function stickerFromLaunch(options) {
  const query = (options && options.query) || {};
  if (!query.q) return null;
  const sticker = parseSticker(query.q);
  if (!sticker) return null;
  return Object.assign(sticker, { scannedAt: query.scancode_time ? Number(query.scancode_time) * 1000 : null });
}

module.exports = { decodeQ, parseSticker, parseProgressLink, parseLink, stickerFromLaunch };
