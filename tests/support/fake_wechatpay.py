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
import gzip
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.support.loopback import POLL

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
        self.bill_failures: dict[str, int] = {}  # bill date → how many more applications answer SYSTEM_ERROR
        self.tamper_bills = False  # serve a bill whose content does not match the announced hash
        self.bill_rows_dropped: set[str] = set()  # out_trade_nos left out of the bill (a payment WeChat never saw)
        self._bills: dict[str, bytes] = {}
        self.refunds: dict[str, dict] = {}  # out_refund_no → the refund as WeChat Pay keeps it
        self.transfers: dict[str, dict] = {}  # out_bill_no → the 商家转账 bill as WeChat Pay keeps it
        self.transfer_scenes = {"1005": ("岗位类型", "报酬说明")}  # 转账场景ID → the 报备信息 types it requires
        self.transfer_failures = 0  # how many more transfer requests answer 500 SYSTEM_ERROR
        self.cancel_failures = 0  # how many more 撤销转账 requests answer 500 SYSTEM_ERROR
        #: called in the server's thread with (method, path) before each request is answered: tests look at the
        #: database while our side waits for the answer
        self.on_request: Callable[[str, str], None] | None = None
        self._lock = threading.Lock()
        self._serial = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if fake.on_request is not None:
                    fake.on_request(self.command, self.path)
                status, payload = fake.handle(method, self.path, raw, self.headers.get("Authorization", ""),
                                              serial=self.headers.get("Wechatpay-Serial", ""))
                if isinstance(payload, bytes):  # a bill file: not signed, not JSON (as WeChat Pay serves it)
                    self.send_response(status)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
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
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs=POLL, daemon=True)

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

    def handle(self, method: str, path: str, raw: str, authorization: str, *, serial: str = ""
               ) -> tuple[int, dict | bytes | None]:
        with self._lock:
            self.requests.append({"method": method, "path": path, "body": raw})
        if not self.merchant_signed(method, path, raw, authorization):
            self.refused.append({"method": method, "path": path})
            return 401, {"code": "SIGN_ERROR", "message": "签名错误"}
        url = urlparse(path)
        if method == "POST" and url.path == "/v3/pay/transactions/jsapi":
            return self._jsapi(json.loads(raw or "{}"))
        refund_query = re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", url.path)
        if method == "GET" and refund_query:
            found_refund = self.refunds.get(refund_query.group(1))
            if found_refund is None:
                return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
            return 200, {k: v for k, v in found_refund.items() if k != "notify_url"}
        if method == "POST" and url.path == "/v3/refund/domestic/refunds":
            return self._refund(json.loads(raw or "{}"))
        if url.path.startswith("/v3/fund-app/mch-transfer/transfer-bills"):
            return self._transfers_api(method, url.path, raw, serial)
        if method == "GET" and url.path == "/v3/bill/tradebill":
            return self._tradebill(parse_qs(url.query))
        if method == "GET" and url.path == "/v3/billdownload/file":
            token = parse_qs(url.query).get("token", [""])[0]
            return (200, self._bills[token]) if token in self._bills else (404, {"code": "NOT_FOUND", "message": "x"})
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

    def _refund(self, body: dict) -> tuple[int, dict]:
        """申请退款: to a paid transaction, at most what is left of it; the same out_refund_no is the same refund."""
        no = body.get("out_refund_no", "")
        if no in self.refunds:
            return 200, self.refunds[no]
        order = next((o for o in self.orders.values() if o.transaction_id and
                      o.transaction_id == body.get("transaction_id")), None)
        amount = body.get("amount") or {}
        if order is None or order.state not in ("SUCCESS", "REFUND"):
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
        refunded = sum(r["amount"]["refund"] for r in self.refunds.values()
                       if r["transaction_id"] == order.transaction_id)
        if amount.get("total") != order.paid_amount or not isinstance(amount.get("refund"), int) \
                or not 0 < amount["refund"] <= order.paid_amount - refunded or not body.get("notify_url"):
            return 400, {"code": "INVALID_REQUEST", "message": "退款金额或订单金额不正确"}
        self.refunds[no] = {"refund_id": "5030" + secrets.token_hex(12), "out_refund_no": no,
                            "transaction_id": order.transaction_id, "out_trade_no": order.out_trade_no,
                            "channel": "ORIGINAL", "user_received_account": "支付用户零钱", "status": "PROCESSING",
                            "create_time": datetime.now(UTC).isoformat(), "notify_url": body["notify_url"],
                            "amount": {"total": amount["total"], "refund": amount["refund"],
                                       "payer_total": amount["total"], "payer_refund": amount["refund"],
                                       "currency": "CNY"}}
        order.state = "REFUND"
        return 200, {k: v for k, v in self.refunds[no].items() if k != "notify_url"}

    def _transfers_api(self, method: str, path: str, raw: str, serial: str) -> tuple[int, dict]:
        if method == "POST" and path == "/v3/fund-app/mch-transfer/transfer-bills":
            return self._transfer(json.loads(raw or "{}"), serial)
        query = re.fullmatch(r"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/([^/]+)", path)
        if method == "GET" and query:
            bill = self.transfers.get(query.group(1))
            if bill is None:
                return 404, {"code": "NOT_FOUND", "message": "转账单不存在"}
            return 200, self.transfer_view(bill)
        cancel = re.fullmatch(r"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/([^/]+)/cancel", path)
        if method == "POST" and cancel:
            return self._cancel_transfer(cancel.group(1))
        return 404, {"code": "NOT_FOUND", "message": f"fake has no {method} {path}"}

    def _cancel_transfer(self, no: str) -> tuple[int, dict]:
        """撤销转账: only before the tenant confirms; accepted as CANCELING (``finish_cancel`` completes it, as
        WeChat Pay does asynchronously); asking again while it is cancelled answers the same."""
        if self.cancel_failures > 0:
            self.cancel_failures -= 1
            return 500, {"code": "SYSTEM_ERROR", "message": "系统繁忙"}
        bill = self.transfers.get(no)
        if bill is None:
            return 404, {"code": "NOT_FOUND", "message": "转账单不存在"}
        if bill["state"] in ("ACCEPTED", "WAIT_USER_CONFIRM"):
            bill["state"] = "CANCELING"
        elif bill["state"] not in ("CANCELING", "CANCELLED"):
            return 400, {"code": "INVALID_REQUEST", "message": "当前单据状态不支持撤销"}
        return 200, {"out_bill_no": no, "transfer_bill_no": bill["transfer_bill_no"], "state": bill["state"],
                     "update_time": datetime.now(UTC).isoformat()}

    def finish_cancel(self, out_bill_no: str) -> dict:
        """WeChat Pay completes a cancel it accepted: the 商家转账结果通知 resource (state CANCELLED)."""
        bill = self.transfers[out_bill_no]
        if bill["state"] != "CANCELING":
            raise ValueError(f"transfer {out_bill_no} is {bill['state']}, not CANCELING")
        bill["state"], bill["fail_reason"] = "CANCELLED", "MERCHANT_REVOCATION"
        return self.transfer_view(bill)

    def _transfer(self, body: dict, serial: str) -> tuple[int, dict]:
        """发起转账 (商家转账, the transfer-bills API): checked as WeChat Pay documents it; the same out_bill_no is
        the same bill. The payee's name arrives RSA-OAEP encrypted with the platform public key."""
        if self.transfer_failures > 0:
            self.transfer_failures -= 1
            return 500, {"code": "SYSTEM_ERROR", "message": "系统繁忙"}
        no = str(body.get("out_bill_no", ""))
        if no in self.transfers:
            return 200, self.transfer_answer(self.transfers[no])
        amount = body.get("transfer_amount")
        required = ("appid", "out_bill_no", "transfer_scene_id", "openid", "transfer_amount", "transfer_remark",
                    "notify_url")
        missing = [name for name in required if not body.get(name)]
        if missing or not isinstance(amount, int) or amount <= 0 or not re.fullmatch(r"[0-9A-Za-z]{5,32}", no) \
                or len(body["transfer_remark"]) > 32:
            return 400, {"code": "PARAM_ERROR", "message": f"missing or bad: {missing or 'amount/out_bill_no/remark'}"}
        if body["appid"] != self.appid:
            return 400, {"code": "APPID_MCHID_NOT_MATCH", "message": "appid和mch_id不匹配"}
        scene = self.transfer_scenes.get(body["transfer_scene_id"])
        if scene is None:
            return 403, {"code": "NO_AUTH", "message": "未开通该转账场景"}
        reported = {i.get("info_type"): i.get("info_content") for i in body.get("transfer_scene_report_infos") or []}
        if any(not reported.get(kind) for kind in scene):
            return 400, {"code": "PARAM_ERROR", "message": f"transfer_scene_report_infos: {list(scene)}"}
        name = ""
        if body.get("user_name"):
            if serial != self.public_key_id:
                return 400, {"code": "PARAM_ERROR", "message": "Wechatpay-Serial"}
            try:
                name = self.platform_key.decrypt(base64.b64decode(body["user_name"]), padding.OAEP(
                    mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)).decode()
            except ValueError:
                return 400, {"code": "PARAM_ERROR", "message": "user_name 解密失败"}
        elif amount >= 200000:
            return 400, {"code": "PARAM_ERROR", "message": "转账金额>=2000元时须填写收款用户姓名"}
        self.transfers[no] = {"out_bill_no": no, "transfer_bill_no": "1330000" + secrets.token_hex(16),
                              "appid": body["appid"], "openid": body["openid"], "transfer_amount": amount,
                              "transfer_remark": body["transfer_remark"], "user_name": name,
                              "notify_url": body["notify_url"], "state": "WAIT_USER_CONFIRM",
                              "package_info": base64.b64encode(secrets.token_bytes(48)).decode(),
                              "create_time": datetime.now(UTC).isoformat(), "fail_reason": ""}
        return 200, self.transfer_answer(self.transfers[no])

    def transfer_answer(self, bill: dict) -> dict:
        answer = {k: bill[k] for k in ("out_bill_no", "transfer_bill_no", "create_time", "state")}
        if bill["state"] == "WAIT_USER_CONFIRM":
            answer["package_info"] = bill["package_info"]
        return answer

    def transfer_view(self, bill: dict) -> dict:
        """查询转账单 / the 商家转账结果通知 resource."""
        view = {"mch_id": self.mchid, "out_bill_no": bill["out_bill_no"], "transfer_bill_no": bill["transfer_bill_no"],
                "appid": bill["appid"], "state": bill["state"], "transfer_amount": bill["transfer_amount"],
                "transfer_remark": bill["transfer_remark"], "openid": bill["openid"],
                "create_time": bill["create_time"], "update_time": datetime.now(UTC).isoformat()}
        if bill["fail_reason"]:
            view["fail_reason"] = bill["fail_reason"]
        return view

    def confirm_transfer(self, params: dict, *, openid: str, state: str = "SUCCESS", fail_reason: str = "") -> dict:
        """The tenant taps 确认收款 (wx.requestMerchantTransfer): WeChat checks the merchant, the app, the package
        and that the confirming user is the payee. Returns the result notification's resource."""
        bill = next((b for b in self.transfers.values() if b["package_info"] == params.get("package")), None)
        if bill is None or params.get("mchId") != self.mchid or params.get("appId") != self.appid \
                or bill["openid"] != openid or bill["state"] != "WAIT_USER_CONFIRM":
            raise ValueError("requestMerchantTransfer refused")
        bill["state"], bill["fail_reason"] = state, fail_reason
        return self.transfer_view(bill)

    def finish_refund(self, out_refund_no: str, status: str = "SUCCESS", *, at: datetime | None = None) -> dict:
        """The refund reaches the tenant (or fails): the 退款结果通知 resource."""
        refund = self.refunds[out_refund_no]
        refund["status"] = status
        refund["success_time"] = ((at or datetime.now(UTC)).astimezone(UTC) + CST).strftime("%Y-%m-%dT%H:%M:%S+08:00")
        return {"mchid": self.mchid, "out_trade_no": refund["out_trade_no"],
                "transaction_id": refund["transaction_id"], "out_refund_no": out_refund_no,
                "refund_id": refund["refund_id"], "refund_status": status,
                "success_time": refund["success_time"], "user_received_account": "支付用户零钱",
                "amount": {k: refund["amount"][k] for k in ("total", "refund", "payer_total", "payer_refund")}}

    def _tradebill(self, query: dict) -> tuple[int, dict]:
        day = query.get("bill_date", [""])[0]
        if query.get("bill_type") != ["ALL"] or query.get("tar_type") != ["GZIP"]:
            return 400, {"code": "PARAM_ERROR", "message": "bill_type/tar_type"}
        if self.bill_failures.get(day, 0) > 0:
            self.bill_failures[day] -= 1
            return 500, {"code": "SYSTEM_ERROR", "message": "系统繁忙"}
        text = self.bill_text(day)
        if text is None:
            return 400, {"code": "NO_STATEMENT_EXIST", "message": "账单文件不存在"}
        data = text.encode("utf-8")
        digest = hashlib.sha1(data).hexdigest()  # of the un-gzipped bill, as WeChat Pay documents
        if self.tamper_bills:
            data = data.replace(b"SUCCESS", b"SUCCESS ", 1)
        token = secrets.token_hex(8)
        self._bills[token] = gzip.compress(data)
        return 200, {"hash_type": "SHA1", "hash_value": digest,
                     "download_url": f"{self.base_url}/v3/billdownload/file?token={token}"}

    BILL_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
                   "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
                   "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")

    def bill_text(self, day: str) -> str | None:
        """The day's 交易账单 (ALL) as WeChat Pay writes it: backtick-prefixed values, a totals footer."""
        paid = [o for o in self.orders.values()
                if o.state in ("SUCCESS", "REFUND") and o.success_time.startswith(day) and o.out_trade_no not in
                self.bill_rows_dropped]
        refunded = [r for r in self.refunds.values()
                    if r["status"] == "SUCCESS" and r.get("success_time", "").startswith(day)]
        if not paid and not refunded:
            return None
        rows = [self.BILL_HEADER]
        for o in paid:
            yuan = f"{o.paid_amount / 100:.2f}"
            when = o.success_time[:19].replace("T", " ")
            cells = [when, o.appid, o.mchid, "0", "", o.transaction_id, o.out_trade_no, o.openid, "JSAPI", "SUCCESS",
                     "OTHERS", "CNY", yuan, "0.00", "0", "0", "0.00", "0.00", "", "", o.description, "",
                     "0.00", "0.60%", yuan, "0.00", ""]
            rows.append(",".join("`" + c for c in cells))
        for r in refunded:  # a refund row repeats its payment's 微信订单号 and 商户订单号, with its own refund id
            order = self.orders[r["out_trade_no"]]
            yuan = f"{r['amount']['refund'] / 100:.2f}"
            cells = [r["success_time"][:19].replace("T", " "), order.appid, order.mchid, "0", "",
                     r["transaction_id"], r["out_trade_no"], order.openid, "JSAPI", "REFUND", "OTHERS", "CNY",
                     "0.00", "0.00", r["refund_id"], r["out_refund_no"], yuan, "0.00", "ORIGINAL", "SUCCESS",
                     order.description, "", "0.00", "0.60%", "0.00", yuan, ""]
            rows.append(",".join("`" + c for c in cells))
        total = sum(o.paid_amount for o in paid) / 100
        refund_total = sum(r["amount"]["refund"] for r in refunded) / 100
        rows.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
        rows.append(f"`{len(paid) + len(refunded)},`{total:.2f},`{refund_total:.2f},`0.00,`0.00,`{total:.2f},"
                    f"`{refund_total:.2f}")
        return "\r\n".join(rows) + "\r\n"

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
                     apiv3_key: str | None = None, serial: str | None = None,
                     event_type: str = "TRANSACTION.SUCCESS") -> tuple[dict[str, str], bytes]:
        """支付成功通知 (or 退款结果通知 with event_type REFUND.*) as WeChat Pay POSTs it: (headers, body)."""
        nonce = secrets.token_hex(6)  # 12 bytes for AES-GCM
        associated = {"TRANSACTION": "transaction", "MCHTRANSFER": "mch_payment"}.get(event_type.split(".")[0],
                                                                                     "refund")
        ciphertext = AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated.encode())
        body = json.dumps({
            "id": secrets.token_hex(18), "create_time": resource.get("success_time", ""),
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": "支付成功",
            "resource": {"original_type": associated, "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": associated,
                         "nonce": nonce}}, ensure_ascii=False)
        headers = self.signature_headers(body, key=key or self.platform_key, timestamp=timestamp, serial=serial)
        headers["Content-Type"] = "application/json"
        return headers, body.encode()
