/**
 * Tenant statement and WeChat Pay (payments/*, api/routes/payments.py): the statement as a view (due, overdue
 * with days, paid with date and method, deposit held, credit), the receivables that can be paid, and paying
 * them: the server makes the order from the ids only (it computes every amount), wx.requestPayment takes the
 * server-signed parameters, then the order is polled until the payment notification has been applied.
 */
const { yuan } = require('./labels');
const { call } = require('./wxp');

const OPEN_STATES = ['DUE', 'OVERDUE', 'PARTIALLY_PAID', 'UPCOMING'];
const METHOD = { WECHAT_PAY: '微信支付', BANK_TRANSFER: '银行转账', ALIPAY: '支付宝', CASH: '现金', CREDIT_NOTE: '冲抵' };
const STATE = { DUE: '待缴', OVERDUE: '逾期', PARTIALLY_PAID: '部分已缴', UPCOMING: '未到期', PAID: '已缴', WAIVED: '已减免' };
const DAY_MS = 24 * 3600 * 1000;

function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** The statement (GET /me/leases/{id}/statement) as rows for the page; ``selected`` ids are ticked. */
function statementView(statement, selected = []) {
  // the ledger stamps a receivable's paid_at with the paid_at of the payment that completed it
  const methodAt = {};
  (statement.payments || []).forEach((p) => { methodAt[p.paid_at] = p.method; });
  const rows = (statement.receivables || []).filter((r) => r.state !== 'SUPERSEDED').map((r) => {
    const payable = OPEN_STATES.includes(r.state) && r.outstanding_fen > 0;
    const overdueDays = r.state === 'OVERDUE' ? daysBetween(r.due_date, statement.as_of) : 0;
    return {
      id: r.id,
      label: r.label || r.charge,
      late_fee: String(r.charge || '').startsWith('LATE_FEE'),
      state: r.state,
      state_label: STATE[r.state] || r.state,
      due_date: r.due_date,
      overdue_days: overdueDays,
      amount: yuan(r.amount_fen),
      outstanding: yuan(r.outstanding_fen),
      outstanding_fen: r.outstanding_fen,
      paid_on: r.paid_at ? r.paid_at.slice(0, 10) : '',
      paid_method: r.paid_at ? (METHOD[methodAt[r.paid_at]] || methodAt[r.paid_at] || '') : '',
      payable,
      // 缴费码: a bank transfer with it in the 附言 is matched to this receivable
      payment_code: r.payment_code || '',
      selected: payable && selected.includes(r.id),
    };
  });
  const chosen = rows.filter((r) => r.selected);
  const t = statement.totals || {};
  return {
    lease_id: statement.lease_id,
    contract_no: statement.contract_no || '',
    rows,
    overdue: yuan(t.overdue_fen || 0),
    outstanding: yuan(t.outstanding_fen || 0),
    deposit_held: yuan(t.deposit_held_fen || 0),
    credit: yuan(t.credit_fen || 0),
    selected_ids: chosen.map((r) => r.id),
    selected_total: yuan(chosen.reduce((sum, r) => sum + r.outstanding_fen, 0)),
    can_pay: chosen.length > 0,
  };
}

/** Tick or untick one payable receivable; a deep link (receivable_id) pre-selects its receivable. */
function toggle(selected, id, view) {
  const row = view.rows.find((r) => r.id === id);
  if (!row || !row.payable) return selected;
  return selected.includes(id) ? selected.filter((x) => x !== id) : selected.concat([id]);
}

function leases(api) {
  return api.get('/api/v1/me/leases').then((data) => data.items || []);
}

function statement(api, leaseId) {
  return api.get(`/api/v1/me/leases/${leaseId}/statement`);
}

/**
 * Pay: the order (ids only), wx.requestPayment with exactly the server's parameters, then the order's state.
 * A cancelled payment (requestPayment:fail cancel) resolves to { cancelled: true }; the order stays reusable.
 */
async function pay(api, wxApi, receivableIds, { polls = 10, waitMs = 1000, sleep } = {}) {
  const created = await api.post('/api/v1/me/payments/orders', { receivable_ids: receivableIds.map(Number) });
  const p = created.payment;
  try {
    await call(wxApi, 'requestPayment', {
      timeStamp: p.timeStamp, nonceStr: p.nonceStr, package: p.package, signType: p.signType, paySign: p.paySign,
    });
  } catch (e) {
    if (/cancel/.test(String(e.errMsg || e.message))) return { order: created.order, cancelled: true };
    throw e;
  }
  const pause = sleep || ((ms) => new Promise((r) => setTimeout(r, ms)));
  let order = created.order;
  for (let i = 0; i < polls && order.status !== 'PAID'; i += 1) {
    // eslint-disable-next-line no-await-in-loop
    order = await api.get(`/api/v1/me/payments/orders/${created.order.id}`);
    if (order.status !== 'PAID') await pause(waitMs); // eslint-disable-line no-await-in-loop
  }
  return { order, cancelled: false, paid: order.status === 'PAID' };
}

module.exports = { statementView, toggle, leases, statement, pay, OPEN_STATES, daysBetween };
