/**
 * The statement view (a table of states) and the selection rules, pure. Paying through the page runs against
 * the real server and a fake WeChat Pay in payments_server.test.js.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { statementView, toggle, daysBetween } = require('../utils/payments');

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
