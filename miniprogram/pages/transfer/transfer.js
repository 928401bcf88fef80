/**
 * Tenant: confirm receipt of a deposit refund paid to the WeChat balance (商家转账). Opened from the refund page
 * when a transfer waits for the tenant, or from a subscribe message with `?id=` (the refund). The tap hands the
 * server's parameters to wx.requestMerchantTransfer; afterwards the refund is read again until WeChat Pay's
 * notification has marked it paid.
 */
const { whileBusy, refreshOnPull } = require('../../utils/busy');
const refunds = require('../../utils/refunds');
const transfers = require('../../utils/transfers');

const app = getApp();

Page({
  data: { view: null, busy: false, error: '', notice: '' },

  onLoad(query) {
    this.refundId = Number(query && query.id) || null;
    if (!this.refundId) {
      this.setData({ error: '转账链接无效' });
      return undefined;
    }
    return this.load();
  },

  onPullDownRefresh() {
    return refreshOnPull(this, wx);
  },

  async load() {
    await whileBusy(this, async () => {
      await this.show();
    });
  },

  async show(refund) {
    const current = refund || await refunds.getRefund(app.api, this.refundId);
    // only an approved refund can have a transfer waiting (after it, the refund's step tells the result)
    const answer = current.step === 'APPROVED' ? await transfers.waiting(app.api, this.refundId) : null;
    this.setData({ view: transfers.transferView(current, answer) });
  },

  async onConfirm() {
    if (!this.data.view || !this.data.view.can_confirm || this.data.busy) return;
    await whileBusy(this, async () => {
      const result = await transfers.confirm(app.api, wx, this.refundId);
      if (result.cancelled) {
        this.setData({ notice: '已取消收款,可稍后在此页面再次确认' });
        await this.show();
        return;
      }
      const refund = await transfers.awaitArrival(app.api, this.refundId, this.pollOptions);
      await this.show(refund);
      this.setData({ notice: this.data.view.arrived ? '已到账,请在微信零钱中查看' : '已确认收款,到账结果确认中,请稍后下拉刷新' });
    }, { notice: '' });
  },

  toRefund() {
    wx.redirectTo({ url: `/pages/refund/refund?id=${this.refundId}` });
  },
});
