/**
 * The report: three big actions — 上报状态 (choose the status to request, or 无变化), 上传照片 (camera), 选择分类 —
 * and a note. Submitting always goes through the offline queue (sent at once when online).
 */
const { whileBusy } = require('../../utils/busy');
const actions = require('../../utils/actions');
const { capturePhoto, takePhotos } = require('../../utils/upload');
const { UNIT_STATUS, CATEGORIES, label } = require('../../utils/labels');
const { RESULT_LABELS } = require('../../utils/errors');

const app = getApp();
const NO_CHANGE = { value: '', label: '无变化(仅巡检)' };

Page({
  data: { unitCode: '', statuses: [NO_CHANGE], statusIndex: 0, categories: CATEGORIES, categoryIndex: 0,
    note: '', photos: [], warnings: [], busy: false, message: '', error: '' },

  onLoad() {
    const current = app.globalData.card || {};
    this.card = current.card;
    this.qr = current.qr;
    if (!this.qr) {
      wx.redirectTo({ url: '/pages/scan/scan' });
      return;
    }
    const requestable = (this.card && this.card.requestable_statuses) || [];
    this.setData({
      unitCode: this.card ? `${this.card.unit.code} · 当前${label(UNIT_STATUS, this.card.unit.status)}` : '(离线,未读取房源信息)',
      statuses: [NO_CHANGE].concat(requestable.map((s) => ({ value: s, label: label(UNIT_STATUS, s) }))),
    });
  },

  chooseStatus(e) {
    this.setData({ statusIndex: Number(e.detail.value) });
  },

  chooseCategory(e) {
    this.setData({ categoryIndex: Number(e.detail.value) });
  },

  onNote(e) {
    this.setData({ note: e.detail.value });
  },

  async takePhoto() {
    try {
      const shots = await takePhotos(wx, { count: 1 });
      const records = [];
      for (const shot of shots) {
        records.push(await capturePhoto(wx, shot.path)); // eslint-disable-line no-await-in-loop
      }
      this.setData({ photos: this.data.photos.concat(records) });
    } catch (e) {
      if (!/cancel/.test(e.errMsg || '')) this.setData({ error: '拍照失败,请重试' });
    }
  },

  removePhoto(e) {
    const photos = this.data.photos.slice();
    photos.splice(Number(e.currentTarget.dataset.index), 1);
    this.setData({ photos });
  },

  async submit() {
    await whileBusy(this, async () => {
      const { fix, check } = await actions.locate(wx, this.card);
      if (!check.ok) {
        this.setData({ warnings: check.warnings.map((w) => w.message) });
        const go = await new Promise((resolve) => wx.showModal({ title: '位置提醒',
          content: `${check.warnings.map((w) => w.message).join('\n')}\n服务器可能拒绝,仍要提交吗?`,
          confirmText: '仍提交', success: (r) => resolve(r.confirm), fail: () => resolve(false) }));
        if (!go) return;
      }
      const status = this.data.statuses[this.data.statusIndex].value || null;
      const { item, sync } = await actions.submitReport(app.queue, { card: this.card, qr: this.qr,
        requestedStatus: status, category: this.data.categories[this.data.categoryIndex].value,
        note: this.data.note, fix, photos: this.data.photos });
      const result = sync.results[item.client_id];
      if (!result) {
        this.setData({ message: '已保存在本机,联网后自动同步' });
      } else if (result === 'REJECTED' || result === 'CONFLICT') {
        const refused = app.queue.list().find((i) => i.client_id === item.client_id);
        this.setData({ error: `${RESULT_LABELS[result]}:${refused && refused.reason ? refused.reason.message : ''}` });
        return;
      } else {
        this.setData({ message: RESULT_LABELS[result] || result });
      }
      this.setData({ photos: [], note: '' });
      wx.showToast({ title: '已提交', icon: 'success' });
    }, { message: '', warnings: [] });
  },
});
