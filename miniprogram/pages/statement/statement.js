/**
 * The tenant's statement: leases, receivables (due, overdue with days, paid with date and method), the deposit
 * held and credit; tick receivables and pay them with WeChat Pay. Opened from a subscribe message with
 * `?lease_id=&receivable_id=` (the receivable is pre-selected).
 */
const { whileBusy, refreshOnPull } = require('../../utils/busy');
const payments = require('../../utils/payments');

const app = getApp();

Page({
  data: { leases: [], leaseIndex: 0, view: null, busy: false, error: '', notice: '' },

  onLoad(query) {
    const q = query || {};
    this.wantedLease = q.lease_id ? Number(q.lease_id) : null;
    this.selected = q.receivable_id ? [Number(q.receivable_id)] : [];
    return this.load();
  },

  onPullDownRefresh() {
    return refreshOnPull(this, wx);
  },

  async load() {
    await whileBusy(this, async () => {
      const leases = await payments.leases(app.api);
      const index = Math.max(0, leases.findIndex((l) => l.id === this.wantedLease));
      this.setData({ leases, leaseIndex: index });
      if (leases.length) await this.show(leases[index].id);
    });
  },

  async show(leaseId) {
    this.statement = await payments.statement(app.api, leaseId);
    this.setData({ view: payments.statementView(this.statement, this.selected) });
  },

  onLeaseChange(e) {
    const index = Number(e.detail.value);
    this.selected = [];
    this.setData({ leaseIndex: index });
    return this.show(this.data.leases[index].id).catch((err) => this.setData({ error: err.message }));
  },

  onToggle(e) {
    this.selected = payments.toggle(this.selected, Number(e.currentTarget.dataset.id), this.data.view);
    this.setData({ view: payments.statementView(this.statement, this.selected) });
  },

  async onPay() {
    if (!this.data.view || !this.data.view.can_pay || this.data.busy) return;
    await whileBusy(this, async () => {
      const result = await payments.pay(app.api, wx, this.data.view.selected_ids);
      if (result.cancelled) this.setData({ notice: '已取消支付' });
      else if (result.paid) {
        this.selected = [];
        this.setData({ notice: '支付成功' });
        await this.show(this.data.leases[this.data.leaseIndex].id);
      } else this.setData({ notice: '支付结果确认中,请稍后刷新' });
    }, { notice: '' });
  },
});
