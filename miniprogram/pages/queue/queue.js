/** The offline queue: each pending item, its state, the server's reason when refused; retry / discard. */
const { resultLabel } = require('../../utils/errors');
const { shortTime } = require('../../utils/labels');

const app = getApp();

Page({
  data: { items: [], recent: [], syncing: false, online: true, error: '' },

  onShow() {
    this.unsubscribe = app.queue.onChange(() => this.refresh());
    this.refresh();
  },

  onHide() {
    if (this.unsubscribe) this.unsubscribe();
  },

  onUnload() {
    if (this.unsubscribe) this.unsubscribe();
  },

  onPullDownRefresh() {
    this.syncNow().then(() => wx.stopPullDownRefresh());
  },

  refresh() {
    this.setData({
      items: app.queue.list().map((item) => Object.assign(app.queue.describe(item), {
        time: shortTime(item.created_at), refused: item.state === 'REFUSED' })),
      recent: app.queue.recent().slice(0, 10).map((d) => ({ id: d.client_id, title: d.label,
        result: resultLabel(d.kind, d.result), time: shortTime(d.done_at) })),
      syncing: app.queue.syncing,
      online: app.queue.isOnline(),
    });
  },

  async syncNow() {
    this.setData({ syncing: true, error: '' });
    const summary = await app.queue.sync('manual');
    if (summary.error) this.setData({ error: summary.error.message });
    this.refresh();
  },

  retry(e) {
    app.queue.retry(e.currentTarget.dataset.id);
    this.syncNow();
  },

  discard(e) {
    const { id } = e.currentTarget.dataset;
    wx.showModal({ title: '删除此条?', content: '删除后无法恢复,需要重新到现场上报。', confirmText: '删除',
      confirmColor: '#cf222e', success: (r) => {
        if (r.confirm) {
          app.queue.discard(id, { force: true });
          this.refresh();
        }
      } });
  },
});
