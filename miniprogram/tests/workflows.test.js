/**
 * The pages, driven as a user would (Page() definitions loaded with a wx stand-in, talking to the REAL server):
 * a sticker link opens the unit card → the three-button report → a manager's on-site confirmation → my work
 * orders (start, complete with scan + photo) → a tenant's move-out, refund timeline, deductions with photos,
 * the progress QR, and the refund's documents (a quote uploaded by finance, downloaded and opened).
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, stickerUrl, httpJson, devLogin, signJwt } = require('./support/server');
const { bootApp, loginStaff, until, standAt } = require('./support/session');
const { writePhoto, png } = require('./support/png');
const actions = require('../utils/actions');
const loc = require('../utils/location');
const { capturePhoto } = require('../utils/upload');
const refunds = require('../utils/refunds');
const { AUTH_KEY } = require('../utils/api');

let server;
let inspector;
let manager;
const photoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-camera-'));

test.before(async () => {
  // A limit other than the default: the mini program must use the server's number, not one of its own.
  server = await startServer({ extraEnv: { RW_INSPECTION_MAX_ACCURACY_M: '60' } });
  inspector = server.users.INSPECTOR.find((u) => u.name === '深圳巡检员');
  manager = server.users.MANAGER.find((u) => u.name === '深圳区域经理');
});

test.after(async () => {
  if (server) await server.stop();
  fs.rmSync(photoDir, { recursive: true, force: true });
});



/** A small but real PDF (one page, "Quote"), as finance would scan it. */
function quotePdf(label) {
  const text = `BT /F1 18 Tf 72 720 Td (${label}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = objects.map((body, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  offsets.forEach((o) => {
    out += `${String(o).padStart(10, '0')} 00000 n \n`;
  });
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** Finance uploads a document to a refund through the API (multipart, as the admin web does). */
async function uploadDocument(refundId, token, { bytes, filename, kind = 'QUOTE', type = 'application/pdf' }) {
  const form = new FormData();
  form.append('kind', kind);
  form.append('file', new Blob([bytes], { type }), filename);
  const res = await fetch(`${server.baseUrl}/api/v1/refunds/${refundId}/documents`, { method: 'POST',
    headers: { authorization: `Bearer ${token}` }, body: form });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

/** The path of a file named `name` under dir (the server's stored document), or null. */
function findFile(dir, name) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      const found = findFile(full, name);
      if (found) return found;
    } else if (e.name === name) return full;
  }
  return null;
}

/** A finance user whose buildings include this refund, with a token. */
async function financeFor(refundId) {
  for (const u of server.users.FINANCE) {
    // eslint-disable-next-line no-await-in-loop
    const { token } = await devLogin(server.baseUrl, u.id);
    // eslint-disable-next-line no-await-in-loop
    const reached = await httpJson(server.baseUrl, 'GET', `/api/v1/refunds/${refundId}`, null, token)
      .then(() => true, () => false);
    if (reached) return { user: u, token };
  }
  return null;
}

async function staffApp(openid, user, launch) {
  const ctx = bootApp(server, { openid, launch });
  await loginStaff(ctx, user);
  return ctx;
}

test('sticker link → unit card → report with the three actions → manager confirms on site', async () => {
  const code = 'SZ-NS-A-1106';
  const url = stickerUrl(code);
  // WeChat's own scanner opened the mini program: the link arrives URL-encoded in `q`.
  const ctx = await staffApp('openid-wf-inspector', inspector, { path: 'pages/scan/scan', scene: 1011,
    query: { q: encodeURIComponent(url), scancode_time: String(Math.floor(Date.now() / 1000)) } });
  assert.equal(ctx.app.globalData.pendingSticker.unitCode, code);
  const scan = ctx.loadPage('pages/scan/scan', { q: encodeURIComponent(url) });
  await scan.ready;
  assert.equal(ctx.app.globalData.pendingSticker, null, 'the launch sticker is used once');
  await until(() => scan.data.view && !scan.data.busy, 'unit card');
  assert.equal(scan.data.view.code, code);
  assert.equal(scan.data.view.status, '空置');
  assert.ok(scan.data.view.canReport);
  assert.equal(scan.data.view.canConfirm, false, 'an inspector does not confirm');
  // No location yet → the pre-check explains; then on site.
  await until(() => scan.data.geo, 'location check');
  assert.match(scan.data.geo.warnings[0], /位置权限/);
  standAt(ctx, ctx.app.globalData.card.card);
  await scan.checkLocation();
  assert.deepEqual(scan.data.geo.warnings, []);
  assert.ok(scan.data.geo.distance < 5);

  const report = ctx.loadPage('pages/report/report');
  const statuses = report.data.statuses.map((s) => s.value);
  assert.equal(statuses[0], '', 'first choice is 无变化');
  report.chooseStatus({ detail: { value: statuses.indexOf('UNDER_REPAIR') } });
  report.chooseCategory({ detail: { value: report.data.categories.findIndex((c) => c.value === 'DAMAGE') } });
  report.onNote({ detail: { value: '水管漏水,需维修' } });
  ctx.wx.__queueMedia([writePhoto(photoDir)]);
  await report.takePhoto();
  assert.equal(report.data.photos.length, 1);
  await report.submit();
  assert.equal(report.data.error, '');
  assert.equal(report.data.message, '待经理现场确认');
  assert.equal(report.data.photos.length, 0, 'the form is cleared');

  // A report from the car park 400 m away: warned locally, sent anyway (user confirmed), refused by the server.
  standAt(ctx, ctx.app.globalData.card.card, 400);
  report.chooseStatus({ detail: { value: 0 } });
  await report.submit();
  assert.match(report.data.warnings[0], /您不在房源现场:距离\d+米/);
  assert.match(report.data.error, /^被拒绝:您不在房源现场:距离[\d.]+米,允许范围150(\.0)?米$/);

  // The manager scans the same sticker on site and confirms from the confirmations page.
  const mgr = await staffApp('openid-wf-manager', manager);
  const page = mgr.loadPage('pages/confirmations/confirmations');
  await page.ready;
  await until(() => !page.data.busy, 'list');
  const waiting = page.data.reports.find((r) => r.change === '空置 → 维修中');
  assert.ok(waiting, JSON.stringify(page.data.reports));
  assert.equal(waiting.photos, 1);
  assert.equal(waiting.thumbs.length, 1);
  assert.match(waiting.thumbs[0], /^data:image\/jpeg;base64,\/9j\//, 'the evidence thumbnail, a JPEG');
  mgr.wx.__setScanResult({ result: url });
  standAt(mgr, ctx.app.globalData.card.card);
  await page.decide({ currentTarget: { dataset: { id: waiting.id, decision: 'confirm' } } });
  assert.equal(page.data.error, '');
  assert.equal(page.data.message, '已提交');
  assert.ok(!page.data.reports.some((r) => r.id === waiting.id), 'no longer waiting');
  const unit = await mgr.app.api.get(`/api/v1/units/${code}`);
  assert.equal(unit.status, 'UNDER_REPAIR');
  assert.equal(unit.status_history[0].source, 'inspection');
});

test('my work orders: start, then complete on site with the sticker and a photo', async () => {
  const ctx = await staffApp('openid-wf-inspector', inspector);
  const { api } = ctx.app;
  const page = ctx.loadPage('pages/workorders/workorders');
  await page.ready;
  assert.ok(page.data.orders.length >= 1, `lease signing opened cleaning orders: ${page.data.error}`);
  const order = page.data.orders.find((o) => o.type === '保洁' && o.title.includes('SZ-NS-A-'));
  assert.ok(order);
  await page.start({ currentTarget: { dataset: { id: order.id } } });
  assert.equal(page.data.error, '');
  const started = page.data.orders.find((o) => o.id === order.id);
  assert.equal(started.raw, 'IN_PROGRESS');

  // Which unit is it on? (the list carries no unit code; a manager would see it on the unit card)
  const units = await api.get('/api/v1/units', { query: { building: 'SZ-NS-A', page_size: 100 } });
  let unitCode = null;
  for (const u of units.items) {
    // eslint-disable-next-line no-await-in-loop
    const on = await api.get('/api/v1/work-orders', { query: { unit_code: u.code } });
    if (on.items.some((o) => o.id === order.id)) unitCode = u.code;
  }
  assert.ok(unitCode);
  const wrong = units.items.find((u) => u.code !== unitCode).code;

  const card = await actions.fetchCard(api, stickerUrl(unitCode));
  standAt(ctx, card);
  ctx.wx.__setScanResult({ result: stickerUrl(wrong) });
  ctx.wx.__queueMedia([writePhoto(photoDir)]);
  await page.complete({ currentTarget: { dataset: { id: order.id } } });
  assert.equal(page.data.error, '扫描的房源与工单不一致,请扫描工单所在房源的标签');

  ctx.wx.__setScanResult({ result: stickerUrl(unitCode) });
  ctx.wx.__queueMedia([writePhoto(photoDir)]);
  await page.complete({ currentTarget: { dataset: { id: order.id } } });
  assert.equal(page.data.error, '');
  assert.ok(!page.data.orders.some((o) => o.id === order.id), 'done orders leave the list');
  const detail = await api.get(`/api/v1/work-orders/${order.id}`);
  assert.equal(detail.status, 'DONE');
  const note = detail.history[detail.history.length - 1].note;
  const clientId = note.match(/巡检记录 ([0-9a-f-]{36})/)[1];
  const mine = await api.get('/api/v1/status-reports', { query: { mine: 'true', unit_code: unitCode } });
  const evidence = mine.items.find((r) => r.client_id === clientId);
  assert.equal(evidence.category, 'CLEANING_CHECK');
  assert.equal(evidence.photo_ids.length, 1);
  assert.equal(evidence.state, 'ACCEPTED');
});

test('tenant: apply to move out, follow the refund, see deductions with photos, get the progress QR',
  async (t) => {
    // A demo tenant of the Shenzhen building, whose unit has been handed over (OCCUPIED).
    let tenantUser = null;
    let lease = null;
    for (const u of server.users.TENANT) {
      // eslint-disable-next-line no-await-in-loop
      const { token } = await devLogin(server.baseUrl, u.id);
      // eslint-disable-next-line no-await-in-loop
      const mine = await httpJson(server.baseUrl, 'GET', '/api/v1/me/leases', null, token);
      lease = mine.items.find((l) => l.unit_code.startsWith('SZ-NS-A-') && ['SIGNED', 'ACTIVE'].includes(l.status));
      // eslint-disable-next-line no-await-in-loop
      const open = lease && await httpJson(server.baseUrl, 'GET', '/api/v1/me/deposit-refunds', null, token)
        .catch(() => ({ items: [] }));
      if (lease && !open.items.some((r) => r.lease_id === lease.id)) {
        tenantUser = u;
        break;
      }
    }
    assert.ok(tenantUser, 'a demo tenant in SZ-NS-A');
    const mgrToken = (await devLogin(server.baseUrl, manager.id)).token;
    const unitNow = await httpJson(server.baseUrl, 'GET', `/api/v1/units/${lease.unit_code}`, null, mgrToken);
    if (unitNow.status === 'PENDING_DELIVERY') {
      await httpJson(server.baseUrl, 'POST', `/api/v1/units/${lease.unit_code}/status`,
        { status: 'OCCUPIED', reason: '已交付入住' }, mgrToken);
    }
    const tenant = bootApp(server, { openid: 'openid-wf-tenant' });
    await tenant.app.api.devLogin(tenantUser.id);
    const probe = await tenant.app.api.get('/api/v1/me/deposit-refunds').catch((e) => e);
    if (probe && probe.code === 'ROUTE_NOT_FOUND') {
      t.skip('the deposit-refund endpoints are not registered on this server yet');
      return;
    }

    const form = tenant.loadPage('pages/moveout/moveout');
    await form.ready;
    assert.ok(form.data.leases.length >= 1);
    form.chooseLease({ detail: { value: form.data.leases.findIndex((l) => l.id === lease.id) } });
    form.onField({ currentTarget: { dataset: { field: 'payeeName' } }, detail: { value: '演示租户1' } });
    form.onField({ currentTarget: { dataset: { field: 'payeeBank' } }, detail: { value: '招商银行深圳分行' } });
    form.onField({ currentTarget: { dataset: { field: 'payeeAccount' } }, detail: { value: '6225 8801 2345 6789' } });
    form.onField({ currentTarget: { dataset: { field: 'reason' } }, detail: { value: '工作调动' } });
    const moved = [];
    tenant.wx.redirectTo = ({ url }) => moved.push(url);
    await form.submit();
    assert.equal(form.data.error, '');
    const refundId = Number(moved[0].match(/id=(\d+)/)[1]);

    // Applying twice is refused with a clear message.
    await form.submit();
    assert.equal(form.data.error, '该租约已有进行中的退租申请,请查看退款进度');

    const page = tenant.loadPage('pages/refund/refund', { id: String(refundId) });
    await page.ready;
    assert.equal(page.data.error, '');
    const view = page.data.view;
    assert.equal(view.step, 'APPLIED');
    assert.deepEqual(view.nodes.map((n) => n.state), ['current', 'todo', 'todo', 'todo', 'todo', 'todo']);
    assert.ok(view.nodes[0].at);
    assert.match(view.expected, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(view.deposit, '¥7,000.00');
    assert.equal(view.can_withdraw, true);
    assert.match(view.payee_account, /^\*+6789$/);

    // The inspector does the on-site refund inspection in the mini program and records a deduction.
    const insp = await staffApp('openid-wf-inspector', inspector);
    const staffRefund = await insp.app.api.get(`/api/v1/refunds/${refundId}`);
    const qr = stickerUrl(staffRefund.unit_code);
    const card = await actions.fetchCard(insp.app.api, qr);
    assert.equal(card.unit.status, 'MOVE_OUT_PENDING');
    standAt(insp, card);
    const photo = await capturePhoto(insp.wx, writePhoto(photoDir));
    const inspected = await actions.inspectRefund({ api: insp.app.api, queue: insp.app.queue, refund: staffRefund,
      sticker: { qr, unitCode: staffRefund.unit_code }, card, fix: await loc.getFix(insp.wx), photos: [photo],
      note: '墙面有污渍' });
    assert.equal(inspected.step, 'INSPECTED');
    await insp.app.api.post(`/api/v1/refunds/${refundId}/deductions`, { category: 'CLEANING', amount_fen: 30000,
      description: '墙面清洁', photo_ids: [photo.id] });

    await page.load(refundId);
    const after = page.data.view;
    assert.equal(after.can_withdraw, false);
    page.onWithdrawReason({ detail: { value: '不想搬了' } });
    await page.withdraw();
    assert.equal(page.data.error, '已完成现场查验,无法自行撤回,请联系楼宇经理');
    assert.equal(after.step, 'INSPECTED');
    assert.deepEqual(after.nodes.map((n) => n.state).slice(0, 3), ['done', 'current', 'todo']);
    assert.equal(after.deductions.length, 1);
    assert.equal(after.deductions[0].category, '保洁费');
    assert.equal(after.deductions[0].amount, '¥300.00');
    assert.match(after.deductions[0].photos[0], /^data:image\/jpeg;base64,/);

    await page.showQr();
    assert.equal(page.data.error, '');
    assert.match(page.data.qr.src, /^data:image\/png;base64,iVBORw0KGgo/);
    const token = page.data.qr.url.split('/rp/')[1];
    assert.ok(token);
    const pub = await httpJson(server.baseUrl, 'GET', `/api/v1/refund-progress/${token}`);
    assert.equal(pub.step, 'INSPECTED');
    assert.equal(JSON.stringify(pub).includes('30000'), false, 'no amounts without login');

    // Scanned with WeChat's own scanner by anyone (not logged in): the public progress page, no amounts.
    const stranger = bootApp(server, { openid: 'openid-wf-stranger', launch: { path: 'pages/progress/progress',
      scene: 1011, query: { q: encodeURIComponent(page.data.qr.url) } } });
    assert.equal(stranger.app.globalData.pendingProgress.token, token);
    const progress = stranger.loadPage('pages/progress/progress', { q: encodeURIComponent(page.data.qr.url) });
    await progress.ready;
    assert.equal(stranger.app.globalData.pendingProgress, null);
    assert.equal(progress.data.error, '');
    assert.deepEqual(progress.data.view.nodes.map((n) => n.state).slice(0, 3), ['done', 'current', 'todo']);
    assert.ok(progress.data.view.nodes[0].at);
    assert.equal(stranger.app.api.isLoggedIn(), false);
    const forged = stranger.loadPage('pages/progress/progress', { token: `${token.slice(0, -2)}AA` });
    await forged.ready;
    assert.equal(forged.data.error, '进度链接无效');

    // Finance uploads the repair quote (a real PDF) and deducts against it; another demo tenant's refund gets a
    // quote too.
    const allRefunds = await httpJson(server.baseUrl, 'GET', '/api/v1/refunds?page_size=100', null,
      server.users.adminToken);
    const foreign = allRefunds.items.find((r) => r.id !== refundId && r.tenant_id !== staffRefund.tenant_id);
    assert.ok(foreign, 'a demo refund of another tenant');
    const finance = await financeFor(refundId);
    assert.ok(finance, 'a finance user of the Shenzhen building');
    const foreignFinance = await financeFor(foreign.id);
    assert.ok(foreignFinance, 'a finance user of the other refund\'s building');
    const pdf = quotePdf('Quote: wall repaint 450.00');
    const quote = await uploadDocument(refundId, finance.token, { bytes: pdf, filename: '墙面修补报价.pdf' });
    await httpJson(server.baseUrl, 'POST', `/api/v1/refunds/${refundId}/deductions`, { category: 'DAMAGE',
      amount_fen: 45000, description: '墙面修补', document_id: quote.id }, finance.token);
    const foreignQuote = await uploadDocument(foreign.id, foreignFinance.token, { bytes: quotePdf('Someone else'),
      filename: 'other.pdf' });

    await page.load(refundId);
    assert.equal(page.data.error, '');
    const docs = page.data.view.documents;
    assert.deepEqual(docs.map((d) => [d.id, d.kind_label, d.filename]), [[quote.id, '维修报价', '墙面修补报价.pdf']]);
    assert.match(docs[0].size, /^\d+(\.\d)? (B|KB)$/);
    const quoted = page.data.view.deductions.find((d) => d.description === '墙面修补');
    assert.equal(quoted.quote_document_id, quote.id);
    assert.equal(quoted.has_quote, true);
    assert.equal(page.data.view.deductions.find((d) => d.description === '墙面清洁').quote_document_id, null);

    // 查看报价单 on the deduction: downloaded with the token (an expired one is renewed once), opened as a PDF.
    const session = tenant.app.api.session();
    const claims = JSON.parse(Buffer.from(session.token.split('.')[1], 'base64url').toString());
    const nowS = Math.floor(Date.now() / 1000);
    tenant.wx.setStorageSync(AUTH_KEY, { ...session, token: signJwt({ ...claims, iat: nowS - 7200, exp: nowS - 60 }),
      expires_at: Date.now() + 3600 * 1000 });
    const downloadsBefore = tenant.wx.__log.downloads.length;
    await page.openDocument({ currentTarget: { dataset: { id: quoted.quote_document_id } } });
    assert.equal(page.data.error, '');
    assert.equal(page.data.busy, false);
    assert.equal(tenant.wx.__log.downloads.length, downloadsBefore + 2, 'refused as expired, then retried');
    const opened = tenant.wx.__log.documents[tenant.wx.__log.documents.length - 1];
    assert.equal(opened.fileType, 'pdf');
    assert.equal(opened.showMenu, true);
    assert.ok(fs.readFileSync(opened.filePath).equals(pdf), 'the bytes finance uploaded');
    const lastDownload = tenant.wx.__log.downloads[tenant.wx.__log.downloads.length - 1];
    assert.match(lastDownload.header.Authorization, /^Bearer /);

    // From the 单据 list, the same document; an image document goes to the image previewer.
    await page.openDocument({ currentTarget: { dataset: { id: docs[0].id } } });
    assert.equal(page.data.error, '');
    assert.equal(tenant.wx.__log.documents.length, 2);
    const image = png(40, 30, 99);
    const photoQuote = await uploadDocument(refundId, finance.token, { bytes: image, filename: 'quote-photo.png',
      type: 'image/png' });
    await page.load(refundId);
    await page.openDocument({ currentTarget: { dataset: { id: photoQuote.id } } });
    assert.equal(page.data.error, '');
    const preview = tenant.wx.__log.previews[tenant.wx.__log.previews.length - 1];
    assert.ok(fs.readFileSync(preview.urls[0]).equals(image));
    assert.equal(tenant.wx.__log.documents.length, 2, 'an image is not sent to openDocument');

    // Another tenant's document (its id under my refund) is refused in Chinese, nothing is opened.
    await page.openDocument({ currentTarget: { dataset: { id: foreignQuote.id } } });
    assert.equal(page.data.error, '引用的单据不存在');
    assert.equal(tenant.wx.__log.documents.length, 2);
    await assert.rejects(refunds.openDocument(tenant.app.api, foreign.id, foreignQuote.id),
      (e) => e.code === 'NOT_FOUND' && e.status === 404);

    // A document whose file vanished from the server's storage: 410, said in Chinese — also when this WeChat
    // cannot read the error body back from the temp file (mapped from the status code).
    const stored = findFile(server.varDir, photoQuote.sha256);
    assert.ok(stored, 'the stored document file');
    fs.rmSync(stored);
    await page.openDocument({ currentTarget: { dataset: { id: photoQuote.id } } });
    assert.equal(page.data.error, '服务器上的单据文件丢失,请联系楼宇经理或财务');
    const realFs = tenant.wx.getFileSystemManager;
    tenant.wx.getFileSystemManager = () => ({});
    await page.openDocument({ currentTarget: { dataset: { id: photoQuote.id } } });
    assert.equal(page.data.error, '文件已不存在,请联系管理员');
    await page.openDocument({ currentTarget: { dataset: { id: foreignQuote.id } } });
    assert.equal(page.data.error, '文件不存在或您无权查看');
    tenant.wx.getFileSystemManager = realFs;
    assert.equal(tenant.wx.__log.previews.length, 1);

    // Offline: a clear network message.
    tenant.wx.__setNetwork(false);
    await page.openDocument({ currentTarget: { dataset: { id: quote.id } } });
    assert.equal(page.data.error, '网络不可用,无法打开单据,请联网后重试');
    await assert.rejects(tenant.app.api.download(`/api/v1/me/deposit-refunds/${refundId}/documents/${quote.id}`),
      (e) => e.code === 'NETWORK_ERROR' && e.isNetwork);
    tenant.wx.__setNetwork(true);
    assert.equal(tenant.wx.__log.documents.length, 2);

    // Another tenant cannot read it, by id.
    const other = bootApp(server, { openid: 'openid-wf-tenant2' });
    await other.app.api.devLogin(server.users.TENANT[1].id);
    await assert.rejects(other.app.api.get(`/api/v1/me/deposit-refunds/${refundId}`),
      (e) => e.code === 'NOT_FOUND' && e.status === 404);
    await assert.rejects(refunds.openDocument(other.app.api, refundId, quote.id),
      (e) => e.code === 'NOT_FOUND' && e.status === 404);
    assert.equal(other.wx.__log.documents.length, 0);
    const board = await httpJson(server.baseUrl, 'GET', '/api/v1/refunds/board', null, mgrToken);
    assert.ok(board);
  });

test('move-out cleaning completed on site from the phone moves the unit on (MOVE_OUT_PENDING → VACANT)',
  async () => {
    // A demo tenant of SZ-NS-A, keys handed over (ACTIVE) and no refund yet, applies to move out (the online
    // form's endpoint).
    const mgrToken = (await devLogin(server.baseUrl, manager.id)).token;
    let found = null;
    const asTenant = (token, p) => httpJson(server.baseUrl, 'GET', p, null, token);
    for (const u of server.users.TENANT) {
      // eslint-disable-next-line no-await-in-loop
      const { token } = await devLogin(server.baseUrl, u.id);
      // eslint-disable-next-line no-await-in-loop
      const [mine, open] = await Promise.all([asTenant(token, '/api/v1/me/leases'),
        asTenant(token, '/api/v1/me/deposit-refunds')]);
      const lease = mine.items.find((l) => l.unit_code.startsWith('SZ-NS-A-') && l.status === 'ACTIVE'
        && !open.items.some((r) => r.lease_id === l.id));
      if (lease) {
        found = { token, lease };
        break;
      }
    }
    assert.ok(found, 'a demo tenant in SZ-NS-A with an ACTIVE lease and no refund');
    const code = found.lease.unit_code;
    assert.equal((await httpJson(server.baseUrl, 'GET', `/api/v1/units/${code}`, null, mgrToken)).status, 'OCCUPIED');
    await httpJson(server.baseUrl, 'POST', '/api/v1/me/deposit-refunds', { lease_id: found.lease.id,
      payee_name: '演示租户', payee_bank: '招商银行深圳分行', payee_account: '6225880112345678' }, found.token);
    assert.equal((await httpJson(server.baseUrl, 'GET', `/api/v1/units/${code}`, null, mgrToken)).status,
      'MOVE_OUT_PENDING');
    // The manager opens the move-out cleaning and gives it to the inspector.
    const created = await httpJson(server.baseUrl, 'POST', '/api/v1/work-orders', { type: 'CLEANING', unit_code: code,
      title: `${code} 退租保洁`, client_ref: `moveout-clean-${code}` }, mgrToken);
    await httpJson(server.baseUrl, 'POST', `/api/v1/work-orders/${created.id}/transition`,
      { status: 'ASSIGNED', assignee_id: inspector.id, note: '指派保洁' }, mgrToken);

    const ctx = await staffApp('openid-wf-inspector', inspector);
    const page = ctx.loadPage('pages/workorders/workorders');
    await page.ready;
    assert.ok(page.data.orders.some((o) => o.id === created.id), page.data.error);
    const card = await actions.fetchCard(ctx.app.api, stickerUrl(code));
    assert.deepEqual(card.on_site_limits, { max_accuracy_m: 60, max_speed_kmh: 150 }, 'the server\'s limits');

    // A fix of 80 m: the pre-check warns with the server's limit, and the server refuses with the same number.
    standAt(ctx, card);
    const centre = loc.wgs84ToGcj02(card.geofence.centre.lat, card.geofence.centre.lng);
    ctx.wx.__setLocation({ latitude: centre.lat, longitude: centre.lng, accuracy: 80 });
    const { check } = await actions.locate(ctx.wx, card);
    assert.deepEqual(check.warnings.map((w) => w.message), ['定位精度不足(80米,要求60米以内),请到窗边或室外重试']);
    ctx.wx.__setScanResult({ result: stickerUrl(code) });
    ctx.wx.__queueMedia([writePhoto(photoDir)]);
    await page.complete({ currentTarget: { dataset: { id: created.id } } });
    assert.equal(page.data.error, '定位精度不足(80米,要求60米以内),请到窗边或室外重试');
    assert.equal((await httpJson(server.baseUrl, 'GET', `/api/v1/units/${code}`, null, mgrToken)).status,
      'MOVE_OUT_PENDING');

    // On site with a good fix: the completion endpoint closes the order and the unit moves on.
    standAt(ctx, card);
    ctx.wx.__queueMedia([writePhoto(photoDir)]);
    await page.complete({ currentTarget: { dataset: { id: created.id } } });
    assert.equal(page.data.error, '');
    assert.ok(!page.data.orders.some((o) => o.id === created.id), 'the done order leaves the list');
    const detail = await httpJson(server.baseUrl, 'GET', `/api/v1/work-orders/${created.id}`, null, mgrToken);
    assert.equal(detail.status, 'DONE');
    const lastNote = detail.history[detail.history.length - 1].note;
    assert.match(lastNote, /^confirmed on site by sticker scan .*巡检记录 [0-9a-f-]{36}/);
    const unit = await httpJson(server.baseUrl, 'GET', `/api/v1/units/${code}`, null, mgrToken);
    assert.equal(unit.status, 'VACANT');
    const change = unit.status_history[0];
    assert.deepEqual([change.from, change.to, change.source, change.actor_id],
      ['MOVE_OUT_PENDING', 'VACANT', 'inspection', inspector.id], 'recorded as the inspector on site');
  });
