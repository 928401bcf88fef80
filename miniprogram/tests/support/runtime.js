/**
 * Loads the real app.js and page scripts in Node with the mini program's globals (App, Page, getApp,
 * getCurrentPages, wx) so tests can drive page logic: a page instance gets data, setData, route, and the
 * methods from its Page({...}) definition. Each call to loadApp starts from a fresh module cache (a "new
 * process"), which is how an app kill + restart is simulated together with a PersistentStore.
 */
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

function freshRequire(file) {
  Object.keys(require.cache).forEach((k) => {
    if (k.startsWith(ROOT) && !k.includes(`${path.sep}tests${path.sep}`)) delete require.cache[k];
  });
  return require(file);
}

function loadApp(wx, launchOptions = { path: 'pages/index/index', query: {}, scene: 1001 }) {
  let appDef = null;
  const stack = [];
  const navigations = [];
  global.wx = wx;
  global.App = (def) => {
    appDef = def;
  };
  global.getApp = () => appDef;
  global.getCurrentPages = () => stack.slice();
  const nav = (kind) => ({ url }) => navigations.push({ kind, url });
  wx.navigateTo = wx.navigateTo || nav('navigateTo');
  wx.redirectTo = wx.redirectTo || nav('redirectTo');
  wx.reLaunch = wx.reLaunch || nav('reLaunch');
  wx.showToast = wx.showToast || (() => {});
  wx.showModal = wx.showModal || (({ success }) => success && success({ confirm: true }));
  wx.stopPullDownRefresh = wx.stopPullDownRefresh || (() => {});
  Object.keys(require.cache).forEach((k) => {
    if (k.startsWith(ROOT) && !k.includes(`${path.sep}tests${path.sep}`)) delete require.cache[k];
  });
  require(path.join(ROOT, 'app.js'));
  appDef.onLaunch(launchOptions);

  function loadPage(route, query = {}) {
    let def = null;
    global.wx = wx;
    global.getApp = () => appDef;
    global.getCurrentPages = () => stack.slice();
    global.Page = (d) => {
      def = d;
    };
    const file = path.join(ROOT, `${route}.js`);
    delete require.cache[file];
    require(file);
    const page = Object.assign({}, def, {
      route,
      data: JSON.parse(JSON.stringify(def.data || {})),
      setData(patch) {
        Object.keys(patch).forEach((k) => {
          this.data[k] = patch[k];
        });
      },
    });
    Object.keys(def).forEach((k) => {
      if (typeof def[k] === 'function') page[k] = def[k].bind(page);
    });
    stack.push(page);
    const loading = page.onLoad ? page.onLoad(query) : undefined;
    const showing = page.onShow ? page.onShow() : undefined;
    page.ready = Promise.all([loading, showing]);
    return page;
  }

  return { app: appDef, loadPage, navigations, stack };
}

module.exports = { ROOT, loadApp, freshRequire };
