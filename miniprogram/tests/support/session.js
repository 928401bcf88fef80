/**
 * Booting the real app (app.js, utils/*) against the test server with a wx stand-in, logging in through the
 * fake WeChat server, and "killing" / restarting the app with what its storage had persisted.
 */
const { createWx, PersistentStore } = require('./wx');
const { loadApp } = require('./runtime');
const { httpJson } = require('./server');
const { BASE_URL_OVERRIDE_KEY } = require('../../config');
const loc = require('../../utils/location');

/** Start the app on `store` (a new phone, or the one a killed app left behind). */
function bootApp(server, { store = new PersistentStore(), openid, hooks = {}, online = true, tmpDir,
  launch } = {}) {
  store.map.set(BASE_URL_OVERRIDE_KEY, JSON.stringify(server.baseUrl));
  const wx = createWx({ store, hooks, online, tmpDir,
    loginCode: () => server.wechat.issueCode(openid) });
  const runtime = loadApp(wx, launch);
  return Object.assign(runtime, { wx, store, openid, server });
}

/** Kill the running app and start it again from persisted storage (same phone, same files). */
function restart(ctx, { hooks = {} } = {}) {
  const store = ctx.wx.__kill();
  return bootApp(ctx.server, { store, openid: ctx.openid, hooks, tmpDir: ctx.wx.__tmpDir });
}

/** A one-time binding code for a staff user, issued by the demo admin. */
async function staffBindingCode(server, userId) {
  const res = await httpJson(server.baseUrl, 'POST', `/api/v1/admin/users/${userId}/binding-code`, {},
    server.users.adminToken);
  return res.binding_code;
}

/** Log the app in as a staff user through WeChat: wx.login → not bound → bind with an admin's code. */
async function loginStaff(ctx, user) {
  const first = await ctx.app.api.loginWithWechat();
  if (first.bound) return first.user;
  const code = await staffBindingCode(ctx.server, user.id);
  const bound = await ctx.app.api.bind(code);
  return bound.user;
}

/** Poll (without a time threshold: bounded by iterations) until `fn()` is truthy. */
async function until(fn, what) {
  for (let i = 0; i < 4000; i += 1) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 5)); // eslint-disable-line no-await-in-loop
  }
  throw new Error(`never happened: ${what}`);
}

/** Put the stand-in phone at the unit (gcj02, as wx.getLocation({type: 'gcj02'}) reports), or `metres` north. */
function standAt(ctx, card, metres = 0) {
  const centre = loc.geofenceOf(card);
  const g = loc.wgs84ToGcj02(centre.lat + metres / 111320, centre.lng);
  ctx.wx.__setLocation({ latitude: g.lat, longitude: g.lng, accuracy: 12 });
}

module.exports = { bootApp, restart, staffBindingCode, loginStaff, until, standAt };
