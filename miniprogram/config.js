/**
 * Where the mini program finds its server. Edit `baseUrl` (or set it per environment below) before
 * opening the project in WeChat DevTools; see docs/miniprogram.md.
 *
 * - develop: DevTools / a developer's phone. With "不校验合法域名" ticked in DevTools, http://127.0.0.1 works.
 * - trial / release: must be an https domain listed under 开发管理 → 服务器域名 (request + uploadFile).
 */
const ENVIRONMENTS = {
  develop: {
    baseUrl: 'http://127.0.0.1:8000',
    // Demo only: when set, the login page offers "演示登录" (POST /auth/dev-login, needs RW_DEV_LOGIN=1).
    devLogin: true,
  },
  trial: { baseUrl: 'https://rw.example.cn', devLogin: false },
  release: { baseUrl: 'https://rw.example.cn', devLogin: false },
};

/**
 * URL prefixes configured under 扫普通链接二维码打开小程序 (the server's RW_QR_BASE_URL + '/u/' and '/rp/'):
 * unit stickers open pages/scan/scan, refund progress QRs open pages/progress/progress.
 */
const STICKER_PREFIX = 'https://rw.example.cn/u/';
const PROGRESS_PREFIX = 'https://rw.example.cn/rp/';

function envVersion() {
  try {
    // wx.getAccountInfoSync is available in the mini program runtime (base library ≥ 2.2.2).
    // eslint-disable-next-line no-undef
    return wx.getAccountInfoSync().miniProgram.envVersion || 'develop';
  } catch (e) {
    return 'develop';
  }
}

/** Storage key a developer build may use to point at another server (e.g. a laptop on the LAN). */
const BASE_URL_OVERRIDE_KEY = 'rw.baseUrl';

function current() {
  const version = envVersion();
  const env = Object.assign({ stickerPrefix: STICKER_PREFIX, progressPrefix: PROGRESS_PREFIX, envVersion: version },
    ENVIRONMENTS[version] || ENVIRONMENTS.develop);
  if (version === 'develop') {
    try {
      // eslint-disable-next-line no-undef
      const override = wx.getStorageSync(BASE_URL_OVERRIDE_KEY);
      if (override) env.baseUrl = override;
    } catch (e) { /* no override */ }
  }
  return env;
}

module.exports = { ENVIRONMENTS, STICKER_PREFIX, PROGRESS_PREFIX, BASE_URL_OVERRIDE_KEY, current };
