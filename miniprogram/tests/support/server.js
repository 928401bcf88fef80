/**
 * Starts the REAL rentwatch server for the Node tests: a fresh var dir (SQLite), `rentwatch migrate`,
 * `rentwatch demo-seed`, then `rentwatch serve` with dev login, free ports for HTTP and the embedded MQTT
 * broker, known secrets, and WeChat pointed at a tiny fake WeChat server written here in Node (so
 * wx.login → POST /auth/wechat/login → wechatpy code2Session runs end to end).
 *
 * The server runs in its own process group and is killed at the end — also when a test fails or the test
 * process exits early.
 *
 * The rentwatch executable: $RENTWATCH_BIN, else `rentwatch` on PATH (scripts/test.sh prepends the venv),
 * else ../.venv/bin/rentwatch relative to miniprogram/.
 */

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const MINIPROGRAM_DIR = path.resolve(__dirname, '..', '..');
const JWT_SECRET = 'node-tests-jwt-secret-0123456789abcdef';
const QR_SECRET = 'node-tests-qr-secret-0123456789abcdef';
const QR_BASE_URL = 'https://rw.example.cn';

function findRentwatch() {
  if (process.env.RENTWATCH_BIN && fs.existsSync(process.env.RENTWATCH_BIN)) return process.env.RENTWATCH_BIN;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, 'rentwatch');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch (e) { /* keep looking */ }
  }
  const venv = path.resolve(MINIPROGRAM_DIR, '..', '.venv', 'bin', 'rentwatch');
  if (fs.existsSync(venv)) return venv;
  throw new Error('cannot find the rentwatch executable: set RENTWATCH_BIN or run through scripts/test.sh');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * A fake WeChat API on loopback: /cgi-bin/token and /sns/jscode2session. Codes are issued by the test
 * (`issueCode(openid)`), valid once; a reused code answers 40163 and an unknown one 40029, like WeChat.
 */
function startFakeWechat() {
  const codes = new Map();
  const used = new Set();
  let counter = 0;
  const calls = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    calls.push(url.pathname);
    res.setHeader('content-type', 'application/json');
    if (url.pathname.endsWith('/cgi-bin/token')) {
      res.end(JSON.stringify({ access_token: `fake-token-${Date.now()}`, expires_in: 7200 }));
      return;
    }
    if (url.pathname.endsWith('/sns/jscode2session')) {
      const code = url.searchParams.get('js_code');
      if (used.has(code)) {
        res.end(JSON.stringify({ errcode: 40163, errmsg: 'code been used' }));
        return;
      }
      const openid = codes.get(code);
      if (!openid) {
        res.end(JSON.stringify({ errcode: 40029, errmsg: 'invalid code' }));
        return;
      }
      used.add(code);
      res.end(JSON.stringify({ openid, session_key: crypto.randomBytes(16).toString('base64') }));
      return;
    }
    res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' }));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        base: `http://127.0.0.1:${server.address().port}/`,
        issueCode(openid) {
          counter += 1;
          const code = `wxcode-${counter}-${crypto.randomBytes(4).toString('hex')}`;
          codes.set(code, openid);
          return code;
        },
        calls,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

/**
 * Wait for GET /api/v1/health. Ready when it answers 200. The mini program needs the HTTP API and the database,
 * not the MQTT broker: if the API keeps answering "degraded" with a working database (the background process
 * with the embedded broker did not come up — see serve.log), the tests go on after a grace period and say so
 * loudly on stderr rather than fail on another domain's background service.
 */
async function waitForHealth(baseUrl, child, logPath, timeoutMs = 90000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let degradedPolls = 0;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`rentwatch serve exited with ${child.exitCode}`);
    try {
      // eslint-disable-next-line no-await-in-loop
      const res = await fetch(`${baseUrl}/api/v1/health`);
      const text = await res.text(); // eslint-disable-line no-await-in-loop
      last = `${res.status} ${text}`;
      if (res.status === 200) return;
      const body = JSON.parse(text);
      if (body.database && body.database.ok) degradedPolls += 1;
      if (degradedPolls >= 80) {
        process.stderr.write(`\n!!!!!!!! mini program tests: the server is DEGRADED (${text}); the API and database `
          + `work, so the tests go on. See ${logPath} !!!!!!!!\n`);
        return;
      }
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 250)); // eslint-disable-line no-await-in-loop
  }
  throw new Error(`server did not become healthy: ${last}`);
}

/** HS256 JWT signed with the test server's secret (to present an expired or soon-expiring token). */
function signJwt(claims) {
  const enc = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const head = enc({ alg: 'HS256', typ: 'JWT' });
  const body = enc(claims);
  const sig = crypto.createHmac('sha256', JWT_SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** A sticker URL as printed on the unit (same HMAC as inspections/qr.py). */
function stickerUrl(unitCode, version = 1) {
  const sig = crypto.createHmac('sha256', QR_SECRET).update(`${unitCode}:${version}`).digest('hex').slice(0, 16);
  return `${QR_BASE_URL}/u/${encodeURIComponent(unitCode)}?v=${version}&s=${sig}`;
}

const running = new Set();
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch (e) { /* already gone */ }
}
process.on('exit', () => running.forEach((child) => killGroup(child, 'SIGKILL')));
['SIGINT', 'SIGTERM'].forEach((signal) => process.once(signal, () => {
  running.forEach((child) => killGroup(child, 'SIGKILL'));
  process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
}));

async function startServer({ extraEnv = {} } = {}) {
  const bin = findRentwatch();
  const varDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-node-'));
  const wechat = await startFakeWechat();
  const port = await freePort();
  const mqttPort = await freePort();
  const env = Object.assign({}, process.env, {
    RW_VAR_DIR: varDir, RW_DEV_LOGIN: '1', RW_MODE: 'dev', RW_PORT: String(port), RW_HOST: '127.0.0.1',
    RW_EMBEDDED_MQTT_PORT: String(mqttPort), RW_WECHAT_API_BASE: wechat.base, RW_JWT_SECRET: JWT_SECRET,
    RW_QR_SECRET: QR_SECRET, RW_QR_BASE_URL: QR_BASE_URL, RW_LOG_LEVEL: 'WARNING', RW_DATABASE_URL: '',
    RW_MQTT_URL: '', RW_WORKERS: '1', RW_IOT_SIMULATE: '0',
  }, extraEnv);
  delete env.RW_TEST_DATABASE_URL;
  const opts = { cwd: varDir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] };
  let seedOut;
  try {
    // scripts/test.sh migrates one database for the whole run (Tortoise's migration engine takes 10-15 s on a
    // fresh one); each server starts from a copy, and its own `migrate` is then the no-op of a deployed system.
    if (process.env.RW_NODE_MIGRATED_DB) {
      fs.copyFileSync(process.env.RW_NODE_MIGRATED_DB, path.join(varDir, 'rentwatch.sqlite3'));
    }
    execFileSync(bin, ['migrate'], opts);
    seedOut = execFileSync(bin, ['demo-seed'], opts);
  } catch (e) {
    await wechat.close();
    fs.rmSync(varDir, { recursive: true, force: true });
    throw new Error(`rentwatch migrate/demo-seed failed: ${e.message}\n${e.stdout || ''}\n${e.stderr || ''}`);
  }
  const logPath = path.join(varDir, 'serve.log');
  const logFd = fs.openSync(logPath, 'a');
  const child = spawn(bin, ['serve', '--no-migrate'], { cwd: varDir, env, detached: true,
    stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  running.add(child);
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = {
    baseUrl, varDir, wechat, child, seedOut, logPath,
    async stop() {
      running.delete(child);
      if (child.exitCode === null) {
        // SIGTERM to Sanic's main process only: it stops its workers and the background process itself
        // (signalling the whole group at once makes the shutdown hang). SIGKILL the group if it does not.
        const exited = new Promise((r) => child.once('exit', r));
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch (e) { /* already gone */ }
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20000);
        await exited;
        clearTimeout(timer);
      }
      killGroup(child, 'SIGKILL'); // stray processes of the group, if any
      await wechat.close();
      if (!process.env.RW_KEEP_NODE_VAR) fs.rmSync(varDir, { recursive: true, force: true });
    },
    log: () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : ''),
  };
  try {
    await waitForHealth(baseUrl, child, logPath);
    server.users = await loadUsers(baseUrl, seedOut);
  } catch (e) {
    const tail = server.log().split('\n').slice(-40).join('\n');
    await server.stop();
    throw new Error(`${e.message}\n--- server log ---\n${tail}`);
  }
  return server;
}

/** Demo users by role: {ADMIN: [...], INSPECTOR: [...], ...} from /admin/users (as the demo admin). */
async function loadUsers(baseUrl, seedOut) {
  const adminLine = seedOut.split('\n').find((l) => /\bADMIN\b/.test(l));
  if (!adminLine) throw new Error(`demo-seed printed no ADMIN user:\n${seedOut}`);
  const adminId = Number(adminLine.trim().split(/\s+/)[0]);
  const admin = await devLogin(baseUrl, adminId);
  const byRole = {};
  let page = 1;
  for (;;) {
    // eslint-disable-next-line no-await-in-loop
    const data = await httpJson(baseUrl, 'GET', `/api/v1/admin/users?page=${page}&page_size=200`, null, admin.token);
    data.items.forEach((u) => {
      (byRole[u.role] = byRole[u.role] || []).push(u);
    });
    if (page * data.page_size >= data.total) break;
    page += 1;
  }
  byRole.adminToken = admin.token;
  return byRole;
}

async function httpJson(baseUrl, method, p, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(baseUrl + p, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  let data = text;
  try {
    data = JSON.parse(text);
  } catch (e) { /* keep text */ }
  if (res.status >= 400) {
    const err = new Error(`${method} ${p} → ${res.status} ${text}`);
    err.status = res.status;
    err.data = data;
    throw err;
  }
  return data;
}

async function devLogin(baseUrl, userId) {
  return httpJson(baseUrl, 'POST', '/api/v1/auth/dev-login', { user_id: userId });
}

module.exports = {
  startServer, startFakeWechat, findRentwatch, freePort, httpJson, devLogin, signJwt, stickerUrl,
  JWT_SECRET, QR_SECRET, QR_BASE_URL, MINIPROGRAM_DIR,
};
