/**
 * RFC 4122 version-4 UUIDs for client ids (status reports, photos, confirmations).
 *
 * Math.random is enough here: the ids are idempotency keys, not secrets (wx.getRandomValues is asynchronous and
 * only in newer base libraries). Even a collision could not overwrite anything: the server answers a reused id
 * with different content CONFLICT / CLIENT_ID_REUSED, which the queue shows to the user.
 */

function uuid4() {
  const b = new Array(16);
  for (let i = 0; i < 16; i += 1) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = b.map((x) => (x + 0x100).toString(16).slice(1)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

module.exports = { uuid4, UUID_RE };
