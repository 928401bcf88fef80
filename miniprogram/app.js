/**
 * App entry. Builds the API client and the offline queue once; handles the links WeChat's own scanner opens
 * the mini program with (launch option `q`, see utils/sticker.js) — a unit sticker (→ scan page) or a refund
 * progress link (→ public progress page); syncs the offline queue on app show (and, through the queue, on
 * reconnect).
 */
const config = require('./config');
const { createApi } = require('./utils/api');
const { createQueue } = require('./utils/queue');
const { stickerFromLaunch, parseProgressLink } = require('./utils/sticker');

App({
  globalData: { pendingSticker: null, pendingProgress: null, card: null, lastStickerKey: '' },

  onLaunch(options) {
    this.config = config.current();
    this.api = createApi({ wx, baseUrl: this.config.baseUrl });
    this.queue = createQueue({ wx, api: this.api });
    this.queue.start();
    this.api.onAuthLost(() => wx.reLaunch({ url: '/pages/login/login' }));
    this.takeSticker(options);
  },

  onShow(options) {
    this.takeSticker(options);
    if (this.api && this.api.isLoggedIn()) this.queue.sync('show');
  },

  /**
   * A sticker link in the launch options ({query: {q, scancode_time}}) is kept until the scan page picks it
   * up (via takePendingSticker). The same scan delivered to onLaunch and onShow counts once.
   */
  takeSticker(options) {
    const progress = parseProgressLink(((options && options.query) || {}).q);
    if (progress) {
      // A tenant's refund progress QR: public, no login needed.
      this.globalData.pendingProgress = progress;
      const pages = typeof getCurrentPages === 'function' ? getCurrentPages() : [];
      const top = pages.length ? pages[pages.length - 1] : null;
      if (top && top.route !== 'pages/progress/progress') wx.navigateTo({ url: '/pages/progress/progress' });
      return null;
    }
    const sticker = stickerFromLaunch(options);
    if (!sticker) return null;
    const key = `${sticker.qr}|${sticker.scannedAt || ''}`;
    if (key === this.globalData.lastStickerKey) return null;
    this.globalData.lastStickerKey = key;
    this.globalData.pendingSticker = sticker;
    const pages = typeof getCurrentPages === 'function' ? getCurrentPages() : [];
    const top = pages.length ? pages[pages.length - 1] : null;
    // Already running (warm start from the scanner): go to the unit card unless the scan page will read it.
    if (top && top.route !== 'pages/scan/scan' && top.route !== 'pages/login/login') {
      wx.navigateTo({ url: '/pages/scan/scan?from=sticker' });
    }
    return sticker;
  },

  takePendingProgress() {
    const progress = this.globalData.pendingProgress;
    this.globalData.pendingProgress = null;
    return progress;
  },

  takePendingSticker() {
    const sticker = this.globalData.pendingSticker;
    this.globalData.pendingSticker = null;
    return sticker;
  },
});
