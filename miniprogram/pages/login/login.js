const app = getApp();

Page({
  data: { step: 'start', bindingCode: '', devUserId: '', devLogin: false, busy: false, error: '' },

  onLoad() {
    this.setData({ devLogin: Boolean(app.config && app.config.devLogin) });
  },

  async wechatLogin() {
    await this.run(async () => {
      const result = await app.api.loginWithWechat();
      if (result.bound) this.done();
      else this.setData({ step: 'bind' });
    });
  },

  onCode(e) {
    this.setData({ bindingCode: e.detail.value });
  },

  onDevUser(e) {
    this.setData({ devUserId: e.detail.value });
  },

  async bind() {
    if (!this.data.bindingCode.trim()) {
      this.setData({ error: '请输入绑定码' });
      return;
    }
    await this.run(async () => {
      await app.api.bind(this.data.bindingCode);
      this.done();
    });
  },

  async devLoginTap() {
    await this.run(async () => {
      await app.api.devLogin(this.data.devUserId);
      this.done();
    });
  },

  async run(fn) {
    this.setData({ busy: true, error: '' });
    try {
      await fn();
    } catch (e) {
      this.setData({ error: e.message || '登录失败' });
    } finally {
      this.setData({ busy: false });
    }
  },

  done() {
    app.queue.sync('login');
    wx.reLaunch({ url: app.globalData.pendingSticker ? '/pages/scan/scan?from=sticker' : '/pages/index/index' });
  },
});
