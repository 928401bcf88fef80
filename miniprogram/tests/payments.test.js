/**
 * The statement and payment page: the statement view (table of states), selection, and paying through the
 * page with the wx stand-in — wx.requestPayment receives exactly the server's signed parameters, a cancelled
 * payment changes nothing, and the page shows the result. The api here is a scripted stand-in for the HTTP
 * answers (their shape is the server's, pinned by tests/test_payments_wechatpay.py on the Python side).
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { statementView, toggle, pay, daysBetween } = require('../utils/payments');
const { createWx } = require('./support/wx');
const { loadApp } = require('./support/runtime');

const STATEMENT = {
  lease_id: 7, contract_no: 'SZ-2026-007', as_of: '2026-11-12',
  totals: { overdue_fen: 450000, outstanding_fen: 452250, deposit_held_fen: 900000, credit_fen: 1500 },
  receivables: [
    { id: 1, charge: 'RENT', label: '2026-10 租金', state: 'PAID', due_date: '2026-10-01', amount_fen: 450000,
      outstanding_fen: 0, paid_at: '2026-09-30T02:00:00+00:00' },
    { id: 2, charge: 'RENT', label: '2026-11 租金', state: 'OVERDUE', due_date: '2026-11-01', amount_fen: 450000,
      outstanding_fen: 450000, paid_at: null },
    { id: 3, charge: 'LATE_FEE:2', label: '滞纳金', state: 'DUE', due_date: '2026-11-12', amount_fen: 2250,
      outstanding_fen: 2250, paid_at: null },
    { id: 4, charge: 'RENT', label: '旧计划', state: 'SUPERSEDED', due_date: '2026-11-01', amount_fen: 1,
      outstanding_fen: 0, paid_at: null },
    { id: 5, charge: 'DEPOSIT', label: '押金', state: 'WAIVED', due_date: '2026-01-01', amount_fen: 900000,
      outstanding_fen: 0, paid_at: null },
  ],
  payments: [{ id: 9, method: 'WECHAT_PAY', paid_at: '2026-09-30T02:00:00+00:00', amount_fen: 450000 }],
};

test('statement view: states, overdue days, paid date and method, totals, only open rows payable', () => {
  const view = statementView(STATEMENT, [2, 1, 5]);
  assert.deepEqual(view.rows.map((r) => [r.id, r.state_label, r.payable, r.selected]), [
    [1, '已缴', false, false], [2, '逾期', true, true], [3, '待缴', true, false], [5, '已减免', false, false],
  ]);
  const [paid, overdue, fee] = view.rows;
  assert.equal(paid.paid_on, '2026-09-30');
  assert.equal(paid.paid_method, '微信支付');
  assert.equal(overdue.overdue_days, 11);
  assert.ok(fee.late_fee);
  assert.deepEqual(view.selected_ids, [2]);
  assert.equal(view.selected_total, '¥4,500.00');
  assert.equal(view.deposit_held, '¥9,000.00');
  assert.equal(view.credit, '¥15.00');
  assert.equal(daysBetween('2026-10-31', '2026-11-01'), 1);
});

test('toggle: only payable receivables can be ticked', () => {
  const view = statementView(STATEMENT);
  assert.deepEqual(toggle([], 2, view), [2]);
  assert.deepEqual(toggle([2], 2, view), []);
  assert.deepEqual(toggle([], 1, view), []); // paid
  assert.deepEqual(toggle([], 99, view), []); // not on the statement
});

function scriptedApi(statuses) {
  const calls = [];
  const order = { id: 41, out_trade_no: 'RWabc-1', status: 'CREATED', amount_fen: 452250 };
  const params = { appId: 'wx1', timeStamp: '1793000000', nonceStr: 'n1', package: 'prepay_id=wx77',
    signType: 'RSA', paySign: 'c2lnbg==' };
  return {
    calls,
    params,
    async post(path, body) {
      calls.push(['POST', path, body]);
      return { order, payment: params };
    },
    async get(path) {
      calls.push(['GET', path]);
      if (path === '/api/v1/me/leases') return { items: [{ id: 7, contract_no: 'SZ-2026-007', status: 'ACTIVE' }] };
      if (path === '/api/v1/me/leases/7/statement') return STATEMENT;
      return { ...order, status: statuses.length ? statuses.shift() : 'PAID' };
    },
  };
}

test('pay: ids only to the server, the signed parameters to wx.requestPayment, then the order polled', async () => {
  const api = scriptedApi(['CREATED', 'PAID']);
  const seen = [];
  const wx = { requestPayment: (o) => { seen.push(o); o.success({ errMsg: 'requestPayment:ok' }); } };
  const result = await pay(api, wx, ['2', 3], { sleep: async () => {} });
  assert.deepEqual(api.calls[0], ['POST', '/api/v1/me/payments/orders', { receivable_ids: [2, 3] }]);
  assert.equal(Object.keys(api.calls[0][2]).length, 1, 'no amount ever leaves the client');
  const { success, fail, ...given } = seen[0];
  assert.deepEqual(given, { timeStamp: '1793000000', nonceStr: 'n1', package: 'prepay_id=wx77', signType: 'RSA',
    paySign: 'c2lnbg==' });
  assert.ok(result.paid);
  assert.equal(api.calls.filter((c) => c[0] === 'GET').length, 2);
});

test('pay: a cancelled payment resolves as cancelled and polls nothing', async () => {
  const api = scriptedApi([]);
  const wx = { requestPayment: (o) => o.fail({ errMsg: 'requestPayment:fail cancel' }) };
  const result = await pay(api, wx, [2]);
  assert.ok(result.cancelled);
  assert.equal(api.calls.length, 1);
});

test('statement page: a deep link pre-selects the receivable, a tap toggles, paying shows success', async () => {
  const wx = createWx();
  const paid = [];
  wx.requestPayment = (o) => { paid.push(o.package); o.success({}); };
  const { loadPage, app } = loadApp(wx);
  app.api = scriptedApi([]);
  const page = loadPage('pages/statement/statement', { lease_id: '7', receivable_id: '2' });
  await page.ready;
  assert.deepEqual(page.data.view.selected_ids, [2]);
  page.onToggle({ currentTarget: { dataset: { id: 3 } } });
  assert.deepEqual(page.data.view.selected_ids, [2, 3]);
  assert.equal(page.data.view.selected_total, '¥4,522.50');
  await page.onPay();
  assert.deepEqual(paid, ['prepay_id=wx77']);
  assert.equal(page.data.notice, '支付成功');
  assert.equal(page.data.error, '');
});
