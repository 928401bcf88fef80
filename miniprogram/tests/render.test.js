/**
 * Every page's WXML rendered with miniprogram-simulate (the official component test tool, under jsdom): the
 * page's own Page() definition (its data and handlers) becomes the rendered component, so setData, the WXML's
 * expressions, wx:if / wx:for and bound taps run for real. The statement page is driven: the tenant's rows,
 * overdue days and totals appear, a tap on a row ticks it and the pay button's total follows.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { JSDOM } = require('jsdom');
const { createWx } = require('./support/wx');
const { loadApp, ROOT } = require('./support/runtime');

const jsdom = new JSDOM('<!doctype html><html><body></body></html>');
global.window = jsdom.window;
global.document = jsdom.window.document;
['Event', 'CustomEvent', 'HTMLElement', 'Node', 'navigator', 'getComputedStyle'].forEach((k) => {
  global[k] = jsdom.window[k];
});
const simulate = require('miniprogram-simulate');

const PAGES = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8')).pages;

function pageDefinition(route) {
  let def = null;
  global.Page = (d) => {
    def = d;
  };
  delete require.cache[path.join(ROOT, `${route}.js`)];
  require(path.join(ROOT, `${route}.js`));
  return def;
}

/** Render a page's WXML with its Page() data and handlers (lifecycle hooks are not run: no network here). */
function render(route, data = {}) {
  const def = pageDefinition(route);
  const methods = {};
  Object.keys(def).forEach((k) => {
    if (typeof def[k] === 'function') methods[k] = def[k];
  });
  const id = simulate.load({
    template: fs.readFileSync(path.join(ROOT, `${route}.wxml`), 'utf8'),
    data: Object.assign(JSON.parse(JSON.stringify(def.data || {})), data),
    methods,
  });
  const comp = simulate.render(id);
  comp.attach(document.createElement('parent-wrapper'));
  return comp;
}

test('every page of app.json renders its WXML with its initial data', () => {
  loadApp(createWx()); // getApp() for the pages' module-level `const app = getApp()`
  for (const route of PAGES) {
    const comp = render(route);
    const html = comp.dom.innerHTML;
    assert.ok(html.startsWith('<wx-'), `${route} rendered nothing: ${html.slice(0, 80)}`);
    assert.doesNotMatch(comp.dom.textContent, /undefined|\[object Object\]|\{\{/, `${route} shows raw values`);
  }
});

const STATEMENT = {
  lease_id: 7, contract_no: 'SZ-2026-007', as_of: '2026-11-12',
  totals: { overdue_fen: 450000, outstanding_fen: 452250, deposit_held_fen: 900000, credit_fen: 0 },
  receivables: [
    { id: 1, charge: 'RENT', label: '10月租金', state: 'PAID', due_date: '2026-10-01', amount_fen: 450000,
      outstanding_fen: 0, paid_at: '2026-09-30T02:00:00+00:00' },
    { id: 2, charge: 'RENT', label: '11月租金', state: 'OVERDUE', due_date: '2026-11-01', amount_fen: 450000,
      outstanding_fen: 450000, paid_at: null, payment_code: 'RW00002C' },
    { id: 3, charge: 'LATE_FEE:2', label: '滞纳金', state: 'DUE', due_date: '2026-11-12', amount_fen: 2250,
      outstanding_fen: 2250, paid_at: null },
  ],
  payments: [{ id: 9, method: 'BANK_TRANSFER', paid_at: '2026-09-30T02:00:00+00:00', amount_fen: 450000 }],
};

test('statement page: the tenant\'s rows, overdue days and totals render; a tap ticks a row and the total follows',
  async () => {
    loadApp(createWx());
    const { statementView } = require('../utils/payments');
    const comp = render('pages/statement/statement', { view: statementView(STATEMENT, [2]) });
    comp.instance.statement = STATEMENT;
    comp.instance.selected = [2];
    const text = () => comp.dom.textContent;
    assert.match(text(), /合同 SZ-2026-007/);
    assert.match(text(), /押金 ¥9,000\.00/);
    assert.match(text(), /已逾期 11 天/);
    assert.match(text(), /2026-09-30 已缴\(银行转账\)/);
    assert.match(text(), /缴费码 RW00002C\(银行转账请填入附言\)/);
    assert.equal(comp.querySelectorAll('.row').length, 3);
    assert.match(text(), /微信支付 ¥4,500\.00/);
    const rows = comp.querySelectorAll('.row');
    rows[2].dispatchEvent('tap'); // the late fee
    await simulate.sleep(0); // events are delivered asynchronously
    assert.match(text(), /微信支付 ¥4,522\.50/);
    assert.deepEqual(comp.instance.data.view.selected_ids, [2, 3]);
    rows[0].dispatchEvent('tap'); // paid: not selectable
    await simulate.sleep(0);
    assert.deepEqual(comp.instance.data.view.selected_ids, [2, 3]);
    assert.equal(comp.querySelectorAll('.tick').length, 2, 'only open rows carry a tick box');
  });

/**
 * A loopback stand-in for the two tenant endpoints the 确认收款 page reads (answers shaped as the server's:
 * api/responses.py MeRefundWechatTransfer and the refund detail; the real server and its fake WeChat Pay are
 * in payments_server.test.js). The page's own utils/api.js talks to it over HTTP through the wx stand-in.
 */
function startRefundStandIn(refund, answer) {
  const state = { refund: Object.assign({}, refund), answer, requests: [] };
  const server = http.createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}`);
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === `/api/v1/me/deposit-refunds/${refund.id}`) return send(200, state.refund);
    if (req.url === `/api/v1/me/deposit-refunds/${refund.id}/wechat-transfer`) {
      if (state.answer) return send(200, state.answer);
      return send(404, { error: { code: 'NO_TRANSFER_WAITING', message: 'no transfer waits for your confirmation' } });
    }
    return send(404, { error: { code: 'NOT_FOUND', message: 'not found' } });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    state.base = `http://127.0.0.1:${server.address().port}`;
    state.close = () => new Promise((r) => server.close(() => r()));
    resolve(state);
  }));
}

function tenantWx(base) {
  const wx = createWx();
  wx.setStorageSync('rw.baseUrl', base);
  wx.setStorageSync('rw.auth', { token: 'render-test-token', method: 'dev', expires_at: Date.now() + 3600 * 1000 });
  return wx;
}

const REFUND = { id: 41, lease_id: 7, unit_code: 'SZ-NS-A-1101', unit_name: '南山A座1101', step: 'APPROVED',
  step_label: '已审批', deposit_fen: 900000, deductions_fen: 30000, refund_fen: 870000, debt_fen: 0 };
const WAITING = {
  transfer: { id: 3, method: 'TRANSFER', refund_id: 41, out_bill_no: 'RWTF41A1', status: 'WAIT_USER_CONFIRM',
    amount_fen: 870000, transfer_bill_no: '1330000071100999991182020050700019480001', recipient_id: 12,
    requested_at: '2026-12-03T02:00:00+00:00', succeeded_at: null, last_error: '' },
  confirm: { mchId: '1900000109', appId: 'wx-dev-appid', package: 'ABBQO+oYAAABAAAAAACE1WyucqAj4mjzA32oZxAAAADnGp==' },
};

test('transfer page: amount and status render; 确认收款 hands the server\'s parameters to wx.requestMerchantTransfer, '
  + 'then the refund shows paid', async () => {
  const standIn = await startRefundStandIn(REFUND, WAITING);
  try {
    const wx = tenantWx(standIn.base);
    const asked = [];
    wx.requestMerchantTransfer = (options) => {
      asked.push(options);
      // WeChat Pay's 商家转账结果通知 reaches the server while the tenant confirms: the refund is PAID
      Object.assign(standIn.refund, { step: 'PAID', step_label: '已打款' });
      standIn.answer = null;
      setImmediate(() => options.success({ errMsg: 'requestMerchantTransfer:ok' }));
    };
    loadApp(wx);
    const comp = render('pages/transfer/transfer');
    comp.instance.pollOptions = { waitMs: 0 };
    await comp.instance.onLoad({ id: '41' });
    const text = () => comp.dom.textContent;
    assert.equal(comp.instance.data.error, '');
    assert.equal(comp.instance.data.view.can_confirm, true);
    assert.match(text(), /SZ-NS-A-1101 南山A座1101/);
    assert.match(text(), /押金退还\s*¥8,700\.00/);
    assert.match(text(), /待您确认收款/);
    assert.match(text(), /转账单号 RWTF41A1/);
    const button = comp.querySelector('.confirm');
    assert.match(button.dom.textContent, /确认收款 ¥8,700\.00/);
    button.dispatchEvent('tap');
    await simulate.sleep(50);
    while (comp.instance.data.busy) await simulate.sleep(10); // eslint-disable-line no-await-in-loop
    assert.equal(asked.length, 1);
    const { success, fail, ...params } = asked[0];
    assert.deepEqual(params, WAITING.confirm, 'exactly the server\'s mchId, appId and package');
    assert.equal(typeof success, 'function');
    assert.equal(typeof fail, 'function');
    assert.equal(comp.instance.data.error, '');
    assert.equal(comp.instance.data.view.arrived, true);
    assert.equal(comp.instance.data.view.can_confirm, false);
    assert.match(text(), /已到账,请在微信零钱中查看/);
    assert.match(text(), /转账状态\s*已到账/);
    assert.doesNotMatch(text(), /确认收款 ¥/, 'nothing left to confirm');
    assert.ok(standIn.requests.includes('GET /api/v1/me/deposit-refunds/41/wechat-transfer'));
  } finally {
    await standIn.close();
  }
});

test('transfer page: the tenant cancels in WeChat — a notice, the transfer still waits; an old WeChat gets a clear '
  + 'error; no transfer waiting shows no button', async () => {
  const standIn = await startRefundStandIn(REFUND, WAITING);
  try {
    const wx = tenantWx(standIn.base);
    const asked = [];
    wx.requestMerchantTransfer = (options) => {
      asked.push(options);
      setImmediate(() => options.fail({ errMsg: 'requestMerchantTransfer:fail cancel' }));
    };
    loadApp(wx);
    const comp = render('pages/transfer/transfer');
    await comp.instance.onLoad({ id: '41' });
    await comp.instance.onConfirm();
    assert.equal(asked.length, 1);
    assert.equal(comp.instance.data.error, '');
    assert.equal(comp.instance.data.notice, '已取消收款,可稍后在此页面再次确认');
    assert.equal(comp.instance.data.view.can_confirm, true, 'still waiting: it can be confirmed later');
    assert.match(comp.dom.textContent, /已取消收款/);
    assert.match(comp.dom.textContent, /确认收款 ¥8,700\.00/);

    delete wx.requestMerchantTransfer; // base library < 3.3.0
    await comp.instance.onConfirm();
    assert.equal(comp.instance.data.error, '当前微信版本过低,请升级微信后再确认收款');
    assert.match(comp.dom.textContent, /当前微信版本过低/);

    standIn.answer = null; // e.g. finance cancelled the transfer
    await comp.instance.load();
    assert.equal(comp.instance.data.error, '');
    assert.equal(comp.instance.data.view.can_confirm, false);
    assert.match(comp.dom.textContent, /暂无待确认的转账/);
    assert.equal(comp.querySelector('.confirm'), undefined);
    assert.ok(comp.querySelector('.to-refund'), 'only 查看退款进度');

    const bad = render('pages/transfer/transfer');
    bad.instance.onLoad({});
    assert.equal(bad.instance.data.error, '转账链接无效');
  } finally {
    await standIn.close();
  }
});

test('refund page: an approved refund with a transfer waiting leads to the 确认收款 page', async () => {
  const standIn = await startRefundStandIn(REFUND, WAITING);
  try {
    const wx = tenantWx(standIn.base);
    const { navigations } = loadApp(wx);
    const comp = render('pages/refund/refund');
    const { viewOf } = require('../utils/refunds');
    const view = viewOf(REFUND);
    comp.instance.setData({ view, transfer: await comp.instance.waitingTransfer(view) });
    assert.match(comp.dom.textContent, /退款 ¥8,700\.00 待您确认收款/);
    const go = comp.querySelector('.to-transfer');
    go.dispatchEvent('tap');
    await simulate.sleep(0);
    assert.deepEqual(navigations, [{ kind: 'navigateTo', url: '/pages/transfer/transfer?id=41' }]);
    standIn.answer = null;
    assert.equal(await comp.instance.waitingTransfer(view), null);
    assert.equal(await comp.instance.waitingTransfer(Object.assign({}, view, { step: 'PAID' })), null);
    await standIn.close();
    assert.equal(await comp.instance.waitingTransfer(view), null, 'server unreachable: the refund shows as usual');
  } finally {
    await standIn.close().catch(() => {});
  }
});
