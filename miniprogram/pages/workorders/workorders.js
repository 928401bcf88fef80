/** My work orders: open, start, and complete on site (scan the unit's sticker + photo). */
const { whileBusy, refreshOnPull } = require('../../utils/busy');
const actions = require('../../utils/actions');
const { capturePhoto, takePhotos } = require('../../utils/upload');
const { getFix } = require('../../utils/location');
const { WORK_ORDER_TYPE, WORK_ORDER_STATUS, label, shortTime } = require('../../utils/labels');

const app = getApp();

Page({
  data: { orders: [], busy: false, error: '' },

  onShow() {
    return this.load();
  },

  onPullDownRefresh() {
    return refreshOnPull(this, wx);
  },

  async load() {
    await whileBusy(this, async () => {
      this.orders = await actions.myWorkOrders(app.api);
      this.setData({ orders: this.orders.map((o) => ({ id: o.id, title: o.title, unit: o.unit_code || '',
        type: label(WORK_ORDER_TYPE, o.type), status: label(WORK_ORDER_STATUS, o.status), raw: o.status,
        due: shortTime(o.due_at), overdue: new Date(o.due_at).getTime() < Date.now() })) });
    });
  },

  find(id) {
    return this.orders.find((o) => o.id === Number(id));
  },

  async start(e) {
    await this.run(() => actions.startWorkOrder(app.api, this.find(e.currentTarget.dataset.id)));
  },

  async complete(e) {
    const order = this.find(e.currentTarget.dataset.id);
    await this.run(async () => {
      wx.showToast({ title: '请扫描房源标签', icon: 'none' });
      const sticker = await actions.scanSticker(wx);
      const card = await actions.fetchCard(app.api, sticker.qr);
      const shots = await takePhotos(wx, { count: 1 });
      const photos = [];
      for (const shot of shots) photos.push(await capturePhoto(wx, shot.path)); // eslint-disable-line no-await-in-loop
      const fix = await getFix(wx);
      await actions.completeWorkOrder({ api: app.api, queue: app.queue, order, sticker, card, fix, photos });
      wx.showToast({ title: '工单已完成', icon: 'success' });
    });
  },

  async run(fn) {
    await whileBusy(this, async () => {
      await fn();
      await this.load();
    });
  },
});
