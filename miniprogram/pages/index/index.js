const { ROLE, label } = require('../../utils/labels');

const app = getApp();
const REPORTERS = ['INSPECTOR', 'MANAGER', 'ADMIN'];
const MANAGERS = ['MANAGER', 'ADMIN'];

Page({
  data: { user: null, roleLabel: '', counts: { PENDING: 0, SENDING: 0, REFUSED: 0 }, online: true,
    isReporter: false, isManager: false, isTenant: false, isStaff: false },

  onShow() {
    if (!app.api.isLoggedIn()) {
      wx.redirectTo({ url: '/pages/login/login' });
      return;
    }
    const { user } = app.api.session();
    this.setData({ user, roleLabel: label(ROLE, user.role), isReporter: REPORTERS.includes(user.role),
      isManager: MANAGERS.includes(user.role), isTenant: user.role === 'TENANT', isStaff: user.role !== 'TENANT' });
    if (app.globalData.pendingSticker && user.role !== 'TENANT') {
      wx.navigateTo({ url: '/pages/scan/scan?from=sticker' });
      return;
    }
    this.unsubscribe = app.queue.onChange(() => this.refreshCounts());
    this.refreshCounts();
  },

  onHide() {
    if (this.unsubscribe) this.unsubscribe();
  },

  onUnload() {
    if (this.unsubscribe) this.unsubscribe();
  },

  refreshCounts() {
    this.setData({ counts: app.queue.counts(), online: app.queue.isOnline() });
  },

  go(e) {
    wx.navigateTo({ url: e.currentTarget.dataset.url });
  },

  logout() {
    app.api.logout();
    wx.reLaunch({ url: '/pages/login/login' });
  },
});
