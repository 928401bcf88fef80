/**
 * The project is valid for WeChat DevTools: project.config.json names the root, app.json lists pages that
 * each have .js/.json/.wxml/.wxss, JSON parses, WXML tags balance, every handler a WXML binds exists on its
 * page, every require() resolves inside the package, and no Node-only API leaks into shipped code.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { createWx } = require('./support/wx');
const { loadApp, ROOT } = require('./support/runtime');

const readJson = (p) => JSON.parse(fs.readFileSync(path.join(ROOT, p), 'utf8'));

function shippedJsFiles() {
  const out = [];
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'tests' && e.name !== 'node_modules') walk(full);
    } else if (e.name.endsWith('.js')) out.push(full);
  });
  walk(ROOT);
  return out;
}

test('project.config.json is valid and roots the project at miniprogram/', () => {
  const cfg = readJson('project.config.json');
  assert.equal(cfg.compileType, 'miniprogram');
  assert.ok(cfg.appid, 'appid (touristappid for a test account)');
  const root = path.resolve(ROOT, cfg.miniprogramRoot || './');
  assert.equal(root, ROOT);
  assert.ok(fs.existsSync(path.join(root, 'app.json')));
  assert.ok(cfg.packOptions.ignore.some((i) => i.type === 'folder' && i.value === 'tests'),
    'the Node tests are not uploaded with the package');
});

test('app.json: every page has .js, .json, .wxml and .wxss; private info declared', () => {
  const app = readJson('app.json');
  assert.ok(app.pages.length >= 9);
  for (const page of app.pages) {
    for (const ext of ['js', 'json', 'wxml', 'wxss']) {
      assert.ok(fs.existsSync(path.join(ROOT, `${page}.${ext}`)), `${page}.${ext} is missing`);
    }
    const json = readJson(`${page}.json`);
    assert.equal(typeof json, 'object');
  }
  assert.deepEqual(app.requiredPrivateInfos, ['getLocation']);
  assert.ok(app.permission['scope.userLocation'].desc);
  assert.ok(fs.existsSync(path.join(ROOT, app.sitemapLocation)));
  for (const f of ['app.js', 'app.wxss', 'config.js']) assert.ok(fs.existsSync(path.join(ROOT, f)), f);
});

test('WXML tags balance and every bound handler exists on its page', () => {
  const app = readJson('app.json');
  const wx = createWx();
  const { loadPage } = loadApp(wx);
  for (const route of app.pages) {
    const wxml = fs.readFileSync(path.join(ROOT, `${route}.wxml`), 'utf8');
    const stack = [];
    const tagRe = /<(\/?)([a-z][\w-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
    let m;
    while ((m = tagRe.exec(wxml))) {
      const [, closing, name, , selfClosing] = m;
      if (selfClosing || ['input', 'image', 'icon', 'import', 'include'].includes(name) && !closing) continue;
      if (closing) assert.equal(stack.pop(), name, `${route}.wxml: </${name}> closes the wrong tag`);
      else stack.push(name);
    }
    assert.deepEqual(stack, [], `${route}.wxml: unclosed tags ${stack}`);
    let def = null;
    global.Page = (d) => {
      def = d;
    };
    delete require.cache[path.join(ROOT, `${route}.js`)];
    require(path.join(ROOT, `${route}.js`));
    assert.ok(def, `${route}.js calls Page()`);
    const handlers = [...wxml.matchAll(/\b(?:bind|catch)[a-z]+="([A-Za-z_]\w*)"/g)].map((x) => x[1]);
    for (const h of handlers) assert.equal(typeof def[h], 'function', `${route}: handler ${h} is not defined`);
  }
  assert.equal(typeof loadPage, 'function');
});

test('shipped code only requires files inside the package, uses no Node-only or too-new APIs', () => {
  for (const file of shippedJsFiles()) {
    const src = fs.readFileSync(file, 'utf8');
    for (const [, spec] of src.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      assert.ok(spec.startsWith('.'), `${path.relative(ROOT, file)} requires ${spec} (not a relative path)`);
      const target = path.resolve(path.dirname(file), spec.endsWith('.js') ? spec : `${spec}.js`);
      assert.ok(target.startsWith(ROOT) && fs.existsSync(target), `${path.relative(ROOT, file)}: ${spec}`);
    }
    assert.doesNotMatch(src, /\bprocess\.|\bBuffer\.|require\(['"]node:/, `${path.relative(ROOT, file)} uses Node APIs`);
    // Older WeChat JS engines (iOS < 12) lack these and DevTools' compile does not polyfill all of them.
    assert.doesNotMatch(src, /\.flatMap\(|\.finally\(|\.padStart\(|Object\.fromEntries|\?\.[a-zA-Z_(\[]|\?\?/,
      `${path.relative(ROOT, file)} uses an API old WeChat clients lack`);
  }
});

test('app.js takes the sticker link from the launch option q (scan with WeChat\'s own scanner)', () => {
  const url = 'https://rw.example.cn/u/SZ-NS-A-1101?v=1&s=0123456789abcdef';
  const wx = createWx();
  const { app, loadPage } = loadApp(wx, { path: 'pages/scan/scan', scene: 1011,
    query: { q: encodeURIComponent(url), scancode_time: '1763800000' } });
  assert.equal(app.globalData.pendingSticker.unitCode, 'SZ-NS-A-1101');
  assert.equal(app.globalData.pendingSticker.qr, url);
  // The same scan seen again by onShow is not taken twice.
  app.onShow({ query: { q: encodeURIComponent(url), scancode_time: '1763800000' } });
  assert.equal(app.takePendingSticker().qr, url);
  assert.equal(app.takePendingSticker(), null);
  // Not logged in: the scan page keeps the sticker and sends the user to log in first.
  app.globalData.pendingSticker = { qr: url, unitCode: 'SZ-NS-A-1101' };
  const nav = [];
  wx.redirectTo = ({ url: to }) => nav.push(to);
  const page = loadPage('pages/scan/scan', {});
  assert.equal(page.data.view, null);
  assert.deepEqual(nav, ['/pages/login/login']);
  assert.equal(app.globalData.pendingSticker.unitCode, 'SZ-NS-A-1101');
});
