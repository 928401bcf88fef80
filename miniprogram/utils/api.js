/**
 * The API client: JSON requests and photo uploads with the bearer token, token refresh, and every error turned
 * into an ApiError with a clear Chinese message (utils/errors.js).
 *
 * Token refresh: the server issues short-lived JWTs and has no refresh token; a new token is obtained the way
 * the first one was — wx.login → POST /auth/wechat/login (or dev-login again for a demo session). It happens
 *   - before a request when the stored token expires within REFRESH_MARGIN_MS, and
 *   - after a 401 TOKEN_EXPIRED / INVALID_TOKEN / AUTH_REQUIRED, retrying the request once.
 * Concurrent requests share one refresh. If WeChat says the account is not bound any more, the stored session
 * is dropped and `onAuthLost` listeners run (the app sends the user to the login page).
 *
 * Files the server protects (refund documents) come through wx.downloadFile with the same token and refresh;
 * its error answers are read back from the temp file it wrote, else mapped from the status code.
 */

const { ApiError } = require('./errors');
const { call, tokenExpiryMs } = require('./wxp');

const AUTH_KEY = 'rw.auth';
const REFRESH_MARGIN_MS = 2 * 60 * 1000;
const REFRESHABLE = new Set(['TOKEN_EXPIRED', 'INVALID_TOKEN', 'AUTH_REQUIRED']);
const DEFAULT_TIMEOUT_MS = 20000;

function statusFallbackCode(status) {
  if (status === 401) return 'AUTH_REQUIRED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'ROUTE_NOT_FOUND';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'INTERNAL_ERROR';
  return 'BAD_RESPONSE';
}

/** An HTTP answer (status + parsed body) → the data, or a thrown ApiError. */
function unwrap(status, body) {
  let data = body;
  if (typeof data === 'string' && data) {
    try {
      data = JSON.parse(data);
    } catch (e) {
      if (status >= 200 && status < 300) return body;
    }
  }
  if (status >= 200 && status < 300) return data;
  const err = data && typeof data === 'object' && data.error;
  if (err && err.code) {
    throw new ApiError({ code: err.code, status, serverMessage: err.message || '', details: err.details || {} });
  }
  throw new ApiError({ code: statusFallbackCode(status), status });
}

/** When a download's error body cannot be read: a missing or vanished file says so rather than "no route". */
function downloadFallbackCode(status) {
  if (status === 404) return 'FILE_NOT_FOUND';
  if (status === 410) return 'FILE_GONE';
  return statusFallbackCode(status);
}

function headerValue(header, name) {
  const key = Object.keys(header || {}).find((k) => k.toLowerCase() === name);
  const value = key ? header[key] : '';
  return Array.isArray(value) ? String(value[0] || '') : String(value || '');
}

function networkError(err) {
  const msg = (err && err.errMsg) || String(err || '');
  const code = /timeout/i.test(msg) ? 'TIMEOUT' : 'NETWORK_ERROR';
  return new ApiError({ code, status: 0, serverMessage: msg });
}

function arrayBufferToBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += chars[(n >> 18) & 63] + chars[(n >> 12) & 63];
    out += i + 1 < bytes.length ? chars[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? chars[n & 63] : '=';
  }
  return out;
}

function arrayBufferToText(buffer) {
  const bytes = new Uint8Array(buffer);
  let out = '';
  for (let i = 0; i < bytes.length; i += 1) out += String.fromCharCode(bytes[i]);
  try {
    return decodeURIComponent(escape(out));
  } catch (e) {
    return out;
  }
}

function encodeQuery(query) {
  if (!query) return '';
  const parts = Object.keys(query)
    .filter((k) => query[k] !== undefined && query[k] !== null && query[k] !== '')
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(String(query[k]))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

function createApi({ wx, baseUrl, now = () => Date.now(), timeoutMs = DEFAULT_TIMEOUT_MS }) {
  const root = String(baseUrl).replace(/\/+$/, '');
  const listeners = [];
  let refreshing = null;
  let bindingToken = null;

  function loadAuth() {
    try {
      return wx.getStorageSync(AUTH_KEY) || null;
    } catch (e) {
      return null;
    }
  }

  function saveAuth(answer, method) {
    const auth = {
      token: answer.token,
      user: answer.user,
      method,
      expires_at: tokenExpiryMs(answer.token) || now() + (answer.expires_in || 0) * 1000,
    };
    wx.setStorageSync(AUTH_KEY, auth);
    return auth;
  }

  function clearAuth() {
    try {
      wx.removeStorageSync(AUTH_KEY);
    } catch (e) { /* nothing stored */ }
  }

  function raw(method, path, { data, query, token, timeout, binary = false } = {}) {
    const header = { 'content-type': 'application/json' };
    if (token) header.Authorization = `Bearer ${token}`;
    return new Promise((resolve, reject) => {
      wx.request({
        url: root + path + encodeQuery(query),
        method,
        data: data === undefined ? undefined : data,
        header,
        timeout: timeout || timeoutMs,
        dataType: binary ? 'other' : 'json',
        responseType: binary ? 'arraybuffer' : 'text',
        success: (res) => {
          try {
            if (binary && res.statusCode >= 200 && res.statusCode < 300) {
              resolve({ data: res.data, header: res.header || {} });
              return;
            }
            const body = binary && res.data instanceof ArrayBuffer ? arrayBufferToText(res.data) : res.data;
            resolve(unwrap(res.statusCode, body));
          } catch (e) {
            reject(e);
          }
        },
        fail: (err) => reject(networkError(err)),
      });
    });
  }

  function authLost(error) {
    clearAuth();
    listeners.forEach((fn) => {
      try {
        fn(error);
      } catch (e) { /* a listener's failure is not ours */ }
    });
  }

  /** wx.login → backend. Resolves {bound: true, user} or {bound: false} (then call bind(code)). */
  async function loginWithWechat() {
    let login;
    try {
      login = await call(wx, 'login', { timeout: 10000 });
    } catch (e) {
      throw new ApiError({ code: 'WX_LOGIN_FAILED', status: 0, serverMessage: e.errMsg || '' });
    }
    const answer = await raw('POST', '/api/v1/auth/wechat/login', { data: { code: login.code } });
    if (answer.bound) {
      bindingToken = null;
      const auth = saveAuth(answer, 'wechat');
      return { bound: true, user: auth.user };
    }
    bindingToken = answer.binding_token;
    return { bound: false };
  }

  /** Redeem a one-time binding code (staff: from an admin; tenant: issued with the lease). */
  async function bind(bindingCode) {
    if (!bindingToken) {
      const first = await loginWithWechat();
      if (first.bound) return first;
    }
    const answer = await raw('POST', '/api/v1/auth/bind', {
      data: { binding_code: String(bindingCode).trim() }, token: bindingToken,
    });
    bindingToken = null;
    const auth = saveAuth(answer, 'wechat');
    return { bound: true, user: auth.user };
  }

  /** Demo only (server needs RW_DEV_LOGIN=1 in dev mode). */
  async function devLogin(userId) {
    const answer = await raw('POST', '/api/v1/auth/dev-login', { data: { user_id: Number(userId) } });
    const auth = saveAuth(answer, 'dev');
    return { bound: true, user: auth.user };
  }

  async function doRefresh() {
    const auth = loadAuth();
    if (auth && auth.method === 'dev' && auth.user) {
      return devLogin(auth.user.id);
    }
    const result = await loginWithWechat();
    if (!result.bound) {
      const error = new ApiError({ code: 'NOT_BOUND', status: 401 });
      authLost(error);
      throw error;
    }
    return result;
  }

  /** One refresh at a time; callers arriving meanwhile share it. */
  function refresh() {
    if (!refreshing) {
      refreshing = doRefresh().then((result) => {
        refreshing = null;
        return result;
      }, (error) => {
        refreshing = null;
        throw error;
      });
    }
    return refreshing;
  }

  async function currentToken() {
    let auth = loadAuth();
    if (!auth || !auth.token) {
      await refresh();
      auth = loadAuth();
    } else if (auth.expires_at && auth.expires_at - now() < REFRESH_MARGIN_MS) {
      try {
        await refresh();
        auth = loadAuth();
      } catch (e) {
        if (!(e instanceof ApiError) || !e.isNetwork) throw e;
        // Offline: try the old token; the server decides.
      }
    }
    return auth && auth.token;
  }

  async function withAuth(send) {
    const token = await currentToken();
    try {
      return await send(token);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401 || !REFRESHABLE.has(e.code)) throw e;
      await refresh();
      const auth = loadAuth();
      return send(auth && auth.token);
    }
  }

  /** JSON request. `auth: false` for public endpoints. */
  function request(method, path, { data, query, auth = true, timeout, binary = false } = {}) {
    if (!auth) return raw(method, path, { data, query, timeout, binary });
    return withAuth((token) => raw(method, path, { data, query, token, timeout, binary }));
  }

  /** GET an image the server protects (e.g. the progress QR): resolves a data: URL for <image src>. */
  async function image(path, { query, contentType = 'image/png' } = {}) {
    const res = await request('GET', path, { query, binary: true });
    return { src: `data:${contentType};base64,${arrayBufferToBase64(res.data)}`, header: res.header };
  }

  /** One file as multipart field `name` (wx.uploadFile allows one file per call). */
  function upload(path, { filePath, name = 'file', formData = {}, timeout } = {}) {
    return withAuth((token) => new Promise((resolve, reject) => {
      wx.uploadFile({
        url: root + path,
        filePath,
        name,
        formData,
        header: token ? { Authorization: `Bearer ${token}` } : {},
        timeout: timeout || 60000,
        success: (res) => {
          try {
            resolve(unwrap(res.statusCode, res.data));
          } catch (e) {
            reject(e);
          }
        },
        fail: (err) => {
          const msg = (err && err.errMsg) || '';
          if (/no such file|not found|ENOENT|invalid filePath/i.test(msg)) {
            reject(new ApiError({ code: 'PHOTO_MISSING', status: -1, serverMessage: msg }));
          } else {
            reject(networkError(err));
          }
        },
      });
    }));
  }

  /** The text of a temp file (a download's error body), or '' when this wx cannot read it. */
  function readText(filePath) {
    return new Promise((resolve) => {
      let fs = null;
      try {
        fs = wx.getFileSystemManager && wx.getFileSystemManager();
      } catch (e) { /* no file system here */ }
      if (!fs || typeof fs.readFile !== 'function') {
        resolve('');
        return;
      }
      try {
        fs.readFile({ filePath, encoding: 'utf8', success: (res) => resolve(String(res.data || '')),
          fail: () => resolve('') });
      } catch (e) {
        resolve('');
      }
    });
  }

  /**
   * GET a protected file into a temp file: resolves {tempFilePath, contentType}. Same token, refresh and retry
   * as `request`; a non-2xx answer becomes the same ApiError as a JSON call (read from the body wx saved, or
   * from the status code when it cannot be read).
   */
  function download(path, { query, timeout } = {}) {
    return withAuth((token) => new Promise((resolve, reject) => {
      let received = {};
      const task = wx.downloadFile({
        url: root + path + encodeQuery(query),
        header: token ? { Authorization: `Bearer ${token}` } : {},
        timeout: timeout || 60000,
        success: (res) => {
          const header = res.header || received;
          if (res.statusCode >= 200 && res.statusCode < 300) {
            resolve({ tempFilePath: res.tempFilePath, contentType: headerValue(header, 'content-type').split(';')[0]
              .trim().toLowerCase() });
            return;
          }
          readText(res.tempFilePath).then((text) => {
            let body = null;
            try {
              body = text ? JSON.parse(text) : null;
            } catch (e) { /* not our JSON error shape */ }
            if (body && body.error && body.error.code) unwrap(res.statusCode, body); // throws the server's error
            throw new ApiError({ code: downloadFallbackCode(res.statusCode), status: res.statusCode });
          }).catch(reject);
        },
        fail: (err) => reject(networkError(err)),
      });
      if (task && typeof task.onHeadersReceived === 'function') {
        task.onHeadersReceived((res) => {
          received = (res && res.header) || {};
        });
      }
    }));
  }

  return {
    request,
    get: (path, opts) => request('GET', path, opts),
    post: (path, data, opts) => request('POST', path, Object.assign({}, opts, { data })),
    upload,
    image,
    download,
    loginWithWechat,
    bind,
    devLogin,
    refresh,
    logout: clearAuth,
    session: loadAuth,
    isLoggedIn: () => Boolean(loadAuth() && loadAuth().token),
    onAuthLost: (fn) => listeners.push(fn),
    baseUrl: root,
    wx,
  };
}

module.exports = { createApi, unwrap, arrayBufferToBase64, AUTH_KEY, REFRESH_MARGIN_MS };
