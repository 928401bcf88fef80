/**
 * Public refund progress, opened from a tenant's progress QR by WeChat's own scanner (`q` = the
 * `{RW_QR_BASE_URL}/rp/{token}` link). No login: the server shows only the step, dates and the expected
 * completion — no names, amounts or photos.
 */
const { whileBusy, refreshOnPull } = require('../../utils/busy');
const refunds = require('../../utils/refunds');
const { parseProgressLink } = require('../../utils/sticker');

const app = getApp();

Page({
  data: { view: null, busy: false, error: '' },

  onLoad(query) {
    const q = query || {};
    const pending = app.takePendingProgress(); // also given to App.onLaunch: use it once
    const link = parseProgressLink(q.q) || (q.token ? { token: q.token } : null) || pending;
    if (!link) {
      this.setData({ error: '进度链接无效' });
      return undefined;
    }
    this.token = link.token;
    return this.load();
  },

  onPullDownRefresh() {
    return refreshOnPull(this, wx);
  },

  async load() {
    await whileBusy(this, async () => {
      this.setData({ view: refunds.progressViewOf(await refunds.publicProgress(app.api, this.token)) });
    });
  },
});
