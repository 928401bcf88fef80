"""Broker accounts: issued per device, per gateway, or for the consumer (``rentwatch devices credentials``).

A password is random, printed once at issue and never stored: the row keeps an argon2 hash (what the embedded
broker checks) and mosquitto_passwd's PBKDF2-SHA512 hash (what ``export-mosquitto`` writes), plus the topics the
account may publish, derived from its devices' formats and ids (iot.acl). Issuing again for the same username
revokes the previous row; nothing is deleted, so who was allowed what and when stays on record."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from config.settings import Settings
from core.errors import Conflict, NotFound, ValidationFailed
from iot.acl import (
    AccountLine,
    AclError,
    Grant,
    check_filter,
    check_username,
    default_username,
    device_topics,
    mosquitto_acl_file,
    mosquitto_hash,
    mosquitto_password_file,
)
from iot.choices import CredentialKind, DeviceFormat
from models.iot import Device, MqttCredential

_HASHER = PasswordHasher()  # argon2id, the library's defaults (RFC 9106 low-memory profile)


@dataclass(frozen=True)
class Issued:
    credential: MqttCredential
    password: str  # shown once


def new_password() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


async def _find_device(external_id: str, fmt: DeviceFormat | None) -> Device:
    query = Device.filter(external_id=external_id)
    if fmt is not None:
        query = query.filter(format=fmt)
    found = await query
    if not found:
        raise NotFound(f"no registered device {external_id!r}" + (f" of format {fmt}" if fmt else ""))
    if len(found) > 1:
        raise ValidationFailed(f"{external_id!r} is registered in several formats: give --format",
                               details={"formats": sorted(d.format for d in found)})
    return found[0]


async def _bound_elsewhere(device_ids: list[int], username: str) -> dict[int, str]:
    """Devices already bound to another active account: device id → that account's username."""
    taken: dict[int, str] = {}
    for cred in await MqttCredential.filter(revoked_at__isnull=True).exclude(username=username):
        for device_id in cred.device_ids:
            if device_id in device_ids:
                taken[device_id] = cred.username
    return taken


async def issue(username: str, kind: CredentialKind, *, devices: list[Device], topics: list[str], now: datetime,
                by: str, client_id: str | None = None, note: str = "") -> Issued:
    """Issue (or re-issue: the previous row is revoked) an account; its password is in the result only."""
    try:
        check_username(username)
        for topic in topics:
            check_filter(topic)
    except AclError as exc:
        raise ValidationFailed(str(exc)) from None
    device_ids = [d.id for d in devices]
    taken = await _bound_elsewhere(device_ids, username)
    if taken:
        raise Conflict("a device is already bound to another broker account: revoke that one first",
                       details={"bound": {str(k): v for k, v in taken.items()}})
    password = new_password()
    argon2_hash, mosq = await asyncio.to_thread(lambda: (_HASHER.hash(password),
                                                         mosquitto_hash(password, os.urandom(12))))
    async with in_transaction():
        await MqttCredential.filter(username=username, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=f"{by} (re-issued)")
        cred = await MqttCredential.create(username=username, kind=kind, device_ids=device_ids, topics=topics,
                                           client_id=client_id, password_hash=argon2_hash, mosquitto_hash=mosq,
                                           issued_at=now, issued_by=by, note=note[:200])
    return Issued(cred, password)


async def issue_for_device(settings: Settings, external_id: str, *, now: datetime, by: str,
                           fmt: DeviceFormat | None = None, username: str | None = None) -> Issued:
    device = await _find_device(external_id, fmt)
    try:
        topics = device_topics(DeviceFormat(device.format), device.external_id, settings.iot_topic_patterns)
        name = username or default_username(DeviceFormat(device.format), device.external_id)
    except AclError as exc:
        raise ValidationFailed(str(exc)) from None
    return await issue(name, CredentialKind.DEVICE, devices=[device], topics=topics, now=now, by=by,
                       note=f"device {device.format} {device.external_id}")


async def issue_for_gateway(settings: Settings, name: str, *, now: datetime, by: str,
                            devices: list[tuple[str, DeviceFormat | None]] | None = None,
                            topics: list[str] | None = None) -> Issued:
    """A gateway publishes for many devices: their topics, plus ``topics`` (e.g. ``zigbee2mqtt/#`` for a
    Zigbee2MQTT bridge whose devices join later)."""
    found = [await _find_device(ext, fmt) for ext, fmt in devices or []]
    granted: list[str] = []
    try:
        for device in found:
            granted += device_topics(DeviceFormat(device.format), device.external_id, settings.iot_topic_patterns)
    except AclError as exc:
        raise ValidationFailed(str(exc)) from None
    for topic in topics or []:
        if topic not in granted:
            granted.append(topic)
    if not granted:
        raise ValidationFailed("a gateway needs devices or topics to publish")
    return await issue(name, CredentialKind.GATEWAY, devices=found, topics=list(dict.fromkeys(granted)), now=now,
                       by=by, note=f"gateway {name}")


async def issue_for_consumer(name: str, *, client_id: str, now: datetime, by: str) -> Issued:
    """The consumer's account: subscribes to everything; only it may use ``client_id``."""
    return await issue(name, CredentialKind.CONSUMER, devices=[], topics=[], now=now, by=by, client_id=client_id,
                       note="consumer")


async def revoke(username: str, *, now: datetime, by: str) -> int:
    return await MqttCredential.filter(username=username, revoked_at__isnull=True).update(revoked_at=now,
                                                                                           revoked_by=by)


def serialize(cred: MqttCredential) -> dict:
    return {"username": cred.username, "kind": cred.kind, "device_ids": cred.device_ids, "topics": cred.topics,
            "client_id": cred.client_id, "issued_at": cred.issued_at.isoformat(), "issued_by": cred.issued_by,
            "revoked_at": cred.revoked_at.isoformat() if cred.revoked_at else None, "revoked_by": cred.revoked_by,
            "note": cred.note}


async def list_credentials(*, include_revoked: bool = False) -> list[dict]:
    query = MqttCredential.all() if include_revoked else MqttCredential.filter(revoked_at__isnull=True)
    return [serialize(c) for c in await query.order_by("username", "id")]


# ------------------------------------------------------------------------------------ checking (the broker)

async def reserved_client_ids(settings: Settings) -> dict[str, str]:
    """Client id → the only username that may connect with it: the consumer accounts' ids, and the configured
    consumer client id for the configured consumer account."""
    reserved = {settings.mqtt_client_id: settings.mqtt_username}
    for cred in await MqttCredential.filter(revoked_at__isnull=True, client_id__isnull=False):
        if cred.client_id:
            reserved[cred.client_id] = cred.username
    return reserved


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(settings: Settings, username: str | None, password: str | None) -> Grant | None:
    """The account's grant when the password is right; None otherwise (anonymous included). The configured
    consumer account (RW_MQTT_USERNAME / RW_MQTT_PASSWORD) is always one."""
    if not username or password is None:
        return None
    if username == settings.mqtt_username and secrets.compare_digest(password.encode(),
                                                                      settings.mqtt_password.encode()):
        return Grant(username, CredentialKind.CONSUMER)
    for cred in await MqttCredential.filter(username=username, revoked_at__isnull=True):
        if await asyncio.to_thread(_verify, cred.password_hash, password):
            return Grant(username, CredentialKind(cred.kind), tuple(cred.topics))
    return None


async def device_bindings() -> dict[int, tuple[str, tuple[str, ...]]]:
    """Device id → (the active account it is bound to, the topics that account may publish)."""
    bound: dict[int, tuple[str, tuple[str, ...]]] = {}
    for row in await MqttCredential.filter(revoked_at__isnull=True).values("username", "device_ids", "topics"):
        for device_id in row["device_ids"] or []:
            bound[device_id] = (row["username"], tuple(row["topics"] or ()))
    return bound


# ------------------------------------------------------------------------------------------------ Mosquitto

def _write_atomically(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def export_mosquitto(password_file: Path, acl_file: Path) -> dict:
    """Write a mosquitto_passwd-compatible password file (mode 0600) and an acl_file for the active accounts.
    Mosquitto rereads both on SIGHUP."""
    accounts = [AccountLine(c.username, CredentialKind(c.kind), c.mosquitto_hash, tuple(c.topics))
                for c in await MqttCredential.filter(revoked_at__isnull=True)]
    _write_atomically(password_file, mosquitto_password_file(accounts), 0o600)
    _write_atomically(acl_file, mosquitto_acl_file(accounts), 0o644)
    return {"accounts": len(accounts), "password_file": str(password_file), "acl_file": str(acl_file)}
