/**
 * Tenant: my deposit refund — six-step timeline, expected date, deductions with photos, progress QR, and the
 * refund's documents (repair quotes, bank receipt) opened in WeChat's viewer; a refund paid to the WeChat balance
 * that waits for the tenant's confirmation leads to the 确认收款 page.
 */
const { whileBusy, refreshOnPull } = require('../../utils/busy');
const refunds = require('../../utils/refunds');
const transfers = require('../../utils/transfers');
const { yuan } = require('../../utils/labels');

const app = getApp();

Page({
  data: { list: [], view: null, transfer: null, qr: null, withdrawReason: '', busy: false, error: '' },

  onLoad(query) {
    this.initialId = Number(query && query.id) || null;
  },

  onShow() {
    return this.load(this.initialId);
  },

  onPullDownRefresh() {
    return refreshOnPull(this, wx);
  },

  async load(id) {
    await whileBusy(this, async () => {
      const list = await refunds.listRefunds(app.api);
      this.setData({ list: list.map((r) => ({ id: r.id, unit: r.unit_code, step: r.step_label })) });
      const chosen = id || (this.data.view && this.data.view.id) || (list[0] && list[0].id);
      if (chosen) {
        const view = refunds.viewOf(await refunds.getRefund(app.api, chosen));
        this.setData({ view, transfer: await this.waitingTransfer(view) });
      }
    });
  },

  /** An approved refund paid by 商家转账 may wait for the tenant to confirm receipt (pages/transfer). */
  async waitingTransfer(view) {
    if (view.step !== 'APPROVED') return null;
    // WeChat Pay off or unreachable: nothing to confirm here, the refund shows as usual
    const answer = await transfers.waiting(app.api, view.id).catch(() => null);
    return answer ? { amount: yuan(answer.transfer.amount_fen) } : null;
  },

  toTransfer() {
    wx.navigateTo({ url: `/pages/transfer/transfer?id=${this.data.view.id}` });
  },

  choose(e) {
    this.setData({ qr: null });
    this.load(Number(e.currentTarget.dataset.id));
  },

  async showQr() {
    await whileBusy(this, async () => {
      this.setData({ qr: await refunds.progressQr(app.api, this.data.view.id) });
    });
  },

  previewPhoto(e) {
    const { src, all } = e.currentTarget.dataset;
    wx.previewImage({ current: src, urls: all });
  },

  /** Tap on a document of the 单据 list, or on 查看报价单 of a deduction (data-id: the document's id). */
  async openDocument(e) {
    const id = Number(e.currentTarget.dataset.id);
    const view = this.data.view;
    if (!view || !id) return;
    const doc = view.documents.find((d) => d.id === id) || { id };
    this.setData({ busy: true, error: '' });
    try {
      await refunds.openDocument(app.api, view.id, doc);
    } catch (err) {
      this.setData({ error: err.isNetwork ? '网络不可用,无法打开单据,请联网后重试' : err.message });
    } finally {
      this.setData({ busy: false });
    }
  },

  async confirmReceipt() {
    await whileBusy(this, async () => {
      this.setData({ view: refunds.viewOf(await refunds.confirmReceipt(app.api, this.data.view.id)) });
      wx.showToast({ title: '已确认到账', icon: 'success' });
    });
  },

  onWithdrawReason(e) {
    this.setData({ withdrawReason: e.detail.value });
  },

  async withdraw() {
    if (!this.data.withdrawReason.trim()) {
      this.setData({ error: '请填写撤回原因' });
      return;
    }
    await whileBusy(this, async () => {
      this.setData({ view: refunds.viewOf(await refunds.withdraw(app.api, this.data.view.id, this.data.withdrawReason)) });
      wx.showToast({ title: '已撤回', icon: 'success' });
    });
  },

  moveOut() {
    wx.navigateTo({ url: '/pages/moveout/moveout' });
  },
});
