/**
 * Confirmations waiting for me (MANAGER / ADMIN): status changes inspectors requested. Deciding needs the
 * unit's sticker scanned on site (geofenced); a rejection needs a reason. Decisions go through the queue.
 */
const { whileBusy, refreshOnPull } = require('../../utils/busy');
const actions = require('../../utils/actions');
const { getFix } = require('../../utils/location');
const { UNIT_STATUS, REPORT_STATE, label, shortTime } = require('../../utils/labels');

const app = getApp();

Page({
  data: { reports: [], reason: '', busy: false, error: '', message: '' },

  onShow() {
    return this.load();
  },

  onPullDownRefresh() {
    return refreshOnPull(this, wx);
  },

  async load() {
    await whileBusy(this, async () => {
      const reports = await actions.pendingConfirmations(app.api);
      const views = reports.map((r) => ({ id: r.id, state: label(REPORT_STATE, r.state),
        change: r.no_change ? `${label(UNIT_STATUS, r.observed_status)}(无变化,待复核)`
          : `${label(UNIT_STATUS, r.observed_status)} → ${label(UNIT_STATUS, r.requested_status)}`,
        note: r.note, flags: (r.flags || []).join('、'), deadline: shortTime(r.confirm_deadline),
        photos: (r.photo_ids || []).length, thumbs: [] }));
      this.setData({ reports: views });
      for (let i = 0; i < reports.length; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        views[i].thumbs = await actions.photoThumbnails(app.api, reports[i].photo_ids);
      }
      this.setData({ reports: views });
    });
  },

  onReason(e) {
    this.setData({ reason: e.detail.value });
  },

  preview(e) {
    const { src, all } = e.currentTarget.dataset;
    wx.previewImage({ current: src, urls: all });
  },

  async decide(e) {
    const { id, decision } = e.currentTarget.dataset;
    await whileBusy(this, async () => {
      wx.showToast({ title: '请扫描该房源标签', icon: 'none' });
      const sticker = await actions.scanSticker(wx);
      const fix = await getFix(wx);
      const { item, sync } = await actions.submitDecision(app.queue, { report: { id: Number(id) }, qr: sticker.qr,
        decision, reason: this.data.reason, fix });
      const result = sync.results[item.client_id];
      const refused = app.queue.list().find((i) => i.client_id === item.client_id && i.state === 'REFUSED');
      if (refused) this.setData({ error: refused.reason.message });
      else this.setData({ message: result ? '已提交' : '已保存,联网后自动同步' });
      await this.load();
    }, { message: '' });
  },
});
