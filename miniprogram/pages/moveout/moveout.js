/** Tenant: apply to move out (the online form; the deposit refund starts at APPLIED). */
const { whileBusy } = require('../../utils/busy');
const refunds = require('../../utils/refunds');

const app = getApp();

Page({
  data: { leases: [], leaseIndex: 0, moveOutDate: '', reason: '', payeeName: '', payeeBank: '', payeeAccount: '',
    busy: false, error: '' },

  async onLoad() {
    try {
      const leases = await refunds.movableLeases(app.api);
      this.setData({ leases: leases.map((l) => ({ id: l.id, label: `${l.unit_code} · 至 ${l.end_date}` })) });
    } catch (e) {
      this.setData({ error: e.message });
    }
  },

  onField(e) {
    this.setData({ [e.currentTarget.dataset.field]: e.detail.value });
  },

  chooseLease(e) {
    this.setData({ leaseIndex: Number(e.detail.value) });
  },

  async submit() {
    const d = this.data;
    if (!d.leases.length) return;
    await whileBusy(this, async () => {
      const refund = await refunds.applyMoveOut(app.api, { lease_id: d.leases[d.leaseIndex].id,
        move_out_date: d.moveOutDate, reason: d.reason, payee_name: d.payeeName, payee_bank: d.payeeBank,
        payee_account: d.payeeAccount });
      wx.showToast({ title: '已提交', icon: 'success' });
      wx.redirectTo({ url: `/pages/refund/refund?id=${refund.id}` });
    });
  },
});
