/**
 * A fake WeChat Pay API v3 on loopback for the Node tests (the Python side has tests/support/fake_wechatpay.py):
 * platform and merchant RSA keys generated here, the merchant's Authorization verified on every request, every
 * answer signed with the platform key (the server's wechatpayv3 client verifies it). `payAndNotify` is the
 * tenant confirming in WeChat: the order becomes SUCCESS and the signed, AES-256-GCM encrypted notification is
 * POSTed to the server's notify path. `env()` is what the server needs (RW_WECHATPAY_*).
 */
const crypto = require('node:crypto');
const http = require('node:http');

function startFakeWechatPay({ appid = 'wx-dev-appid', mchid = '1900000109' } = {}) {
  const platform = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const merchant = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serial = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
  const publicKeyId = 'PUB_KEY_ID_0119000001092026110200998877';
  const apiv3Key = crypto.randomBytes(16).toString('hex');
  const orders = new Map();
  const refused = [];
  let txn = 0;

  const sign = (key, text) => crypto.sign('RSA-SHA256', Buffer.from(text), key).toString('base64');
  function signedHeaders(body) {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = crypto.randomBytes(16).toString('hex');
    return { 'Wechatpay-Timestamp': ts, 'Wechatpay-Nonce': nonce, 'Wechatpay-Serial': publicKeyId,
      'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
      'Wechatpay-Signature': sign(platform.privateKey, `${ts}\n${nonce}\n${body}\n`) };
  }
  function merchantSigned(method, path, body, auth) {
    const m = /^WECHATPAY2-SHA256-RSA2048 (.+)$/.exec(auth || '');
    if (!m) return false;
    const parts = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (parts.mchid !== mchid || parts.serial_no !== serial) return false;
    const text = `${method}\n${path}\n${parts.timestamp}\n${parts.nonce_str}\n${body}\n`;
    return crypto.verify('RSA-SHA256', Buffer.from(text), merchant.publicKey, Buffer.from(parts.signature, 'base64'));
  }
  function transaction(o) {
    const t = { appid: o.appid, mchid: o.mchid, out_trade_no: o.out_trade_no, trade_state: o.state,
      payer: { openid: o.openid }, amount: { total: o.amount, currency: 'CNY', payer_total: o.amount } };
    if (o.state === 'SUCCESS') Object.assign(t, { transaction_id: o.transaction_id, success_time: o.success_time });
    return t;
  }
  function handle(method, path, raw, auth) {
    if (!merchantSigned(method, path, raw, auth)) {
      refused.push(path);
      return [401, { code: 'SIGN_ERROR', message: '签名错误' }];
    }
    const url = new URL(path, 'http://x');
    if (method === 'POST' && url.pathname === '/v3/pay/transactions/jsapi') {
      const b = JSON.parse(raw || '{}');
      if (b.appid !== appid || b.mchid !== mchid || !b.payer || !b.payer.openid || !b.amount
        || !Number.isInteger(b.amount.total) || b.amount.total <= 0) {
        return [400, { code: 'PARAM_ERROR', message: 'bad order' }];
      }
      const known = orders.get(b.out_trade_no);
      if (known) return [200, { prepay_id: known.prepay_id }];
      const o = { out_trade_no: b.out_trade_no, appid, mchid, amount: b.amount.total, openid: b.payer.openid,
        notify_url: b.notify_url, prepay_id: `wx${crypto.randomBytes(14).toString('hex')}`, state: 'NOTPAY' };
      orders.set(o.out_trade_no, o);
      return [200, { prepay_id: o.prepay_id }];
    }
    const q = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)(\/close)?$/.exec(url.pathname);
    if (q && orders.has(q[1])) {
      const o = orders.get(q[1]);
      if (q[2]) {
        if (o.state === 'SUCCESS') return [400, { code: 'ORDERPAID', message: '订单已支付' }];
        o.state = 'CLOSED';
        return [204, null];
      }
      return [200, transaction(o)];
    }
    return [404, { code: 'NOT_FOUND', message: `fake has no ${method} ${url.pathname}` }];
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [status, payload] = handle(req.method, req.url, raw, req.headers.authorization);
      const body = payload === null ? '' : JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', ...signedHeaders(body) });
      res.end(body);
    });
  });

  /** What WeChat checks inside wx.requestPayment: the merchant's RSA signature over the four lines. */
  function verifyPaySign(p) {
    const text = `${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`;
    return p.signType === 'RSA'
      && crypto.verify('RSA-SHA256', Buffer.from(text), merchant.publicKey, Buffer.from(p.paySign, 'base64'));
  }

  /** The tenant pays the order behind `prepay_id=…`; the notification goes to `serverBase` + notify path. */
  async function payAndNotify(pkg, serverBase) {
    const prepay = String(pkg).replace(/^prepay_id=/, '');
    const o = [...orders.values()].find((x) => x.prepay_id === prepay);
    if (!o) throw new Error(`no order with ${pkg}`);
    txn += 1;
    Object.assign(o, { state: 'SUCCESS', transaction_id: `42000020261102${String(txn).padStart(14, '0')}`,
      success_time: new Date().toISOString().replace(/\.\d+Z$/, '+00:00') });
    const nonce = crypto.randomBytes(6).toString('hex');
    const cipher = crypto.createCipheriv('aes-256-gcm', Buffer.from(apiv3Key), Buffer.from(nonce));
    cipher.setAAD(Buffer.from('transaction'));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(transaction(o))), cipher.final(), cipher.getAuthTag()]);
    const body = JSON.stringify({ id: crypto.randomUUID(), event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource', summary: '支付成功',
      resource: { algorithm: 'AEAD_AES_256_GCM', original_type: 'transaction', associated_data: 'transaction',
        nonce, ciphertext: sealed.toString('base64') } });
    const res = await fetch(serverBase + new URL(o.notify_url).pathname, {
      method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders(body) }, body });
    return { status: res.status, order: o };
  }

  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const base = `http://127.0.0.1:${server.address().port}`;
      resolve({
        base, orders, refused, verifyPaySign, payAndNotify,
        env: () => ({
          RW_WECHATPAY_MCHID: mchid, RW_WECHATPAY_APPID: appid, RW_WECHATPAY_CERT_SERIAL_NO: serial,
          RW_WECHATPAY_PRIVATE_KEY: merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }),
          RW_WECHATPAY_APIV3_KEY: apiv3Key,
          RW_WECHATPAY_PUBLIC_KEY: platform.publicKey.export({ type: 'spki', format: 'pem' }),
          RW_WECHATPAY_PUBLIC_KEY_ID: publicKeyId, RW_WECHATPAY_API_BASE: base,
        }),
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

module.exports = { startFakeWechatPay };
