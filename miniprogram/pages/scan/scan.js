/**
 * Scan → unit card. Arrives with a sticker link (WeChat's scanner: `q` in the page query, or the app kept it as
 * pendingSticker) or scans in-app with wx.scanCode. The server verifies the sticker (POST /scan).
 * Managers see the reports waiting for an on-site decision and decide here (they just scanned the sticker).
 */
const { whileBusy } = require('../../utils/busy');
const actions = require('../../utils/actions');
const { stickerFromLaunch } = require('../../utils/sticker');
const { UNIT_STATUS, REPORT_STATE, WORK_ORDER_TYPE, WORK_ORDER_STATUS, label, shortTime } = require('../../utils/labels');
const { precheck, geofenceOf, limitsOf, getFix } = require('../../utils/location');

const app = getApp();

function cardView(card) {
  return {
    code: card.unit.code,
    name: card.unit.name,
    building: card.building.name,
    status: label(UNIT_STATUS, card.unit.status),
    version: card.unit.status_version,
    lastInspected: shortTime(card.unit.last_inspected_at) || '从未巡检',
    lease: card.lease ? `${card.lease.start_date} 至 ${card.lease.end_date}${card.lease.tenant_name ? ` · ${card.lease.tenant_name}` : ''}` : '无在租租约',
    orders: card.open_work_orders.map((o) => ({ id: o.id, text: `${label(WORK_ORDER_TYPE, o.type)} · ${label(WORK_ORDER_STATUS, o.status)} · ${o.title}` })),
    alerts: card.active_alerts.map((a) => ({ id: a.id, text: `${a.type} · ${a.severity}` })),
    pending: card.pending_reports.map((r) => ({ id: r.id, text: `${r.no_change ? '无变化' : `申请变更为 ${label(UNIT_STATUS, r.requested_status)}`} · ${label(REPORT_STATE, r.state)}`, deadline: shortTime(r.confirm_deadline) })),
    canReport: card.requestable_statuses !== undefined,
    canConfirm: Boolean(card.can_confirm),
    radius: card.geofence ? card.geofence.radius_m : null,
  };
}

Page({
  data: { view: null, busy: false, error: '', geo: null, rejectReason: '' },

  onLoad(query) {
    // WeChat gives `q` to both App.onLaunch and this page: take the app's copy too, so it is used once.
    const pending = app.takePendingSticker();
    const sticker = stickerFromLaunch({ query }) || pending;
    if (sticker) this.load(sticker);
  },

  async scan() {
    try {
      this.load(await actions.scanSticker(wx));
    } catch (e) {
      if (e.details && e.details.progress_token) {
        wx.navigateTo({ url: `/pages/progress/progress?token=${encodeURIComponent(e.details.progress_token)}` });
      } else if (e.code !== 'SCAN_CANCELLED') {
        this.setData({ error: e.message });
      }
    }
  },

  async load(sticker) {
    if (!app.api.isLoggedIn()) {
      app.globalData.pendingSticker = sticker;
      wx.redirectTo({ url: '/pages/login/login' });
      return;
    }
    this.sticker = sticker;
    this.setData({ busy: true, error: '', view: null, geo: null });
    try {
      this.card = await actions.fetchCard(app.api, sticker.qr);
      app.globalData.card = { card: this.card, qr: sticker.qr };
      this.setData({ view: cardView(this.card) });
      this.checkLocation();
    } catch (e) {
      this.setData({ error: e.isNetwork ? '离线状态无法读取房源信息;可直接上报,联网后自动同步' : e.message });
      if (e.isNetwork) app.globalData.card = { card: null, qr: sticker.qr };
    } finally {
      this.setData({ busy: false });
    }
  },

  async checkLocation() {
    try {
      this.fix = await getFix(wx);
      const check = precheck(this.fix, geofenceOf(this.card), limitsOf(this.card));
      this.setData({ geo: { distance: check.distance_m, warnings: check.warnings.map((w) => w.message) } });
    } catch (e) {
      this.setData({ geo: { distance: null, warnings: [e.message] } });
    }
  },

  report() {
    wx.navigateTo({ url: '/pages/report/report' });
  },

  onReason(e) {
    this.setData({ rejectReason: e.detail.value });
  },

  async decide(e) {
    const { id, decision } = e.currentTarget.dataset;
    await whileBusy(this, async () => {
      const fix = await getFix(wx);
      const { item, sync } = await actions.submitDecision(app.queue, { report: { id }, qr: this.sticker.qr,
        decision, reason: this.data.rejectReason, fix });
      const result = sync.results[item.client_id];
      const refused = app.queue.list().some((i) => i.client_id === item.client_id && i.state === 'REFUSED');
      wx.showToast({ title: !result ? '已保存,联网后同步' : refused ? '未通过,见离线队列' : '已提交', icon: 'none' });
      this.load(this.sticker);
    });
  },
});
