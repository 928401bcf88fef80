/**
 * The API client against the REAL server, with wx.login going through the backend to a fake WeChat server
 * (wechatpy code2Session for real): binding, token refresh (expired, forged, about to expire, concurrent),
 * losing the binding, and the server's error codes turned into Chinese messages.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, stickerUrl, signJwt, devLogin } = require('./support/server');
const { bootApp, staffBindingCode, loginStaff } = require('./support/session');
const { tokenExpiryMs } = require('../utils/wxp');
const { AUTH_KEY } = require('../utils/api');
const labels = require('../utils/labels');

let server;
let inspector;
let hzInspector;
const INSPECTOR_OPENID = 'openid-api-inspector';

test.before(async () => {
  server = await startServer();
  inspector = server.users.INSPECTOR.find((u) => u.name === '深圳巡检员');
  hzInspector = server.users.INSPECTOR.find((u) => u.name === '杭州巡检员');
});

test.after(async () => {
  if (server) await server.stop();
});

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

function requestsTo(ctx, path) {
  return ctx.wx.__log.sequence.filter((s) => s.endsWith(` ${path}`)).length;
}

/** A fresh phone of the (bound, after the first call) Shenzhen inspector. */
async function boundInspector() {
  const ctx = bootApp(server, { openid: INSPECTOR_OPENID });
  await loginStaff(ctx, inspector);
  return ctx;
}

test('wx.login → not bound → a wrong code is refused in Chinese → the right code binds', async () => {
  const ctx = bootApp(server, { openid: 'openid-api-bind' });
  const { api } = ctx.app;
  assert.equal(api.isLoggedIn(), false);
  const first = await api.loginWithWechat();
  assert.deepEqual(first, { bound: false });
  await assert.rejects(api.bind('WRONG-CODE-1'), (e) => e.code === 'INVALID_BINDING_CODE' && e.status >= 400
    && e.message === '绑定码无效或已过期,请向管理员重新获取');
  const code = await staffBindingCode(server, hzInspector.id);
  const bound = await api.bind(code);
  assert.equal(bound.user.id, hzInspector.id);
  assert.equal(bound.user.role, 'INSPECTOR');
  const me = await api.get('/api/v1/auth/me');
  assert.equal(me.id, hzInspector.id);
  assert.ok(me.building_ids.length >= 1);
  // Next launch on another phone of the same WeChat user: bound at once.
  const other = bootApp(server, { openid: 'openid-api-bind' });
  assert.deepEqual((await other.app.api.loginWithWechat()).user.id, hzInspector.id);
  assert.ok(server.wechat.calls.some((p) => p.endsWith('/sns/jscode2session')), 'went through code2Session');
});

test('an expired token is refreshed through wx.login and the request retried once', async () => {
  const ctx = await boundInspector();
  const { api } = ctx.app;
  const real = api.session().token;
  const claims = claimsOf(real);
  const now = Math.floor(Date.now() / 1000);
  const expired = signJwt({ ...claims, iat: now - 7200, exp: now - 60 });
  ctx.wx.setStorageSync(AUTH_KEY, { ...api.session(), token: expired, expires_at: Date.now() + 3600 * 1000 });
  const logins = ctx.wx.__log.logins;
  const me = await api.get('/api/v1/auth/me');
  assert.equal(me.id, inspector.id);
  assert.equal(ctx.wx.__log.logins, logins + 1, 'one wx.login');
  assert.equal(requestsTo(ctx, '/api/v1/auth/me'), 2, 'refused with TOKEN_EXPIRED, then retried');
  assert.notEqual(api.session().token, expired);
  assert.ok(api.session().expires_at > Date.now());
});

test('a forged token (INVALID_TOKEN) is replaced the same way', async () => {
  const ctx = await boundInspector();
  const { api } = ctx.app;
  const forged = `${api.session().token.slice(0, -4)}AAAA`;
  ctx.wx.setStorageSync(AUTH_KEY, { ...api.session(), token: forged });
  const units = await api.get('/api/v1/units', { query: { building: 'SZ-NS-A' } });
  assert.ok(units.total >= 12);
  assert.notEqual(api.session().token, forged);
});

test('a token about to expire is refreshed before the request; concurrent requests share one refresh', async () => {
  const ctx = await boundInspector();
  const { api } = ctx.app;
  const claims = claimsOf(api.session().token);
  const now = Math.floor(Date.now() / 1000);
  const soon = signJwt({ ...claims, iat: now, exp: now + 30 });
  ctx.wx.setStorageSync(AUTH_KEY, { ...api.session(), token: soon, expires_at: tokenExpiryMs(soon) });
  const logins = ctx.wx.__log.logins;
  const before = requestsTo(ctx, '/api/v1/auth/me');
  const answers = await Promise.all(Array.from({ length: 5 }, () => api.get('/api/v1/auth/me')));
  assert.ok(answers.every((a) => a.id === inspector.id));
  assert.equal(ctx.wx.__log.logins, logins + 1, 'five requests, one refresh');
  assert.equal(requestsTo(ctx, '/api/v1/auth/me') - before, 5, 'none was refused first');
});

test('a WeChat account that lost its binding: NOT_BOUND, the session is dropped, listeners told', async () => {
  const ctx = bootApp(server, { openid: 'openid-api-unbound' });
  const { api } = ctx.app;
  const dev = await devLogin(server.baseUrl, inspector.id);
  ctx.wx.setStorageSync(AUTH_KEY, { token: `${dev.token.slice(0, -4)}AAAA`, user: dev.user, method: 'wechat',
    expires_at: Date.now() + 3600e3 });
  const lost = [];
  api.onAuthLost((e) => lost.push(e.code));
  await assert.rejects(api.get('/api/v1/auth/me'), (e) => e.code === 'NOT_BOUND' && /绑定码/.test(e.message));
  assert.deepEqual(lost, ['NOT_BOUND']);
  assert.equal(api.isLoggedIn(), false);
  assert.ok(ctx.navigations.some((n) => n.url === '/pages/login/login'), 'app.js sends the user to log in');
});

test('a demo session refreshes by dev login again', async () => {
  const ctx = bootApp(server, { openid: 'openid-api-dev' });
  const { api } = ctx.app;
  await api.devLogin(inspector.id);
  ctx.wx.setStorageSync(AUTH_KEY, { ...api.session(), token: 'not.a.jwt' });
  assert.equal((await api.get('/api/v1/auth/me')).id, inspector.id);
  assert.equal(ctx.wx.__log.logins, 0);
});

test('the server\'s errors arrive as clear Chinese messages', async () => {
  const ctx = await boundInspector();
  const { api } = ctx.app;
  const forged = stickerUrl('SZ-NS-A-1101').replace(/s=[0-9a-f]+/, 's=0000000000000000');
  const rows = [
    [() => api.post('/api/v1/scan', { qr: forged }), 'INVALID_QR', 400, /不是有效的房源标签/],
    [() => api.post('/api/v1/scan', { qr: 'hello' }), 'INVALID_QR', 400, /不是有效的房源标签/],
    [() => api.post('/api/v1/scan', { qr: stickerUrl('SZ-NS-A-1101', 7) }), 'INVALID_QR', 400, /房源标签/],
    [() => api.post('/api/v1/scan', { qr: stickerUrl('HZ-BJ-C-1101') }), 'NOT_FOUND', 404, /不在您负责的楼宇/],
    [() => api.get('/api/v1/units/NO-SUCH-UNIT'), 'UNKNOWN_UNIT', 404, /^未找到该房源$/],
    [() => api.post('/api/v1/sync', { items: [] }), 'VALIDATION_ERROR', 422, /填写的内容有误/],
    [() => api.post('/api/v1/units/SZ-NS-A-1101/status', { status: 'VACANT', reason: 'x' }), 'FORBIDDEN', 403,
      /没有权限/],
    [() => api.get('/api/v1/no-such-endpoint'), 'ROUTE_NOT_FOUND', 404, /暂不支持/],
  ];
  for (const [call, code, status, message] of rows) {
    // eslint-disable-next-line no-await-in-loop
    await assert.rejects(call(), (e) => {
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      assert.match(e.message, message);
      return true;
    });
  }
  // A reissued sticker: the old one is refused REVOKED_QR, the new one works.
  const manager = server.users.MANAGER.find((u) => u.name === '深圳区域经理');
  const mgrToken = (await devLogin(server.baseUrl, manager.id)).token;
  const res = await fetch(`${server.baseUrl}/api/v1/units/SZ-NS-A-1202/sticker/reissue`,
    { method: 'POST', headers: { authorization: `Bearer ${mgrToken}` } });
  const reissued = await res.json();
  assert.equal(reissued.qr_version, 2);
  await assert.rejects(api.post('/api/v1/scan', { qr: stickerUrl('SZ-NS-A-1202', 1) }), (e) => e.code === 'REVOKED_QR'
    && e.status === 410 && e.message === '该标签已作废,请扫描房源上的新标签,或联系管理员重新张贴');
  assert.equal((await api.post('/api/v1/scan', { qr: reissued.url })).unit.code, 'SZ-NS-A-1202');
  assert.equal(reissued.url, stickerUrl('SZ-NS-A-1202', 2));

  // An invalid work-order transition names the states.
  const mine = await api.get('/api/v1/work-orders', { query: { mine: 'true' } });
  const order = mine.items.find((o) => o.status === 'OPEN' || o.status === 'ASSIGNED');
  assert.ok(order, 'lease signing opened a cleaning work order for the building inspector');
  await assert.rejects(api.post(`/api/v1/work-orders/${order.id}/transition`, { status: 'DONE' }),
    (e) => e.code === 'INVALID_TRANSITION'
      && e.message === `当前状态“${labels.WORK_ORDER_STATUS[order.status]}”不能变更为“已完成”`);
  // Offline: no answer at all.
  ctx.wx.__setNetwork(false);
  await assert.rejects(api.get('/api/v1/auth/me'), (e) => e.code === 'NETWORK_ERROR' && e.isNetwork
    && /网络不可用/.test(e.message));
});

test('WeChat refusing the login code maps to a clear message', async () => {
  const ctx = bootApp(server, { openid: 'openid-api-reuse' });
  const code = server.wechat.issueCode('openid-api-reuse');
  ctx.wx.login = ({ success }) => setImmediate(() => success({ code }));
  await ctx.app.api.loginWithWechat(); // first use: fine (not bound)
  await assert.rejects(ctx.app.api.loginWithWechat(), (e) => e.code === 'WECHAT_CODE_USED' && e.status === 401
    && e.message === '微信登录凭证已使用,请重试');
  ctx.wx.login = ({ success }) => setImmediate(() => success({ code: 'never-issued' }));
  await assert.rejects(ctx.app.api.loginWithWechat(), (e) => e.code === 'WECHAT_CODE_INVALID');
});

test('role checks from the server: a tenant cannot list work orders', async () => {
  const tenant = server.users.TENANT[0];
  const ctx = bootApp(server, { openid: 'openid-api-tenant' });
  await ctx.app.api.devLogin(tenant.id);
  await assert.rejects(ctx.app.api.get('/api/v1/work-orders'), (e) => e.code === 'FORBIDDEN' && e.status === 403);
  const leases = await ctx.app.api.get('/api/v1/me/leases');
  assert.ok(leases.items.length >= 1);
  assert.ok(leases.items.every((l) => l.unit_code));
});
