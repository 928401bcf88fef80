/**
 * A small `wx` stand-in for Node tests. It is NOT a mock of our code: wx.request, wx.uploadFile and
 * wx.downloadFile are real HTTP requests to the real server (a download's body, error answers included, is
 * written to a temp file as WeChat does); wx.openDocument / wx.previewImage record what they were asked to
 * show (__log.documents, __log.previews); storage is an in-memory store with wx's limits (1 MB per key, 10 MB in
 * total) whose contents can be carried over a simulated app kill; files are real files in a temp directory.
 *
 *   const store = new PersistentStore();
 *   const wx = createWx({ store, loginCode: () => fakeWechat.issueCode(openid) });
 *   ...
 *   wx.__kill();                         // the app process dies: callbacks never fire, writes are lost
 *   const wx2 = createWx({ store });     // the app starts again with what storage had persisted
 *
 * Kill points for "the app was killed mid-sync":
 *   hooks.beforeSend(req)  → return 'kill' to die before the request leaves the phone,
 *   hooks.afterResponse(req, res) → return 'kill' to die after the server answered, before JS saw it,
 *   wx.__killAfterWrites(n) → die on the (n+1)-th storage write from now (inside the JS that handles a result).
 */

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const KEY_LIMIT = 1024 * 1024;
const TOTAL_LIMIT_KB = 10 * 1024;

class AppKilled extends Error {
  constructor() {
    super('the app was killed');
    this.name = 'AppKilled';
  }
}

/** What survives an app kill: key → JSON text, as the phone's storage holds it. */
class PersistentStore {
  constructor(entries) {
    this.map = new Map(entries || []);
  }

  snapshot() {
    return new PersistentStore(this.map);
  }

  bytes(key, text) {
    return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(text, 'utf8');
  }

  totalBytes() {
    let total = 0;
    for (const [k, v] of this.map) total += this.bytes(k, v);
    return total;
  }
}

// Temp directories made by stand-ins (camera files, user data) are removed when the test process exits.
const createdDirs = new Set();
process.on('exit', () => createdDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function utf8Size(text) {
  return Buffer.byteLength(text, 'utf8');
}

function later(fn) {
  setImmediate(fn);
}

function createWx({ store = new PersistentStore(), loginCode = null, tmpDir = null, userDataDir = null,
  hooks = {}, online = true } = {}) {
  let dead = false;
  let writesLeft = Infinity;
  let networkOnline = online;
  const networkListeners = [];
  const base = tmpDir || fs.mkdtempSync(path.join(os.tmpdir(), 'rw-wx-'));
  createdDirs.add(base);
  const userData = userDataDir || path.join(base, 'usr');
  fs.mkdirSync(userData, { recursive: true });
  let location = null;
  let scanResult = null;
  let mediaQueue = [];
  const log = { requests: [], uploads: [], downloads: [], documents: [], previews: [], logins: 0, sequence: [] };

  function alive(cb) {
    return (...args) => {
      if (!dead && cb) cb(...args);
    };
  }

  function write(key, value) {
    if (dead) throw new AppKilled();
    if (writesLeft <= 0) {
      dead = true;
      throw new AppKilled();
    }
    writesLeft -= 1;
    if (value === undefined) throw new Error('setStorageSync:fail parameter data undefined');
    const text = JSON.stringify(value);
    if (utf8Size(text) > KEY_LIMIT) throw new Error('setStorageSync:fail exceed storage item max length');
    const old = store.map.get(key);
    const total = store.totalBytes() - (old === undefined ? 0 : store.bytes(key, old)) + store.bytes(key, text);
    if (total > TOTAL_LIMIT_KB * 1024) throw new Error('setStorageSync:fail exceed storage max size 10MB');
    store.map.set(key, text);
  }

  function failNetwork(fail, name) {
    later(alive(() => fail && fail({ errMsg: `${name}:fail net::ERR_INTERNET_DISCONNECTED` })));
  }

  function send({ url, method, headers, body, name, success, fail, timeout }) {
    const req = { url, method, headers, body, name };
    log.sequence.push(`${name} ${method} ${new URL(url).pathname}`);
    if (hooks.beforeSend && hooks.beforeSend(req) === 'kill') {
      dead = true;
      return;
    }
    const target = new URL(url);
    const r = http.request({ hostname: target.hostname, port: target.port, path: target.pathname + target.search,
      method, headers, timeout: timeout || 60000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        const answer = { statusCode: res.statusCode, header: res.headers, text, bytes };
        if (hooks.afterResponse && hooks.afterResponse(req, answer) === 'kill') {
          dead = true;
          return;
        }
        if (!dead) success(answer);
      });
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', (e) => alive(fail)({ errMsg: `${name}:fail ${/timeout/.test(e.message) ? 'timeout' : e.message}` }));
    if (body) r.write(body);
    r.end();
  }

  const wx = {
    // ----- storage -----
    getStorageSync(key) {
      if (!store.map.has(key)) return '';
      return JSON.parse(store.map.get(key));
    },
    setStorageSync: write,
    removeStorageSync(key) {
      if (dead) throw new AppKilled();
      store.map.delete(key);
    },
    clearStorageSync() {
      if (dead) throw new AppKilled();
      store.map.clear();
    },
    getStorageInfoSync() {
      return { keys: [...store.map.keys()], currentSize: Math.ceil(store.totalBytes() / 1024),
        limitSize: TOTAL_LIMIT_KB };
    },

    // ----- network -----
    request({ url, method = 'GET', data, header = {}, timeout, responseType, success, fail }) {
      log.requests.push({ url, method });
      if (!networkOnline) return failNetwork(fail, 'request');
      let body = null;
      let fullUrl = url;
      const headers = Object.assign({}, header);
      if (method === 'GET' && data && typeof data === 'object') {
        const q = new URLSearchParams(data).toString();
        if (q) fullUrl += (url.includes('?') ? '&' : '?') + q;
      } else if (data !== undefined && data !== null) {
        body = typeof data === 'string' ? data : JSON.stringify(data);
        headers['content-type'] = headers['content-type'] || 'application/json';
      }
      if (body) headers['content-length'] = Buffer.byteLength(body);
      return send({ url: fullUrl, method, headers, body, name: 'request', timeout, fail,
        success: ({ statusCode, header: h, text, bytes }) => {
          if (responseType === 'arraybuffer') {
            const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
            success && success({ statusCode, data: ab, header: h });
            return;
          }
          let parsed = text;
          try {
            parsed = JSON.parse(text);
          } catch (e) { /* wx leaves non-JSON text as a string */ }
          success && success({ statusCode, data: parsed, header: h });
        } });
    },
    uploadFile({ url, filePath, name, formData = {}, header = {}, timeout, success, fail }) {
      log.uploads.push({ url, filePath, formData });
      if (!networkOnline) return failNetwork(fail, 'uploadFile');
      let bytes;
      try {
        bytes = fs.readFileSync(filePath);
      } catch (e) {
        later(alive(() => fail && fail({ errMsg: `uploadFile:fail file not found ${filePath}` })));
        return undefined;
      }
      const boundary = `----wxstandin${crypto.randomBytes(8).toString('hex')}`;
      const parts = [];
      Object.keys(formData).forEach((k) => {
        parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${formData[k]}\r\n`));
      });
      const type = /\.png$/i.test(filePath) ? 'image/png' : 'image/jpeg';
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; `
        + `filename="${path.basename(filePath)}"\r\nContent-Type: ${type}\r\n\r\n`));
      parts.push(bytes);
      parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
      const body = Buffer.concat(parts);
      const headers = Object.assign({}, header, { 'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': body.length });
      return send({ url, method: 'POST', headers, body, name: 'uploadFile', timeout, fail,
        success: ({ statusCode, header: h, text }) => success && success({ statusCode, data: text, header: h }) });
    },
    downloadFile({ url, header = {}, timeout, success, fail }) {
      log.downloads.push({ url, header });
      if (!networkOnline) return failNetwork(fail, 'downloadFile');
      send({ url, method: 'GET', headers: Object.assign({}, header), body: null, name: 'downloadFile', timeout, fail,
        success: ({ statusCode, header: h, bytes }) => {
          const type = String(h['content-type'] || '').split(';')[0].trim();
          const ext = { 'application/pdf': '.pdf', 'image/jpeg': '.jpg', 'image/png': '.png',
            'application/json': '.json' }[type] || '';
          const tempFilePath = path.join(base, `tmp_${crypto.randomBytes(8).toString('hex')}${ext}`);
          fs.writeFileSync(tempFilePath, bytes);
          success && success({ statusCode, tempFilePath, header: h, dataLength: bytes.length,
            errMsg: 'downloadFile:ok' });
        } });
      return { abort() {}, onProgressUpdate() {}, onHeadersReceived() {} };
    },
    openDocument({ filePath, fileType, showMenu, success, fail }) {
      log.documents.push({ filePath, fileType, showMenu });
      later(alive(() => (fs.existsSync(filePath) ? success && success({ errMsg: 'openDocument:ok' })
        : fail && fail({ errMsg: `openDocument:fail file not found ${filePath}` }))));
    },
    previewImage({ urls, current, success }) {
      log.previews.push({ urls, current });
      later(alive(() => success && success({ errMsg: 'previewImage:ok' })));
    },
    onNetworkStatusChange(cb) {
      networkListeners.push(cb);
    },
    offNetworkStatusChange(cb) {
      const i = networkListeners.indexOf(cb);
      if (i >= 0) networkListeners.splice(i, 1);
    },
    getNetworkType({ success }) {
      later(alive(() => success && success({ networkType: networkOnline ? 'wifi' : 'none' })));
    },

    // ----- login, location, camera, scanner -----
    login({ success, fail }) {
      log.logins += 1;
      if (!networkOnline || !loginCode) return failNetwork(fail, 'login');
      const code = loginCode();
      later(alive(() => success && success({ code, errMsg: 'login:ok' })));
      return undefined;
    },
    getLocation({ type = 'wgs84', success, fail }) {
      later(alive(() => {
        if (!location) return fail && fail({ errMsg: 'getLocation:fail auth deny' });
        return success && success(Object.assign({ speed: 0, altitude: 0, verticalAccuracy: 0 }, location,
          { horizontalAccuracy: location.accuracy, type }));
      }));
    },
    scanCode({ success, fail }) {
      later(alive(() => (scanResult ? success && success(Object.assign({ scanType: 'QR_CODE', charSet: 'utf-8' },
        scanResult)) : fail && fail({ errMsg: 'scanCode:fail cancel' }))));
    },
    chooseMedia({ success, fail }) {
      const files = mediaQueue;
      mediaQueue = [];
      later(alive(() => (files.length ? success && success({ tempFiles: files, type: 'image' })
        : fail && fail({ errMsg: 'chooseMedia:fail cancel' }))));
    },
    getFileSystemManager() {
      return {
        saveFile({ tempFilePath, success, fail }) {
          try {
            const dest = path.join(userData, `${crypto.randomBytes(6).toString('hex')}${path.extname(tempFilePath)}`);
            fs.copyFileSync(tempFilePath, dest);
            later(alive(() => success && success({ savedFilePath: dest })));
          } catch (e) {
            later(alive(() => fail && fail({ errMsg: `saveFile:fail ${e.message}` })));
          }
        },
        removeSavedFile({ filePath, success }) {
          fs.rm(filePath, { force: true }, () => success && success({}));
        },
        unlinkSync(p) {
          fs.rmSync(p, { force: true });
        },
        readFile({ filePath, encoding, success, fail }) {
          fs.readFile(filePath, alive((err, bytes) => (err ? fail && fail({ errMsg: `readFile:fail ${err.message}` })
            : success && success({ data: encoding ? bytes.toString(encoding) : bytes }))));
        },
      };
    },

    // ----- test controls (not part of wx) -----
    __log: log,
    __hooks: hooks,
    __setNetwork(isConnected) {
      networkOnline = isConnected;
      networkListeners.slice().forEach((cb) => cb({ isConnected, networkType: isConnected ? 'wifi' : 'none' }));
    },
    __setLocation(fix) {
      location = fix;
    },
    __setScanResult(result) {
      scanResult = result;
    },
    __queueMedia(files) {
      mediaQueue = files.map((f) => ({ tempFilePath: f, size: fs.statSync(f).size, fileType: 'image' }));
    },
    __kill() {
      dead = true;
      return store.snapshot();
    },
    __killAfterWrites(n) {
      writesLeft = n;
    },
    get __dead() {
      return dead;
    },
    __tmpDir: base,
    __cleanup() {
      if (!tmpDir) fs.rmSync(base, { recursive: true, force: true });
    },
    __userDataDir: userData,
  };
  return wx;
}

module.exports = { createWx, PersistentStore, AppKilled };
