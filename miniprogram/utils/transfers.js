/**
 * 商家转账 (payments/transfers.py): a deposit refund paid to the tenant's WeChat balance waits for the tenant to
 * confirm receipt. The server hands out exactly what wx.requestMerchantTransfer takes ({mchId, appId, package},
 * GET /me/deposit-refunds/{id}/wechat-transfer, 404 NO_TRANSFER_WAITING when nothing waits); after the tenant
 * confirms, WeChat Pay's 商家转账结果通知 moves the refund to PAID, so the refund is polled until it shows that.
 */
const { yuan, label, REFUND_STEP } = require('./labels');
const { ApiError } = require('./errors');
const { call } = require('./wxp');

const BASE = '/api/v1/me/deposit-refunds';
const STATUS = {
  ACCEPTED: '微信支付处理中', WAIT_USER_CONFIRM: '待您确认收款', PROCESSING: '转账处理中', SUCCESS: '已到账',
  FAIL: '转账失败', CANCELLED: '转账已撤销',
};
const ARRIVED = ['PAID', 'COMPLETED'];

/** The transfer waiting for my confirmation, or null when none waits (any other error is thrown). */
function waiting(api, refundId) {
  return api.get(`${BASE}/${refundId}/wechat-transfer`).catch((e) => {
    if (e && e.code === 'NO_TRANSFER_WAITING') return null;
    throw e;
  });
}

/** The page's view of a refund and the transfer that waits for it (null: none waits). */
function transferView(refund, answer) {
  const t = answer && answer.transfer;
  const arrived = ARRIVED.includes(refund.step);
  return {
    refund_id: refund.id,
    unit: `${refund.unit_code || ''} ${refund.unit_name || ''}`.trim(),
    step: refund.step,
    step_label: refund.step_label || label(REFUND_STEP, refund.step),
    amount: yuan(t ? t.amount_fen : (refund.refund_fen || 0)),
    status: t ? t.status : (arrived ? 'SUCCESS' : ''),
    status_label: t ? (STATUS[t.status] || t.status) : (arrived ? STATUS.SUCCESS : '暂无待确认的转账'),
    out_bill_no: t ? t.out_bill_no : '',
    arrived,
    can_confirm: Boolean(t && t.status === 'WAIT_USER_CONFIRM' && answer.confirm && answer.confirm.package),
  };
}

/**
 * Confirm receipt: the server's parameters, fetched fresh, go unchanged to wx.requestMerchantTransfer. The
 * tenant closing the page (requestMerchantTransfer:fail cancel) resolves { cancelled: true }: the transfer still
 * waits and can be confirmed later. A WeChat too old for the API (base library < 3.3.0) is a clear error.
 */
async function confirm(api, wxApi, refundId) {
  const answer = await waiting(api, refundId);
  if (!answer) throw new ApiError({ code: 'NO_TRANSFER_WAITING', status: 404 });
  const c = answer.confirm;
  try {
    await call(wxApi, 'requestMerchantTransfer', { mchId: c.mchId, appId: c.appId, package: c.package });
  } catch (e) {
    const msg = String(e.errMsg || e.message);
    if (/cancel/.test(msg)) return { transfer: answer.transfer, cancelled: true };
    if (/not available/.test(msg)) throw new ApiError({ code: 'WX_TRANSFER_UNSUPPORTED', status: -1 });
    throw new ApiError({ code: 'WX_TRANSFER_FAILED', status: -1, serverMessage: msg });
  }
  return { transfer: answer.transfer, cancelled: false };
}

/** After confirming: the refund until WeChat Pay's notification has moved it to PAID (or the polls run out). */
async function awaitArrival(api, refundId, { polls = 10, waitMs = 1000, sleep } = {}) {
  const pause = sleep || ((ms) => new Promise((r) => setTimeout(r, ms)));
  let refund = await api.get(`${BASE}/${refundId}`);
  for (let i = 1; i < polls && !ARRIVED.includes(refund.step); i += 1) {
    await pause(waitMs); // eslint-disable-line no-await-in-loop
    refund = await api.get(`${BASE}/${refundId}`); // eslint-disable-line no-await-in-loop
  }
  return refund;
}

module.exports = { waiting, transferView, confirm, awaitArrival, STATUS };
