/**
 * The offline queue against the REAL server (rentwatch serve on SQLite with the embedded broker):
 * offline capture → reconnect → sync (photos first) → a refused item kept with its reason → replay answered
 * DUPLICATE → the app killed at every point of a sync losing nothing → storage limits.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, stickerUrl, httpJson, devLogin } = require('./support/server');
const { bootApp, restart, loginStaff, until, standAt } = require('./support/session');
const { writePhoto } = require('./support/png');
const { createWx, PersistentStore } = require('./support/wx');
const actions = require('../utils/actions');
const loc = require('../utils/location');
const { capturePhoto } = require('../utils/upload');
const { createQueue, ITEM_PREFIX, INDEX_KEY } = require('../utils/queue');
const { ApiError } = require('../utils/errors');

let server;
let inspector;
let manager;
const photoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-camera-'));

test.before(async () => {
  server = await startServer();
  inspector = server.users.INSPECTOR.find((u) => u.name === '深圳巡检员');
  manager = server.users.MANAGER.find((u) => u.name === '深圳区域经理');
  assert.ok(inspector && manager, 'demo staff for Shenzhen');
});

test.after(async () => {
  if (server) await server.stop();
  fs.rmSync(photoDir, { recursive: true, force: true });
});



async function asStaff(openid, user) {
  const ctx = bootApp(server, { openid });
  await loginStaff(ctx, user);
  return ctx;
}

async function card(ctx, code) {
  return actions.fetchCard(ctx.app.api, stickerUrl(code));
}

async function myReports(token) {
  const page = await httpJson(server.baseUrl, 'GET', '/api/v1/status-reports?mine=true&page_size=200', null, token);
  return page.items;
}

function token(ctx) {
  return ctx.app.api.session().token;
}

test('offline capture → reconnect → photos then batch → accepted, pending confirmation, refused with reason',
  async () => {
    const ctx = await asStaff('openid-inspector', inspector);
    const { queue, api } = ctx.app;
    const qr = stickerUrl('SZ-NS-A-1104');
    const unitCard = await card(ctx, 'SZ-NS-A-1104');
    assert.equal(unitCard.unit.status, 'VACANT');
    assert.ok(unitCard.requestable_statuses.includes('RENOVATION'));

    ctx.wx.__setNetwork(false);
    assert.equal(queue.isOnline(), false);
    const before = ctx.wx.__log.sequence.length;

    standAt(ctx, unitCard);
    const fix = await loc.getFix(ctx.wx);
    assert.equal(fix.coord_system, 'gcj02');
    const photo = await capturePhoto(ctx.wx, writePhoto(photoDir));
    assert.notEqual(photo.path, null);
    const a = await actions.submitReport(queue, { card: unitCard, qr, requestedStatus: null, category: 'ROUTINE',
      note: '离线巡检', fix, photos: [photo] });
    const b = await actions.submitReport(queue, { card: unitCard, qr, requestedStatus: 'RENOVATION',
      category: 'STATUS_UPDATE', note: '开始装修', fix });
    standAt(ctx, unitCard, 2000); // two kilometres away: the server will refuse this one
    const farFix = await loc.getFix(ctx.wx);
    const check = loc.precheck(farFix, loc.geofenceOf(unitCard));
    assert.deepEqual(check.warnings.map((w) => w.code), ['OUTSIDE_GEOFENCE'], 'warned locally first');
    const c = await actions.submitReport(queue, { card: unitCard, qr, requestedStatus: null, category: 'ROUTINE',
      note: '不在现场', fix: farFix });

    for (const captured of [a, b, c]) {
      assert.equal(captured.sync.offline, true);
      assert.equal(captured.item.state, 'PENDING');
    }
    assert.equal(ctx.wx.__log.sequence.length, before, 'nothing was sent while offline');
    assert.deepEqual(queue.list().map((i) => i.client_id), [a.item.client_id, b.item.client_id, c.item.client_id]);
    for (const item of queue.list()) {
      const stored = ctx.store.map.get(ITEM_PREFIX + item.client_id);
      assert.ok(Buffer.byteLength(stored) < 4096, 'an item is metadata and a file path, never photo bytes');
    }
    const payloads = queue.list().map((i) => i.payload);

    // Reconnect: wx.onNetworkStatusChange starts the sync.
    ctx.wx.__setNetwork(true);
    assert.equal(queue.syncing, true, 'sync started on reconnect');
    const summary = await queue.sync('test');
    assert.equal(summary.error, null);

    const sent = ctx.wx.__log.sequence.slice(before);
    const uploadAt = sent.indexOf('uploadFile POST /api/v1/photos');
    const syncAt = sent.indexOf('request POST /api/v1/sync');
    assert.ok(uploadAt >= 0 && syncAt > uploadAt, `photo before the batch: ${sent}`);

    const recent = Object.fromEntries(queue.recent().map((d) => [d.client_id, d.result]));
    assert.equal(recent[a.item.client_id], 'ACCEPTED');
    assert.equal(recent[b.item.client_id], 'PENDING_CONFIRMATION');
    const left = queue.list();
    assert.equal(left.length, 1, 'only the refused item stays');
    assert.equal(left[0].client_id, c.item.client_id);
    assert.equal(left[0].state, 'REFUSED');
    assert.equal(left[0].reason.code, 'OUTSIDE_GEOFENCE');
    assert.match(left[0].reason.message, /^您不在房源现场:距离\d+(\.\d+)?米,允许范围150(\.0)?米$/);
    await until(() => !fs.existsSync(photo.path), 'the saved photo is deleted once acknowledged');

    // The queue page shows the refused item with its reason.
    const page = ctx.loadPage('pages/queue/queue');
    assert.equal(page.data.items.length, 1);
    assert.equal(page.data.items[0].state_label, '被拒绝');
    assert.match(page.data.items[0].reason, /您不在房源现场/);
    assert.ok(page.data.recent.some((r) => r.result === '已受理'));
    page.onUnload();

    const reports = await myReports(token(ctx));
    const byClient = Object.fromEntries(reports.map((r) => [r.client_id, r]));
    assert.equal(byClient[a.item.client_id].state, 'ACCEPTED');
    assert.deepEqual(byClient[a.item.client_id].photo_ids, [photo.id]);
    assert.equal(byClient[a.item.client_id].location.coord_system, 'gcj02');
    assert.equal(byClient[b.item.client_id].state, 'PENDING_CONFIRMATION');
    assert.equal(byClient[c.item.client_id], undefined, 'a refused item writes nothing');

    // Replaying the same batch changes nothing and answers DUPLICATE with the original result.
    const unitBefore = await api.get('/api/v1/units/SZ-NS-A-1104');
    const replay = await api.post('/api/v1/sync', { items: payloads.slice(0, 2) });
    assert.deepEqual(replay.results.map((r) => [r.result, r.original_result]),
      [['DUPLICATE', 'ACCEPTED'], ['DUPLICATE', 'PENDING_CONFIRMATION']]);
    const unitAfter = await api.get('/api/v1/units/SZ-NS-A-1104');
    assert.equal(unitAfter.status_version, unitBefore.status_version);
    assert.equal((await myReports(token(ctx))).length, reports.length);

    // The user goes to the unit and retries the refused item: a fresh client id, an on-site fix → accepted.
    standAt(ctx, unitCard);
    const retried = queue.retry(c.item.client_id, { location: await loc.getFix(ctx.wx) });
    assert.notEqual(retried.client_id, c.item.client_id);
    const again = await queue.sync('retry');
    assert.equal(again.results[retried.client_id], 'ACCEPTED');
    assert.equal(queue.list().length, 0);

    // A manager confirms the inspector's change on site through the same queue: the unit changes.
    const mgr = await asStaff('openid-manager', manager);
    const pending = await actions.pendingConfirmations(mgr.app.api);
    const report = pending.find((r) => r.client_id === b.item.client_id);
    assert.ok(report, 'the change waits for the manager');
    standAt(mgr, unitCard);
    const decided = await actions.submitDecision(mgr.app.queue, { report, qr, decision: 'confirm',
      fix: await loc.getFix(mgr.wx) });
    assert.equal(decided.sync.results[decided.item.client_id], 'CONFIRMED');
    assert.equal((await api.get('/api/v1/units/SZ-NS-A-1104')).status, 'RENOVATION');
    await assert.rejects(async () => actions.submitDecision(mgr.app.queue, { report, qr,
      decision: 'reject', reason: ' ', fix: null }), (e) => e.code === 'REASON_REQUIRED');
  });

test('a stale status version comes back CONFLICT with a clear reason; retry with the new version', async () => {
  const ctx = await asStaff('openid-inspector', inspector);
  const { queue } = ctx.app;
  const code = 'SZ-NS-A-1206';
  const qr = stickerUrl(code);
  const seen = await card(ctx, code);
  ctx.wx.__setNetwork(false);
  standAt(ctx, seen);
  const fix = await loc.getFix(ctx.wx);
  const { item } = await actions.submitReport(queue, { card: seen, qr, requestedStatus: 'RENOVATION', fix });
  // Meanwhile the manager changes the unit directly.
  const mgrToken = (await devLogin(server.baseUrl, manager.id)).token;
  await httpJson(server.baseUrl, 'POST', `/api/v1/units/${code}/status`, { status: 'OFF_MARKET', reason: '暂停出租' },
    mgrToken);
  ctx.wx.__setNetwork(true);
  const summary = await queue.sync('test');
  assert.equal(summary.results[item.client_id], 'CONFLICT', JSON.stringify([summary, queue.list()]));
  const [refused] = queue.list();
  assert.equal(refused.state, 'REFUSED');
  assert.equal(refused.reason.code, 'STALE_STATUS_VERSION');
  assert.equal(refused.reason.message, '房源状态已被他人更新,请重新扫码后再上报');

  const fresh = await card(ctx, code);
  assert.equal(fresh.unit.status, 'OFF_MARKET');
  const retried = queue.retry(item.client_id, { base_status_version: fresh.unit.status_version });
  const again = await queue.sync('retry');
  assert.equal(again.results[retried.client_id], 'PENDING_CONFIRMATION');
  assert.equal(queue.list().length, 0);
});

test('a manager decides offline: the rejection (with its reason) syncs and is a decision, not a refusal',
  async () => {
    const insp = await asStaff('openid-inspector', inspector);
    const code = 'SZ-NS-A-1204';
    const qr = stickerUrl(code);
    const seen = await card(insp, code);
    standAt(insp, seen);
    const { item, sync } = await actions.submitReport(insp.app.queue, { card: seen, qr, requestedStatus: 'OFF_MARKET',
      fix: await loc.getFix(insp.wx) });
    assert.equal(sync.results[item.client_id], 'PENDING_CONFIRMATION');
    const reportId = insp.app.queue.recent()[0].server.report.id;

    const mgr = await asStaff('openid-manager', manager);
    mgr.wx.__setNetwork(false);
    standAt(mgr, seen);
    const decided = await actions.submitDecision(mgr.app.queue, { report: { id: reportId }, qr, decision: 'reject',
      reason: '现场仍在出租中', fix: await loc.getFix(mgr.wx) });
    assert.equal(decided.sync.offline, true);
    mgr.wx.__setNetwork(true);
    const summary = await mgr.app.queue.sync('test');
    assert.equal(summary.results[decided.item.client_id], 'REJECTED');
    assert.equal(mgr.app.queue.list().length, 0, 'a decision to reject is acknowledged, not kept as refused');
    assert.equal(mgr.app.queue.describe(Object.assign({}, decided.item, { state: 'DONE', result: 'REJECTED' }))
      .state_label, '已驳回');
    const report = await mgr.app.api.get(`/api/v1/status-reports/${reportId}`);
    assert.equal(report.state, 'REJECTED');
    assert.equal((await mgr.app.api.get(`/api/v1/units/${code}`)).status, 'VACANT');
  });

test('the answer is lost (app killed after the server applied the batch): the restart replays, DUPLICATE',
  async () => {
    let ctx = await asStaff('openid-inspector', inspector);
    const code = 'SZ-NS-A-1204';
    const seen = await card(ctx, code);
    standAt(ctx, seen);
    ctx.wx.__hooks.afterResponse = (req) => (req.url.endsWith('/api/v1/sync') ? 'kill' : undefined);
    const photo = await capturePhoto(ctx.wx, writePhoto(photoDir));
    const pending = actions.submitReport(ctx.app.queue, { card: seen, qr: stickerUrl(code), requestedStatus: null,
      category: 'ROUTINE', fix: await loc.getFix(ctx.wx), photos: [photo] });
    pending.catch(() => {});
    await until(() => ctx.wx.__dead, 'the app is killed once the server has answered');
    const [inFlight] = ctx.app.queue.list();
    assert.equal(inFlight.state, 'SENDING', 'persisted as sent before the request');
    assert.equal(inFlight.photos[0].uploaded, true, 'the photo upload was persisted');
    assert.equal((await myReports(token(ctx))).filter((r) => r.client_id === inFlight.client_id).length, 1,
      'the server did apply it');

    ctx = restart(ctx);
    assert.equal(ctx.app.queue.list().length, 1, 'nothing lost across the kill');
    ctx.app.onShow({ scene: 1001, query: {} }); // App.onShow syncs the queue
    assert.equal(ctx.app.queue.syncing, true);
    const summary = await ctx.app.queue.sync('joining');
    assert.equal(summary.results[inFlight.client_id], 'DUPLICATE');
    assert.equal(ctx.app.queue.list().length, 0);
    const [done] = ctx.app.queue.recent();
    assert.equal(done.result, 'DUPLICATE');
    assert.equal(done.original, 'ACCEPTED');
    assert.equal(ctx.wx.__log.uploads.length, 0, 'the photo is not uploaded again');
    assert.equal((await myReports(token(ctx))).filter((r) => r.client_id === inFlight.client_id).length, 1);
  });

test('killed before the batch left the phone, or while a photo upload was answered: nothing lost', async () => {
  let ctx = await asStaff('openid-inspector', inspector);
  const code = 'SZ-NS-A-1204';
  const seen = await card(ctx, code);
  standAt(ctx, seen);
  ctx.wx.__hooks.beforeSend = (req) => (req.url.endsWith('/api/v1/sync') ? 'kill' : undefined);
  const first = actions.submitReport(ctx.app.queue, { card: seen, qr: stickerUrl(code), requestedStatus: null,
    fix: await loc.getFix(ctx.wx) });
  first.catch(() => {});
  await until(() => ctx.wx.__dead, 'killed before sending');
  const [item] = ctx.app.queue.list();
  ctx = restart(ctx);
  standAt(ctx, seen);
  let summary = await ctx.app.queue.sync('show');
  assert.equal(summary.results[item.client_id], 'ACCEPTED', 'it never reached the server, so it is new');

  ctx.wx.__hooks.afterResponse = (req) => (req.url.endsWith('/api/v1/photos') ? 'kill' : undefined);
  const photo = await capturePhoto(ctx.wx, writePhoto(photoDir));
  const second = actions.submitReport(ctx.app.queue, { card: seen, qr: stickerUrl(code), requestedStatus: null,
    fix: await loc.getFix(ctx.wx), photos: [photo] });
  second.catch(() => {});
  await until(() => ctx.wx.__dead, 'killed after the photo upload was answered');
  const [withPhoto] = ctx.app.queue.list();
  assert.equal(withPhoto.photos[0].uploaded, false, 'the upload answer was never seen');
  ctx = restart(ctx);
  assert.equal(fs.existsSync(withPhoto.photos[0].path), true, 'the saved photo file survived the kill');
  summary = await ctx.app.queue.sync('show');
  assert.equal(summary.results[withPhoto.client_id], 'ACCEPTED');
  assert.equal(ctx.wx.__log.uploads.length, 1, 'uploaded again (idempotent on the server)');
});

test('killed at every storage write of a sync: every item reaches the server exactly once', async () => {
  let ctx = await asStaff('openid-inspector', inspector);
  const code = 'SZ-NS-A-1204';
  const qr = stickerUrl(code);
  const seen = await card(ctx, code);
  const all = [];
  let killedRuns = 0;
  for (let writes = 0; writes <= 16; writes += 1) {
    ctx.wx.__setNetwork(false);
    standAt(ctx, seen);
    const fix = await loc.getFix(ctx.wx); // eslint-disable-line no-await-in-loop
    const photo = await capturePhoto(ctx.wx, writePhoto(photoDir)); // eslint-disable-line no-await-in-loop
    const ids = [];
    for (let k = 0; k < 3; k += 1) {
      // eslint-disable-next-line no-await-in-loop
      const { item } = await actions.submitReport(ctx.app.queue, { card: seen, qr, requestedStatus: null,
        category: 'ROUTINE', note: `第${writes}轮 #${k}`, fix, photos: k === 0 ? [photo] : [] });
      ids.push(item.client_id);
    }
    all.push(...ids);
    ctx.wx.__killAfterWrites(writes);
    ctx.wx.__setNetwork(true); // reconnect → sync, killed at the chosen write
    let settled = null;
    ctx.app.queue.sync('test').then((summary) => {
      settled = summary;
    }, () => {});
    const app = ctx.wx;
    // eslint-disable-next-line no-await-in-loop
    await until(() => app.__dead || settled, 'the sync ends or the app is killed');
    const outcome = settled;
    if (ctx.wx.__dead) {
      killedRuns += 1;
      const survivors = ctx.app.queue.list().map((i) => i.client_id);
      const acknowledged = new Set(ctx.app.queue.recent().map((d) => d.client_id));
      for (const id of ids) {
        assert.ok(survivors.includes(id) || acknowledged.has(id), `write ${writes}: item ${id} lost`);
      }
      ctx = restart(ctx);
      const summary = await ctx.app.queue.sync('show'); // eslint-disable-line no-await-in-loop
      assert.equal(summary.error, null);
      for (const id of ids) {
        if (summary.results[id]) assert.ok(['ACCEPTED', 'DUPLICATE'].includes(summary.results[id]));
      }
    } else {
      ctx.wx.__killAfterWrites(Infinity);
      assert.equal(outcome.error, null);
    }
    assert.equal(ctx.app.queue.list().length, 0, `write ${writes}: queue drained`);
  }
  assert.ok(killedRuns >= 10, `the app was killed in ${killedRuns} runs`);
  const counts = {};
  (await myReports(token(ctx))).forEach((r) => {
    counts[r.client_id] = (counts[r.client_id] || 0) + 1;
  });
  for (const id of all) assert.equal(counts[id], 1, `item ${id} on the server exactly once`);
});

test('killed between writing a captured item and the index: the item is adopted on restart', async () => {
  let ctx = await asStaff('openid-inspector', inspector);
  const code = 'SZ-NS-A-1204';
  const seen = await card(ctx, code);
  ctx.wx.__setNetwork(false);
  standAt(ctx, seen);
  const fix = await loc.getFix(ctx.wx);
  ctx.wx.__killAfterWrites(1); // the item key is written, the app dies before the index
  await assert.rejects(actions.submitReport(ctx.app.queue, { card: seen, qr: stickerUrl(code), fix }));
  assert.equal(ctx.wx.__dead, true);
  const orphan = [...ctx.store.map.keys()].find((k) => k.startsWith(ITEM_PREFIX));
  assert.ok(orphan, 'the item key was written');
  assert.equal(JSON.parse(ctx.store.map.get(INDEX_KEY) || '{"ids":[]}').ids.length, 0);
  ctx = restart(ctx);
  assert.equal(ctx.app.queue.list().length, 1, 'recovered');
  const summary = await ctx.app.queue.sync('show');
  assert.equal(summary.results[orphan.slice(ITEM_PREFIX.length)], 'ACCEPTED');
});

test('a photo that cannot be sent (file cleared by the system, corrupt image) refuses its item with the reason',
  async () => {
    const ctx = await asStaff('openid-inspector', inspector);
    const code = 'SZ-NS-A-1204';
    const seen = await card(ctx, code);
    standAt(ctx, seen);
    ctx.wx.__setNetwork(false);
    const fix = await loc.getFix(ctx.wx);
    const gone = await capturePhoto(ctx.wx, writePhoto(photoDir));
    const broken = path.join(photoDir, 'broken.png');
    fs.writeFileSync(broken, Buffer.from('89504e470d0a1a0a0000000d49484452deadbeef', 'hex'));
    const bad = await capturePhoto(ctx.wx, broken);
    const a = await actions.submitReport(ctx.app.queue, { card: seen, qr: stickerUrl(code), fix, photos: [gone] });
    const b = await actions.submitReport(ctx.app.queue, { card: seen, qr: stickerUrl(code), fix, photos: [bad] });
    const c = await actions.submitReport(ctx.app.queue, { card: seen, qr: stickerUrl(code), fix });
    fs.rmSync(gone.path);
    ctx.wx.__setNetwork(true);
    const summary = await ctx.app.queue.sync('test');
    assert.equal(summary.results[c.item.client_id], 'ACCEPTED', 'the others are not held back');
    const refused = Object.fromEntries(ctx.app.queue.list().map((i) => [i.client_id, i]));
    assert.equal(refused[a.item.client_id].reason.code, 'PHOTO_MISSING');
    assert.match(refused[a.item.client_id].reason.message, /照片文件已被系统清理/);
    assert.equal(refused[b.item.client_id].reason.code, 'CORRUPT_IMAGE');
    assert.equal(refused[b.item.client_id].reason.message, '照片文件损坏,请重新拍摄');
    const serverSide = (await myReports(token(ctx))).map((r) => r.client_id);
    assert.ok(!serverSide.includes(a.item.client_id) && !serverSide.includes(b.item.client_id));
    assert.equal(ctx.app.queue.discard(a.item.client_id), true);
    assert.equal(ctx.app.queue.discard(b.item.client_id), true);
    assert.equal(ctx.app.queue.list().length, 0);
  });

test('storage limits: a capture that would not fit is refused whole, with a clear message', async () => {
  const store = new PersistentStore();
  store.map.set('someone.else', JSON.stringify('x'.repeat(1000 * 1024)));
  for (let i = 0; i < 9; i += 1) store.map.set(`big.${i}`, JSON.stringify('y'.repeat(1000 * 1024)));
  const wx = createWx({ store });
  const queue = createQueue({ wx, api: null });
  queue.start();
  const fix = { lat: 22.5, lng: 113.9, accuracy_m: 10, coord_system: 'gcj02', captured_at: new Date().toISOString() };
  const keysBefore = [...store.map.keys()].sort();
  assert.throws(() => queue.add({ kind: 'status_report', body: { qr: 'x', no_change: true, location: fix } }),
    (e) => e instanceof ApiError && e.code === 'QUEUE_FULL' && /离线队列已满/.test(e.message));
  assert.deepEqual([...store.map.keys()].sort(), keysBefore, 'nothing half-stored');

  const roomy = createQueue({ wx: createWx(), api: null });
  assert.throws(() => roomy.add({ kind: 'status_report', body: { qr: 'x', note: '很长'.repeat(20000), location: fix } }),
    (e) => e.code === 'ITEM_TOO_LARGE' && /备注/.test(e.message));
  const ok = roomy.add({ kind: 'status_report', body: { qr: 'x', no_change: true, location: fix } });
  assert.equal(roomy.list()[0].client_id, ok.client_id);
  wx.__cleanup();
});
