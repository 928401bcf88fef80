"""A real MQTT broker for tests: Mosquitto at 127.0.0.1:1883 when available, else the embedded amqtt broker;
and a private Mosquitto (own port, persistence in a temp dir) for broker-restart tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

MOSQUITTO_BIN = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def shared_mosquitto_url() -> str | None:
    if os.environ.get("RW_TEST_MQTT_EMBEDDED"):  # force the embedded broker (to test that path)
        return None
    url = os.environ.get("RW_TEST_MQTT_URL")
    if url:
        return url
    return "mqtt://127.0.0.1:1883" if port_open("127.0.0.1", 1883) else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateMosquitto:
    """``mosquitto -c conf`` on a free loopback port, persisting sessions and queued messages to a temp dir.

    With ``password_file`` and ``acl_file`` (what ``rentwatch devices credentials export-mosquitto`` writes) it
    refuses anonymous clients and enforces the ACLs, with ``use_username_as_clientid`` so that no account can take
    another's client id (docs/iot.md). With ``tls`` (a ``TestCA``) the listener speaks TLS only."""

    def __init__(self, workdir: Path, *, password_file: Path | None = None, acl_file: Path | None = None,
                 tls: TestCA | None = None):
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.conf = workdir / "mosquitto.conf"
        self.tls = tls
        import getpass

        auth = "allow_anonymous true\n"
        listener_lines = ""  # options of the listener: after its `listener` line
        if password_file is not None:
            auth = f"allow_anonymous false\npassword_file {password_file}\n"
            listener_lines += "use_username_as_clientid true\n"
            if acl_file is not None:
                auth += f"acl_file {acl_file}\n"
        if tls is not None:
            listener_lines += f"cafile {tls.ca_file}\ncertfile {tls.cert_file}\nkeyfile {tls.key_file}\n"
        self.conf.write_text(
            f"user {getpass.getuser()}\n"  # started as root, mosquitto would switch to a user that cannot write here
            f"per_listener_settings false\n{auth}"
            f"listener {self.port} 127.0.0.1\n{listener_lines}persistence true\n"
            f"persistence_location {workdir}/\nautosave_interval 0\nmax_queued_messages 100000\n"
            f"max_inflight_messages 0\nlog_dest file {workdir}/mosquitto.log\n")

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def url_for(self, username: str, password: str) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{quote(username, safe='')}:{quote(password, safe='')}" \
               f"@127.0.0.1:{self.port}"

    def reload(self) -> None:
        """SIGHUP: mosquitto rereads its password and acl files."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def start(self) -> None:
        assert MOSQUITTO_BIN is not None, "mosquitto is not installed"
        self.proc = subprocess.Popen([MOSQUITTO_BIN, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            if port_open("127.0.0.1", self.port):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        log = self.workdir / "mosquitto.log"
        raise RuntimeError("private mosquitto did not start: " + (log.read_text()[-2000:] if log.exists() else ""))

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # saves persistence on a clean shutdown
            self.proc.wait(10)
            self.proc = None


def host_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 1883


class TestCA:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost, made with ``cryptography``."""

    __test__ = False  # not a test class

    def __init__(self, workdir: Path):
        import datetime as dt
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rentwatch test CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
              .not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False),
                             critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(ca_key, hashes.SHA256()))
        self.ca_file = workdir / "ca.pem"
        self.cert_file = workdir / "server.pem"
        self.key_file = workdir / "server.key"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                                    serialization.NoEncryption()))


# ------------------------------------------------------------------------------ accounts on test brokers

@dataclass(frozen=True)
class Accounts:
    """The broker accounts a test uses on a broker with authentication on (issued in the test's database)."""

    consumer: tuple[str, str]
    publisher: tuple[str, str]


#: (host, port) of a test broker with authentication on → its accounts; the shared Mosquitto (anonymous) has none
BROKER_ACCOUNTS: dict[tuple[str, int], Accounts] = {}


async def issue_test_accounts(settings, topics: tuple[str, ...] = ("rwtest/#",), *,
                              client_id: str | None = None) -> Accounts:
    """A consumer account and a gateway account publishing ``topics``, issued as the CLI would."""
    from datetime import UTC, datetime

    from iot.credentials import issue_for_consumer, issue_for_gateway

    now = datetime.now(UTC)
    consumer = await issue_for_consumer("rw-test-consumer", client_id=client_id or "rw-test-consumer", now=now,
                                        by="tests")
    publisher = await issue_for_gateway(settings, "rw-test-publisher", now=now, by="tests", topics=list(topics))
    return Accounts(("rw-test-consumer", consumer.password), ("rw-test-publisher", publisher.password))


def with_credentials(url: str, credentials: tuple[str, str] | None) -> str:
    if credentials is None:
        return url
    parsed = urlparse(url)
    netloc = f"{quote(credentials[0], safe='')}:{quote(credentials[1], safe='')}@{parsed.hostname}:{parsed.port}"
    return parsed._replace(netloc=netloc).geturl()


def url_credentials(url: str) -> tuple[str, str] | None:
    parsed = urlparse(url)
    return (unquote(parsed.username), unquote(parsed.password or "")) if parsed.username else None


def publisher_login(url: str) -> tuple[str, str] | None:
    """The publishing account of the test broker at ``url`` (None: an anonymous broker)."""
    accounts = BROKER_ACCOUNTS.get(host_port(url))
    return accounts.publisher if accounts else None
