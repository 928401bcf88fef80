/**
 * Every page's WXML rendered with miniprogram-simulate (the official component test tool, under jsdom): the
 * page's own Page() definition (its data and handlers) becomes the rendered component, so setData, the WXML's
 * expressions, wx:if / wx:for and bound taps run for real. The statement page is driven: the tenant's rows,
 * overdue days and totals appear, a tap on a row ticks it and the pay button's total follows.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { JSDOM } = require('jsdom');
const { createWx } = require('./support/wx');
const { loadApp, ROOT } = require('./support/runtime');

const jsdom = new JSDOM('<!doctype html><html><body></body></html>');
global.window = jsdom.window;
global.document = jsdom.window.document;
['Event', 'CustomEvent', 'HTMLElement', 'Node', 'navigator', 'getComputedStyle'].forEach((k) => {
  global[k] = jsdom.window[k];
});
const simulate = require('miniprogram-simulate');

const PAGES = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8')).pages;

function pageDefinition(route) {
  let def = null;
  global.Page = (d) => {
    def = d;
  };
  delete require.cache[path.join(ROOT, `${route}.js`)];
  require(path.join(ROOT, `${route}.js`));
  return def;
}

/** Render a page's WXML with its Page() data and handlers (lifecycle hooks are not run: no network here). */
function render(route, data = {}) {
  const def = pageDefinition(route);
  const methods = {};
  Object.keys(def).forEach((k) => {
    if (typeof def[k] === 'function') methods[k] = def[k];
  });
  const id = simulate.load({
    template: fs.readFileSync(path.join(ROOT, `${route}.wxml`), 'utf8'),
    data: Object.assign(JSON.parse(JSON.stringify(def.data || {})), data),
    methods,
  });
  const comp = simulate.render(id);
  comp.attach(document.createElement('parent-wrapper'));
  return comp;
}

test('every page of app.json renders its WXML with its initial data', () => {
  loadApp(createWx()); // getApp() for the pages' module-level `const app = getApp()`
  for (const route of PAGES) {
    const comp = render(route);
    const html = comp.dom.innerHTML;
    assert.ok(html.startsWith('<wx-'), `${route} rendered nothing: ${html.slice(0, 80)}`);
    assert.doesNotMatch(comp.dom.textContent, /undefined|\[object Object\]|\{\{/, `${route} shows raw values`);
  }
});

const STATEMENT = {
  lease_id: 7, contract_no: 'SZ-2026-007', as_of: '2026-11-12',
  totals: { overdue_fen: 450000, outstanding_fen: 452250, deposit_held_fen: 900000, credit_fen: 0 },
  receivables: [
    { id: 1, charge: 'RENT', label: '10月租金', state: 'PAID', due_date: '2026-10-01', amount_fen: 450000,
      outstanding_fen: 0, paid_at: '2026-09-30T02:00:00+00:00' },
    { id: 2, charge: 'RENT', label: '11月租金', state: 'OVERDUE', due_date: '2026-11-01', amount_fen: 450000,
      outstanding_fen: 450000, paid_at: null, payment_code: 'RW00002C' },
    { id: 3, charge: 'LATE_FEE:2', label: '滞纳金', state: 'DUE', due_date: '2026-11-12', amount_fen: 2250,
      outstanding_fen: 2250, paid_at: null },
  ],
  payments: [{ id: 9, method: 'BANK_TRANSFER', paid_at: '2026-09-30T02:00:00+00:00', amount_fen: 450000 }],
};

test('statement page: the tenant\'s rows, overdue days and totals render; a tap ticks a row and the total follows',
  async () => {
    loadApp(createWx());
    const { statementView } = require('../utils/payments');
    const comp = render('pages/statement/statement', { view: statementView(STATEMENT, [2]) });
    comp.instance.statement = STATEMENT;
    comp.instance.selected = [2];
    const text = () => comp.dom.textContent;
    assert.match(text(), /合同 SZ-2026-007/);
    assert.match(text(), /押金 ¥9,000\.00/);
    assert.match(text(), /已逾期 11 天/);
    assert.match(text(), /2026-09-30 已缴\(银行转账\)/);
    assert.match(text(), /缴费码 RW00002C\(银行转账请填入附言\)/);
    assert.equal(comp.querySelectorAll('.row').length, 3);
    assert.match(text(), /微信支付 ¥4,500\.00/);
    const rows = comp.querySelectorAll('.row');
    rows[2].dispatchEvent('tap'); // the late fee
    await simulate.sleep(0); // events are delivered asynchronously
    assert.match(text(), /微信支付 ¥4,522\.50/);
    assert.deepEqual(comp.instance.data.view.selected_ids, [2, 3]);
    rows[0].dispatchEvent('tap'); // paid: not selectable
    await simulate.sleep(0);
    assert.deepEqual(comp.instance.data.view.selected_ids, [2, 3]);
    assert.equal(comp.querySelectorAll('.tick').length, 2, 'only open rows carry a tick box');
  });
