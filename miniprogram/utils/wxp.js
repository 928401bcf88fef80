/** Promise wrappers for callback-style wx APIs (plain CommonJS, usable in Node tests with a wx stand-in). */

function call(wx, name, options) {
  return new Promise((resolve, reject) => {
    const fn = wx && wx[name];
    if (typeof fn !== 'function') {
      reject(Object.assign(new Error(`wx.${name} is not available`), { errMsg: `${name}:fail not available` }));
      return;
    }
    fn.call(wx, Object.assign({}, options, {
      success: resolve,
      fail: (err) => reject(Object.assign(new Error((err && err.errMsg) || `${name}:fail`), err || {})),
    }));
  });
}

/** base64url → string (JWT payloads are ASCII JSON). No atob in older mini program base libraries. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64UrlDecode(input) {
  const s = String(input).replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  let bits = 0;
  let value = 0;
  let out = '';
  for (let i = 0; i < s.length; i += 1) {
    const idx = ALPHABET.indexOf(s[i]);
    if (idx < 0) throw new Error('bad base64');
    value = (value << 6) | idx;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((value >> bits) & 0xff);
    }
  }
  try {
    return decodeURIComponent(escape(out)); // UTF-8 bytes → string
  } catch (e) {
    return out;
  }
}

/** The `exp` claim of a JWT in milliseconds, or 0 when it cannot be read (the server decides anyway). */
function tokenExpiryMs(token) {
  try {
    const payload = JSON.parse(base64UrlDecode(String(token).split('.')[1]));
    return typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
  } catch (e) {
    return 0;
  }
}

/** Byte size of a value as wx storage would hold it (JSON, UTF-8). */
function storedSize(value) {
  const text = JSON.stringify(value === undefined ? null : value);
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { bytes += 4; i += 1; } else bytes += 3;
  }
  return bytes;
}

module.exports = { call, base64UrlDecode, tokenExpiryMs, storedSize };
