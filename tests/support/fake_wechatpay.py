"""A small fake of the WeChat Pay API v3 on loopback, for the real ``wechatpayv3`` client to talk to.

It holds a platform RSA key generated in the test and signs every answer with it (Wechatpay-Signature over
timestamp, nonce and body, Wechatpay-Serial = its public key id), so the client's response verification runs
for real; it verifies the merchant's Authorization signature on every request with the merchant's public key,
so our signing runs for real too. Notifications are built as WeChat Pay sends them: the resource encrypted with
the APIv3 key (AEAD_AES_256_GCM), the body signed with the platform key. Scripted per test:
``fake.pay(out_trade_no)`` pays an order (as the tenant would in WeChat), ``fake.notification(...)`` builds the
signed notification of a transaction, ``fake.orders`` is the state."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AUTH = re.compile(r'^WECHATPAY2-SHA256-RSA2048 (.+)$')
CST = timedelta(hours=8)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key: Any, message: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class FakeOrder:
    out_trade_no: str
    appid: str
    mchid: str
    amount: int
    openid: str
    description: str
    notify_url: str
    time_expire: str
    prepay_id: str
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: str = ""
    paid_amount: int = 0
    body: dict = field(default_factory=dict)


class FakeWeChatPay:
    def __init__(self, *, mchid: str = "1900000109", appid: str = "wx-test-appid",
                 merchant_serial: str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1") -> None:
        self.mchid, self.appid, self.merchant_serial = mchid, appid, merchant_serial
        self.platform_key = new_key()
        self.public_key_id = "PUB_KEY_ID_0119000001092026110200112233"
        self.merchant_key = new_key()  # the merchant's API key pair; its private half goes into our settings
        self.apiv3_key = secrets.token_hex(16)  # 32 characters
        self.orders: dict[str, FakeOrder] = {}
        self.requests: list[dict] = []
        self.refused: list[dict] = []
        self.sign_responses = True
        self._lock = threading.Lock()
        self._serial = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                status, payload = fake.handle(method, self.path, raw, self.headers.get("Authorization", ""))
                body = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in fake.signature_headers(body).items():
                    self.send_header(name, value)
                data = body.encode()
                if status != 204:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if status != 204:
                    self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                self._handle("GET")

            def do_POST(self):  # noqa: N802
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------------------------------------ settings

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def settings_overrides(self) -> dict[str, Any]:
        return {"wechatpay_mchid": self.mchid, "wechatpay_appid": self.appid,
                "wechatpay_cert_serial_no": self.merchant_serial,
                "wechatpay_private_key": private_pem(self.merchant_key), "wechatpay_apiv3_key": self.apiv3_key,
                "wechatpay_public_key": public_pem(self.platform_key),
                "wechatpay_public_key_id": self.public_key_id, "wechatpay_api_base": self.base_url}

    def start(self) -> FakeWeChatPay:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------------------------------ signing

    def signature_headers(self, body: str, *, key: rsa.RSAPrivateKey | None = None,
                          timestamp: int | None = None, serial: str | None = None) -> dict[str, str]:
        if not self.sign_responses and key is None:
            return {}
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        signature = rsa_sign(key or self.platform_key, f"{stamp}\n{nonce}\n{body}\n")
        return {"Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce, "Wechatpay-Signature": signature,
                "Wechatpay-Serial": serial or self.public_key_id,
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}

    def merchant_signed(self, method: str, path: str, body: str, authorization: str) -> bool:
        match = AUTH.match(authorization)
        if not match:
            return False
        parts = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if parts.get("mchid") != self.mchid or parts.get("serial_no") != self.merchant_serial:
            return False
        message = f"{method}\n{path}\n{parts.get('timestamp')}\n{parts.get('nonce_str')}\n{body}\n"
        return rsa_verify(self.merchant_key.public_key(), message, parts.get("signature", ""))

    def verify_pay_sign(self, params: dict[str, str]) -> bool:
        """What WeChat checks when the mini program calls wx.requestPayment."""
        message = "\n".join([params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]) + "\n"
        return params.get("signType") == "RSA" and rsa_verify(self.merchant_key.public_key(), message,
                                                              params["paySign"])

    # ------------------------------------------------------------------------------------------ the API

    def handle(self, method: str, path: str, raw: str, authorization: str) -> tuple[int, dict | None]:
        with self._lock:
            self.requests.append({"method": method, "path": path, "body": raw})
        if not self.merchant_signed(method, path, raw, authorization):
            self.refused.append({"method": method, "path": path})
            return 401, {"code": "SIGN_ERROR", "message": "签名错误"}
        url = urlparse(path)
        if method == "POST" and url.path == "/v3/pay/transactions/jsapi":
            return self._jsapi(json.loads(raw or "{}"))
        found = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)(/close)?", url.path)
        if found and method == "GET" and not found.group(2):
            if parse_qs(url.query).get("mchid") != [self.mchid]:
                return 400, {"code": "PARAM_ERROR", "message": "mchid"}
            order = self.orders.get(found.group(1))
            if order is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            return 200, self.transaction(order)
        if found and method == "POST" and found.group(2):
            order = self.orders.get(found.group(1))
            if order is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            if order.state == "SUCCESS":
                return 400, {"code": "ORDERPAID", "message": "订单已支付"}
            order.state = "CLOSED"
            return 204, None
        return 404, {"code": "NOT_FOUND", "message": f"fake has no {method} {url.path}"}

    def _jsapi(self, body: dict) -> tuple[int, dict]:
        required = ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount", "payer")
        missing = [name for name in required if not body.get(name)]
        total = (body.get("amount") or {}).get("total")
        if missing or not isinstance(total, int) or total <= 0 or not (body.get("payer") or {}).get("openid"):
            return 400, {"code": "PARAM_ERROR", "message": f"missing or bad: {missing or 'amount/payer'}"}
        if body["mchid"] != self.mchid or body["appid"] != self.appid:
            return 400, {"code": "APPID_MCHID_NOT_MATCH", "message": "appid和mch_id不匹配"}
        if not re.fullmatch(r"[0-9A-Za-z_\-|*]{6,32}", body["out_trade_no"]):
            return 400, {"code": "PARAM_ERROR", "message": "out_trade_no"}
        existing = self.orders.get(body["out_trade_no"])
        if existing is not None:
            if existing.state == "CLOSED":
                return 400, {"code": "ORDER_CLOSED", "message": "订单已关闭"}
            if existing.state == "SUCCESS":
                return 400, {"code": "ORDERPAID", "message": "订单已支付"}
            if existing.body != body:
                return 400, {"code": "INVALID_REQUEST", "message": "参数与首次请求时不一致"}
            return 200, {"prepay_id": existing.prepay_id}
        order = FakeOrder(out_trade_no=body["out_trade_no"], appid=body["appid"], mchid=body["mchid"], amount=total,
                          openid=body["payer"]["openid"], description=body["description"],
                          notify_url=body["notify_url"], time_expire=body.get("time_expire", ""),
                          prepay_id="wx" + secrets.token_hex(15), body=body)
        self.orders[order.out_trade_no] = order
        return 200, {"prepay_id": order.prepay_id}

    # ------------------------------------------------------------------------------------------ scripting

    def pay(self, out_trade_no: str, *, amount: int | None = None, at: datetime | None = None) -> dict:
        """The tenant pays in WeChat: the order becomes SUCCESS. Returns the transaction resource."""
        order = self.orders[out_trade_no]
        with self._lock:
            self._serial += 1
            order.transaction_id = f"4200002026110{self._serial:019d}"
        order.state = "SUCCESS"
        order.paid_amount = order.amount if amount is None else amount
        order.success_time = ((at or datetime.now(UTC)).astimezone(UTC) + CST).strftime("%Y-%m-%dT%H:%M:%S+08:00")
        return self.transaction(order)

    def transaction(self, order: FakeOrder) -> dict:
        data: dict[str, Any] = {"appid": order.appid, "mchid": order.mchid, "out_trade_no": order.out_trade_no,
                                "trade_state": order.state, "trade_state_desc": order.state,
                                "payer": {"openid": order.openid},
                                "amount": {"total": order.paid_amount or order.amount, "currency": "CNY",
                                           "payer_total": order.paid_amount or order.amount,
                                           "payer_currency": "CNY"}}
        if order.state == "SUCCESS":
            data.update({"transaction_id": order.transaction_id, "trade_type": "JSAPI", "bank_type": "OTHERS",
                         "success_time": order.success_time, "attach": ""})
        return data

    def notification(self, resource: dict, *, timestamp: int, key: rsa.RSAPrivateKey | None = None,
                     apiv3_key: str | None = None, serial: str | None = None) -> tuple[dict[str, str], bytes]:
        """支付成功通知 as WeChat Pay POSTs it: (headers, body)."""
        nonce = secrets.token_hex(6)  # 12 bytes for AES-GCM
        associated = "transaction"
        ciphertext = AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated.encode())
        body = json.dumps({
            "id": secrets.token_hex(18), "create_time": resource.get("success_time", ""),
            "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": associated,
                         "nonce": nonce}}, ensure_ascii=False)
        headers = self.signature_headers(body, key=key or self.platform_key, timestamp=timestamp, serial=serial)
        headers["Content-Type"] = "application/json"
        return headers, body.encode()
