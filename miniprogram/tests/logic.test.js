/** Pure logic, table-driven: coordinates, the geofence pre-check, sticker parsing, error messages, helpers. */
const test = require('node:test');
const assert = require('node:assert/strict');
const loc = require('../utils/location');
const { parseSticker, stickerFromLaunch, parseLink } = require('../utils/sticker');
const { ApiError, messageFor, MESSAGES } = require('../utils/errors');
const { unwrap, arrayBufferToBase64 } = require('../utils/api');
const { tokenExpiryMs, storedSize, base64UrlDecode } = require('../utils/wxp');
const { uuid4, UUID_RE } = require('../utils/uuid');
const { yuan, fileSize } = require('../utils/labels');
const { viewOf, documentType } = require('../utils/refunds');

test('GCJ-02 offset is hundreds of metres in China, identity outside, and the inverse round-trips', () => {
  const cases = [
    { name: 'Shenzhen Nanshan', lat: 22.5329, lng: 113.9305, china: true },
    { name: 'Hangzhou Binjiang', lat: 30.2084, lng: 120.212, china: true },
    { name: 'Beijing', lat: 39.9087, lng: 116.3975, china: true },
    { name: 'Paris', lat: 48.8566, lng: 2.3522, china: false },
  ];
  for (const c of cases) {
    const g = loc.wgs84ToGcj02(c.lat, c.lng);
    const offset = loc.distanceM({ lat: c.lat, lng: c.lng }, g);
    if (c.china) assert.ok(offset > 100 && offset < 1000, `${c.name}: offset ${offset}`);
    else assert.equal(offset, 0, c.name);
    const back = loc.gcj02ToWgs84(g.lat, g.lng);
    assert.ok(loc.distanceM(back, { lat: c.lat, lng: c.lng }) < 0.01, `${c.name}: inverse`);
  }
});

test('geofence pre-check: an on-site gcj02 fix passes, the same numbers labelled wgs84 warn', () => {
  const centre = { lat: 22.5329, lng: 113.9305, radius_m: 150 };
  const g = loc.wgs84ToGcj02(centre.lat, centre.lng);
  const rows = [
    { fix: { lat: g.lat, lng: g.lng, accuracy_m: 15, coord_system: 'gcj02' }, codes: [] },
    { fix: { lat: g.lat, lng: g.lng, accuracy_m: 15, coord_system: 'wgs84' }, codes: ['OUTSIDE_GEOFENCE'] },
    { fix: { lat: centre.lat, lng: centre.lng, accuracy_m: 15, coord_system: 'wgs84' }, codes: [] },
    { fix: { lat: g.lat, lng: g.lng, accuracy_m: 250, coord_system: 'gcj02' }, codes: ['LOCATION_TOO_INACCURATE'] },
    { fix: { lat: 22.55, lng: 113.95, accuracy_m: 500, coord_system: 'gcj02' },
      codes: ['LOCATION_TOO_INACCURATE', 'OUTSIDE_GEOFENCE'] },
    { fix: null, codes: ['LOCATION_REQUIRED'] },
  ];
  const limits = { max_accuracy_m: 100, max_speed_kmh: 150 }; // the server's, from the unit card
  for (const row of rows) {
    const check = loc.precheck(row.fix, centre, limits);
    assert.deepEqual(check.warnings.map((w) => w.code), row.codes, JSON.stringify(row.fix));
    assert.equal(check.ok, row.codes.length === 0);
  }
  const far = loc.precheck(rows[1].fix, centre, limits);
  assert.match(far.warnings[0].message, /^您不在房源现场:距离\d+米,允许范围150米$/);
});

test('the accuracy limit is the server\'s (unit card on_site_limits), none of the client\'s own', () => {
  const centre = { lat: 22.5329, lng: 113.9305, radius_m: 150 };
  const fix = { lat: centre.lat, lng: centre.lng, accuracy_m: 50, coord_system: 'wgs84' };
  const card = { geofence: { centre: { lat: centre.lat, lng: centre.lng }, radius_m: 150 },
    on_site_limits: { max_accuracy_m: 35, max_speed_kmh: 150 } };
  assert.deepEqual(loc.limitsOf(card), { max_accuracy_m: 35, max_speed_kmh: 150 });
  const strict = loc.precheck(fix, loc.geofenceOf(card), loc.limitsOf(card));
  assert.deepEqual(strict.warnings.map((w) => w.code), ['LOCATION_TOO_INACCURATE']);
  assert.equal(strict.warnings[0].message, '定位精度不足(50米,要求35米以内),请到窗边或室外重试');
  const loose = { ...card, on_site_limits: { max_accuracy_m: 60, max_speed_kmh: 150 } };
  assert.deepEqual(loc.precheck(fix, loc.geofenceOf(loose), loc.limitsOf(loose)).warnings, []);
  // No card (offline): no limit is made up here — the server decides on the accuracy.
  assert.equal(loc.limitsOf({}), null);
  assert.equal(loc.limitsOf(null), null);
  assert.deepEqual(loc.precheck({ ...fix, accuracy_m: 5000 }, centre).warnings, []);
  assert.equal(loc.DEFAULT_MAX_ACCURACY_M, undefined);
});

test('geofenceOf reads the unit card shape of POST /scan', () => {
  const card = { geofence: { centre: { lat: 22.5, lng: 113.9, coord_system: 'wgs84' },
    centre_gcj02: { lat: 22.49, lng: 113.91 }, radius_m: 150 } };
  assert.deepEqual(loc.geofenceOf(card), { lat: 22.5, lng: 113.9, radius_m: 150 });
  assert.equal(loc.geofenceOf({}), null);
});

test('getFix asks for gcj02 and labels the fix; denial becomes a clear message', async () => {
  const calls = [];
  const wx = { getLocation: (o) => { calls.push(o.type); o.success({ latitude: 22.5, longitude: 113.9, accuracy: 30 }); } };
  const fix = await loc.getFix(wx, { now: () => Date.UTC(2026, 10, 22, 7, 0, 0) });
  assert.deepEqual(calls, ['gcj02']);
  assert.deepEqual(fix, { lat: 22.5, lng: 113.9, accuracy_m: 30, coord_system: 'gcj02',
    captured_at: '2026-11-22T07:00:00.000Z' });
  const denied = { getLocation: (o) => o.fail({ errMsg: 'getLocation:fail auth deny' }) };
  await assert.rejects(loc.getFix(denied), (e) => e.code === 'LOCATION_DENIED' && /位置权限/.test(e.message));
});

test('sticker links: scanned text, the q launch parameter, and what is not a sticker', () => {
  const url = 'https://rw.example.cn/u/SZ-NS-A-1101?v=2&s=0123456789abcdef';
  const rows = [
    [url, 'SZ-NS-A-1101'],
    [encodeURIComponent(url), 'SZ-NS-A-1101'],
    [encodeURIComponent(encodeURIComponent(url)), 'SZ-NS-A-1101'],
    ['SZ-NS-A-1101?v=2&s=0123456789abcdef', 'SZ-NS-A-1101'],
    ['u/SZ-NS-A-1101?v=2&s=0123456789abcdef', 'SZ-NS-A-1101'],
    ['https://example.com/other/page', null],
    ['https://rw.example.cn/u/SZ-NS-A-1101', null],
    ['hello', null],
    ['', null],
  ];
  for (const [input, code] of rows) {
    const s = parseSticker(input);
    assert.equal(s ? s.unitCode : null, code, input);
  }
  const token = '12.1766400000.AbCdEfGhIjKlMnOpQrSt-_';
  const linkRows = [
    [url, 'unit'],
    [`https://rw.example.cn/rp/${token}`, 'progress'],
    [encodeURIComponent(`https://rw.example.cn/rp/${token}`), 'progress'],
    ['https://rw.example.cn/rp/12.x.short', null],
    ['https://rw.example.cn/other', null],
  ];
  for (const [input, type] of linkRows) {
    const link = parseLink(input);
    assert.equal(link ? link.type : null, type, input);
  }
  assert.equal(parseLink(`https://rw.example.cn/rp/${token}`).token, token);
  const launched = stickerFromLaunch({ query: { q: encodeURIComponent(url), scancode_time: '1763800000' } });
  assert.equal(launched.qr, url);
  assert.equal(launched.scannedAt, 1763800000000);
  assert.equal(stickerFromLaunch({ query: {} }), null);
});

test('server errors become ApiErrors with Chinese messages filled from details', () => {
  const rows = [
    [422, { error: { code: 'OUTSIDE_GEOFENCE', message: 'you are not at the unit',
      details: { distance_m: 612.4, radius_m: 150 } } }, 'OUTSIDE_GEOFENCE', '您不在房源现场:距离612.4米,允许范围150米'],
    [409, { error: { code: 'INVALID_TRANSITION', message: 'x', details: { current: 'DONE', requested: 'OPEN' } } },
      'INVALID_TRANSITION', '当前状态“已完成”不能变更为“待派单”'],
    [401, { error: { code: 'TOKEN_EXPIRED', message: 'token has expired', details: {} } }, 'TOKEN_EXPIRED',
      '登录已过期,请重新登录'],
    [418, { error: { code: 'SOMETHING_NEW', message: 'server words', details: {} } }, 'SOMETHING_NEW', 'server words'],
    [502, '<html>bad gateway</html>', 'INTERNAL_ERROR', MESSAGES.INTERNAL_ERROR],
    [404, '', 'ROUTE_NOT_FOUND', MESSAGES.ROUTE_NOT_FOUND],
  ];
  for (const [status, body, code, message] of rows) {
    assert.throws(() => unwrap(status, body), (e) => e instanceof ApiError && e.code === code && e.message === message
      && e.status === status, `${status} ${code}`);
  }
  assert.deepEqual(unwrap(200, '{"a":1}'), { a: 1 });
  assert.equal(new ApiError({ code: 'NETWORK_ERROR', status: 0 }).isTransient, true);
  assert.equal(new ApiError({ code: 'OUTSIDE_GEOFENCE', status: 422 }).isTransient, false);
  assert.equal(messageFor('NOPE'), '操作失败(NOPE)');
});

test('every message template is Chinese and names only known placeholders', () => {
  for (const [code, text] of Object.entries(MESSAGES)) {
    assert.match(text, /[\u4e00-\u9fff]/, code);
    assert.doesNotMatch(text, /\{[^a-z_}]/, code);
  }
});

test('helpers: JWT expiry, storage size in UTF-8, UUID v4, base64, money', () => {
  const payload = Buffer.from(JSON.stringify({ sub: '1', exp: 1763800000 })).toString('base64url');
  assert.equal(tokenExpiryMs(`h.${payload}.s`), 1763800000000);
  assert.equal(tokenExpiryMs('garbage'), 0);
  assert.equal(base64UrlDecode(Buffer.from('巡检 ok').toString('base64url')), '巡检 ok');
  assert.equal(storedSize('巡检'), Buffer.byteLength(JSON.stringify('巡检')));
  assert.equal(storedSize({ a: [1, 2] }), JSON.stringify({ a: [1, 2] }).length);
  const ids = new Set(Array.from({ length: 200 }, () => uuid4(null)));
  assert.equal(ids.size, 200);
  ids.forEach((id) => assert.match(id, UUID_RE));
  const bytes = Uint8Array.from([0, 1, 2, 250, 251, 252, 253]);
  assert.equal(arrayBufferToBase64(bytes.buffer), Buffer.from(bytes).toString('base64'));
  assert.equal(yuan(700000), '¥7,000.00');
  assert.equal(yuan(-5), '-¥0.05');
});

test('refund view: six nodes, return for correction rolls back later dates, cancelled', () => {
  const refund = { id: 1, unit_code: 'U1', step: 'SETTLED', deposit_fen: 700000, deductions_fen: 20000,
    refund_fen: 680000, debt_fen: 0, expected_completion: '2026-11-30T10:00:00+08:00',
    timeline: [
      { action: 'APPLY', step: 'APPLIED', at: '2026-11-20T01:00:00Z' },
      { action: 'ADVANCE', step: 'INSPECTED', at: '2026-11-20T05:00:00Z' },
      { action: 'ADVANCE', step: 'SETTLED', at: '2026-11-21T05:00:00Z' },
      { action: 'ADVANCE', step: 'APPROVED', at: '2026-11-21T08:00:00Z' },
      { action: 'RETURN', step: 'SETTLED', at: '2026-11-21T09:00:00Z', reason: '金额有误' },
    ],
    deductions: [{ id: 3, category: 'CLEANING', amount_fen: 20000, description: '深度保洁',
      evidence: [{ photo_id: 'p', thumbnail: 'data:image/jpeg;base64,AAA' }], has_quote: false }] };
  const v = viewOf(refund);
  assert.deepEqual(v.nodes.map((n) => n.state), ['done', 'done', 'current', 'todo', 'todo', 'todo']);
  assert.equal(v.nodes[3].at, '');
  assert.equal(v.returned.reason, '金额有误');
  assert.equal(v.expected, '2026-11-30');
  assert.equal(v.refund, '¥6,800.00');
  assert.deepEqual(v.deductions[0].photos, ['data:image/jpeg;base64,AAA']);
  const cancelled = viewOf({ ...refund, step: 'CANCELLED', timeline: refund.timeline.slice(0, 1) });
  assert.equal(cancelled.cancelled, true);
  assert.deepEqual(cancelled.nodes.map((n) => n.state), ['done', 'off', 'off', 'off', 'off', 'off']);
});

test('refund view: documents with Chinese kinds and sizes, the quote behind each deduction', () => {
  const v = viewOf({ id: 2, step: 'PAID', deductions: [
    { id: 4, category: 'DAMAGE', amount_fen: 45000, has_quote: true, quote_document_id: 9, evidence: [] },
    { id: 5, category: 'CLEANING', amount_fen: 100, has_quote: false, quote_document_id: null },
  ], documents: [
    { id: 9, kind: 'QUOTE', filename: '墙面修补报价.pdf', size_bytes: 20480 },
    { id: 11, kind: 'BANK_RECEIPT', filename: 'receipt.png', size_bytes: 512 },
  ] });
  assert.deepEqual(v.deductions.map((d) => [d.has_quote, d.quote_document_id]), [[true, 9], [false, null]]);
  assert.deepEqual(v.documents, [
    { id: 9, kind: 'QUOTE', kind_label: '维修报价', filename: '墙面修补报价.pdf', size: '20.0 KB' },
    { id: 11, kind: 'BANK_RECEIPT', kind_label: '银行回单', filename: 'receipt.png', size: '512 B' },
  ]);
  assert.deepEqual(viewOf({ id: 3, step: 'APPLIED' }).documents, [], 'an older server without documents');
  assert.equal(fileSize(3 * 1024 * 1024 + 1), '3.0 MB');
  assert.equal(documentType('application/pdf', 'x.png'), 'pdf');
  assert.equal(documentType('image/jpeg', 'x.pdf'), 'image');
  assert.equal(documentType('', 'scan.JPG'), 'image', 'no content type: by the file name');
  assert.equal(documentType('', 'quote'), 'pdf');
});

// utils/busy: the pages' one busy/error pattern, recorded through a page-like object's setData calls.
const { whileBusy, refreshOnPull } = require('../utils/busy');

function recordingPage() {
  const page = { data: {}, calls: [] };
  page.setData = (patch) => { page.calls.push(patch); Object.assign(page.data, patch); };
  return page;
}

test('whileBusy: busy while the step runs, cleared fields first, busy off after', async () => {
  const page = recordingPage();
  let busyInside = null;
  const value = await whileBusy(page, async () => { busyInside = page.data.busy; return 42; }, { notice: '' });
  assert.equal(value, 42);
  assert.equal(busyInside, true);
  assert.deepEqual(page.calls, [{ busy: true, error: '', notice: '' }, { busy: false }]);
});

test('whileBusy: a failure becomes the page error (its message), never thrown', async () => {
  const page = recordingPage();
  const value = await whileBusy(page, async () => { throw new Error('网络不可用'); });
  assert.equal(value, undefined);
  assert.deepEqual(page.calls, [{ busy: true, error: '' }, { error: '网络不可用' }, { busy: false }]);
});

test('refreshOnPull: reloads, then stops the pull-down spinner', async () => {
  const order = [];
  const page = { load: async () => { order.push('load'); } };
  await refreshOnPull(page, { stopPullDownRefresh: () => order.push('stop') });
  assert.deepEqual(order, ['load', 'stop']);
});
