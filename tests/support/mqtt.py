"""A real MQTT broker for tests: Mosquitto at 127.0.0.1:1883 when available, else the embedded amqtt broker;
and a private Mosquitto (own port, persistence in a temp dir) for broker-restart tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

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
    """``mosquitto -c conf`` on a free loopback port, persisting sessions and queued messages to a temp dir."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.conf = workdir / "mosquitto.conf"
        import getpass

        self.conf.write_text(
            f"user {getpass.getuser()}\n"  # started as root, mosquitto would switch to a user that cannot write here
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {workdir}/\nautosave_interval 0\nmax_queued_messages 100000\n"
            f"max_inflight_messages 0\nlog_dest file {workdir}/mosquitto.log\n")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert MOSQUITTO_BIN is not None, "mosquitto is not installed"
        self.proc = subprocess.Popen([MOSQUITTO_BIN, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            if port_open("127.0.0.1", self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("private mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # saves persistence on a clean shutdown
            self.proc.wait(10)
            self.proc = None


def host_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 1883
