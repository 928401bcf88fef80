"""Broker access rules, pure: which topics a device may publish (from its format, its external id and the topic
patterns the consumer routes by), MQTT topic-filter matching, usernames a password file can hold, and the
Mosquitto files (mosquitto_passwd's PBKDF2-SHA512 ``$7$`` hashes, an acl_file). The database side is
iot.credentials; the embedded broker's plugins are iot.broker_auth."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from iot.adapters import ADAPTER_FORMAT, DEFAULT_TOPIC_PATTERNS, compile_pattern
from iot.choices import CredentialKind, DeviceFormat

#: mosquitto_passwd's default is 101 iterations; the passwords issued here are random 192-bit tokens, so the
#: iteration count adds nothing against guessing, and each connect (thousands after a broker restart) pays it.
MOSQUITTO_PBKDF2_ITERATIONS = 1000
MOSQUITTO_SALT_BYTES = 12  # what mosquitto_passwd uses
#: a username must fit a password file line ("user:hash") and an acl_file line ("user <name>")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


class AclError(ValueError):
    pass


def check_username(name: str) -> str:
    if not _USERNAME.fullmatch(name):
        raise AclError(f"bad broker username {name!r}: 1-128 of letters, digits and . _ @ -, not starting with a "
                       f"punctuation mark (a password file line is user:hash)")
    return name


def default_username(fmt: DeviceFormat, external_id: str) -> str:
    """``<format>-<external id>`` with characters a password file cannot hold replaced by ``_``."""
    return check_username(re.sub(r"[^A-Za-z0-9._@-]", "_", f"{fmt.lower()}-{external_id}")[:128])


def check_filter(topic_filter: str) -> str:
    """An MQTT topic filter (``+`` a whole level, ``#`` the whole last level)."""
    levels = topic_filter.split("/")
    if not topic_filter or any(("#" in lv and (lv != "#" or i != len(levels) - 1)) or ("+" in lv and lv != "+")
                               for i, lv in enumerate(levels)) or topic_filter.startswith("$"):
        raise AclError(f"bad topic filter {topic_filter!r}")
    return topic_filter


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching of a concrete topic against a filter (``$``-topics only by filters naming them)."""
    if topic.startswith("$") and not topic_filter.startswith("$"):
        return False
    f_levels, t_levels = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(f_levels):
        if level == "#":
            return True
        if i >= len(t_levels) or (level != "+" and level != t_levels[i]):
            return False
    return len(f_levels) == len(t_levels)


def filter_covers(granted: str, requested: str) -> bool:
    """Whether every topic matching ``requested`` (a filter) also matches ``granted``: a subscription check."""
    g_levels, r_levels = granted.split("/"), requested.split("/")
    for i, level in enumerate(g_levels):
        if level == "#":
            return True
        if i >= len(r_levels) or r_levels[i] == "#":
            return False
        if level != "+" and (r_levels[i] == "+" or level != r_levels[i]):
            return False
    return len(g_levels) == len(r_levels)


def device_topics(fmt: DeviceFormat, external_id: str, patterns: Iterable[str] | None = None) -> list[str]:
    """The topics a device of this format and id publishes: every routing pattern of its format (``patterns``:
    ``settings.iot_topic_patterns``, None for the defaults) with the id filled in. A Shelly channel
    (``<id>:<n>``) publishes on its device's topics. Wildcard characters in an id are refused: the ACL would
    grant more than the device."""
    base = external_id.split(":", 1)[0] if fmt == DeviceFormat.SHELLY_GEN2 else external_id
    if not base or any(c in base for c in "+#\x00") or base.startswith("$"):
        raise AclError(f"external id {external_id!r} cannot be part of a topic")
    topics: list[str] = []
    for spec in DEFAULT_TOPIC_PATTERNS if patterns is None else patterns:
        pattern = compile_pattern(spec)
        if ADAPTER_FORMAT[pattern.adapter] != fmt:
            continue
        one_level = "{id}" in pattern.pattern.split("/")
        if one_level and "/" in base:
            continue  # an id with '/' can never match a one-level placeholder
        topic = pattern.pattern.replace("{id+}", base).replace("{id}", base)
        if topic not in topics:
            topics.append(topic)
    if not topics:
        raise AclError(f"no topic pattern routes {fmt} messages: cannot derive the device's topics")
    return topics


@dataclass(frozen=True)
class Grant:
    """What one authenticated account may do."""

    username: str
    kind: CredentialKind
    publish: tuple[str, ...] = ()

    @property
    def subscribes_everything(self) -> bool:
        return self.kind == CredentialKind.CONSUMER

    def may_publish(self, topic: str) -> bool:
        return self.kind != CredentialKind.CONSUMER and any(topic_matches(f, topic) for f in self.publish)

    def may_subscribe(self, topic_filter: str) -> bool:
        """The consumer: anything. Others: only filters within their own topics (a device reading its own
        topic back, e.g. a Zigbee2MQTT bridge's set/get), never ``#`` or another device's topics."""
        if self.subscribes_everything:
            return True
        return any(filter_covers(f, topic_filter) for f in self.publish)


# ------------------------------------------------------------------------------------------------ Mosquitto

def mosquitto_hash(password: str, salt: bytes, iterations: int = MOSQUITTO_PBKDF2_ITERATIONS) -> str:
    """mosquitto_passwd's ``$7$<iterations>$<salt b64>$<PBKDF2-HMAC-SHA512 b64>`` (Mosquitto ≥ 2.0)."""
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_verify(password: str, encoded: str) -> bool:
    try:
        _, seven, iterations, salt, _digest = encoded.split("$")
        if seven != "7":
            return False
        return hmac.compare_digest(mosquitto_hash(password, base64.b64decode(salt), int(iterations)), encoded)
    except ValueError:
        return False


@dataclass(frozen=True)
class AccountLine:
    username: str
    kind: CredentialKind
    mosquitto_hash: str
    publish: tuple[str, ...]


def mosquitto_password_file(accounts: Iterable[AccountLine]) -> str:
    lines = [f"{a.username}:{a.mosquitto_hash}" for a in sorted(accounts, key=lambda a: a.username)]
    return "".join(line + "\n" for line in lines)


def mosquitto_acl_file(accounts: Iterable[AccountLine]) -> str:
    """acl_file: the consumer reads everything; a device or gateway writes its own topics only (and may read them
    back). Anonymous clients get no lines at all (and ``allow_anonymous false`` refuses them anyway)."""
    out = ["# generated by `rentwatch devices credentials export-mosquitto`: do not edit, export again", ""]
    for a in sorted(accounts, key=lambda a: a.username):
        out.append(f"user {a.username}")
        if a.kind == CredentialKind.CONSUMER:
            out.append("topic read #")
        out += [f"topic readwrite {t}" for t in a.publish]
        out.append("")
    return "\n".join(out)
