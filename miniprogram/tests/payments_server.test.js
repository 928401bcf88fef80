/**
 * Paying rent from the statement page against the REAL server, whose wechatpayv3 client talks to a fake WeChat
 * Pay on loopback (tests/support/wechatpay.js): the tenant binds WeChat with the manager's code, opens the
 * statement from a deep link, pays; the server's order is verified by the fake (merchant signature), the
 * paySign by the fake's merchant public key, and the fake's signed, encrypted notification marks it paid.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, httpJson, devLogin } = require('./support/server');
const { startFakeWechatPay } = require('./support/wechatpay');
const { bootApp } = require('./support/session');

let server;
let pay;

test.before(async () => {
  pay = await startFakeWechatPay();
  server = await startServer({ extraEnv: pay.env() });
});

test.after(async () => {
  if (server) await server.stop();
  if (pay) await pay.close();
});

test('tenant: statement page → WeChat Pay → the notification marks the receivable paid', async () => {
  const manager = server.users.MANAGER.find((u) => u.name === '深圳区域经理');
  const staff = await devLogin(server.baseUrl, manager.id);
  const leases = await httpJson(server.baseUrl, 'GET', '/api/v1/leases?page_size=100', null, staff.token);
  let lease = null;
  let receivable = null;
  for (const candidate of leases.items.filter((l) => ['SIGNED', 'ACTIVE'].includes(l.status))) {
    // eslint-disable-next-line no-await-in-loop
    const st = await httpJson(server.baseUrl, 'GET', `/api/v1/leases/${candidate.id}/statement`, null, staff.token);
    receivable = st.receivables.find((r) => ['DUE', 'OVERDUE'].includes(r.state) && r.outstanding_fen > 0);
    if (receivable) {
      lease = candidate;
      break;
    }
  }
  assert.ok(receivable, 'a demo lease of the Shenzhen manager with something due');
  const code = (await httpJson(server.baseUrl, 'POST', `/api/v1/leases/${lease.id}/tenant-code`, {},
    staff.token)).binding_code;

  const tenant = bootApp(server, { openid: 'openid-pay-tenant' });
  const first = await tenant.app.api.loginWithWechat();
  assert.equal(first.bound, false);
  await tenant.app.api.bind(code);

  const requested = [];
  tenant.wx.requestPayment = (options) => {
    requested.push(options);
    if (requested.length === 1) {
      options.fail({ errMsg: 'requestPayment:fail cancel' }); // the tenant closes the payment sheet
      return;
    }
    assert.ok(pay.verifyPaySign({ appId: 'wx-dev-appid', ...options }), 'WeChat accepts the paySign');
    pay.payAndNotify(options.package, server.baseUrl).then((delivered) => {
      assert.equal(delivered.status, 204);
      options.success({ errMsg: 'requestPayment:ok' });
    }, options.fail);
  };
  const page = tenant.loadPage('pages/statement/statement',
    { lease_id: String(lease.id), receivable_id: String(receivable.id) });
  await page.ready;
  assert.equal(page.data.error, '');
  assert.deepEqual(page.data.view.selected_ids, [receivable.id]);
  await page.onPay();
  assert.equal(page.data.notice, '已取消支付');
  assert.equal([...pay.orders.values()][0].state, 'NOTPAY');
  await page.onPay(); // again: the same order is reused
  assert.equal(page.data.error, '');
  assert.equal(page.data.notice, '支付成功');
  assert.equal(requested.length, 2);
  assert.equal(requested[0].package, requested[1].package);
  assert.equal(pay.orders.size, 1);
  const [order] = [...pay.orders.values()];
  assert.equal(order.amount, receivable.outstanding_fen, 'the amount came from the server');
  assert.equal(order.openid, 'openid-pay-tenant');
  const row = page.data.view.rows.find((r) => r.id === receivable.id);
  assert.equal(row.state, 'PAID');
  assert.equal(row.paid_method, '微信支付');
  assert.deepEqual(pay.refused, [], 'every request carried a valid merchant signature');

  // nobody else's: a deep link to another tenant's lease shows the tenant's own statement, the API answers 404
  const other = leases.items.find((l) => l.tenant_id !== lease.tenant_id);
  assert.ok(other, 'another tenant\'s lease in the demo');
  const foreign = tenant.loadPage('pages/statement/statement', { lease_id: String(other.id) });
  await foreign.ready;
  assert.equal(foreign.data.view.lease_id, lease.id);
  assert.ok(foreign.data.leases.every((l) => l.tenant_id === lease.tenant_id));
  const refused = await tenant.app.api.get(`/api/v1/me/leases/${other.id}/statement`).catch((e) => e);
  assert.equal(refused.status, 404);
  const theirs = await httpJson(server.baseUrl, 'GET', `/api/v1/leases/${other.id}/statement`, null, staff.token);
  const foreignOrder = await tenant.app.api.post('/api/v1/me/payments/orders',
    { receivable_ids: [theirs.receivables[0].id] }).catch((e) => e);
  assert.equal(foreignOrder.status, 404, 'another tenant\'s receivable cannot be put in an order');
  assert.equal(pay.orders.size, 1);
});
