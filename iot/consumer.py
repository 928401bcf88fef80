"""The MQTT consumer: paho-mqtt (v2 callback API) on its own network thread, asyncio for everything else.

- QoS 1, persistent session: a stable client id, clean_session=False (3.1.1) or clean_start=False with a
  session expiry (MQTT 5), so messages published while we are down are delivered when we return.
- Manual acknowledgements: a PUBACK is sent only after the batch holding the message is committed. A crash
  before that makes the broker deliver the message again; the database's unique keys drop the duplicate.
- The paho thread only hands messages over (loop.call_soon_threadsafe) into a bounded queue; a slot count
  makes the paho thread block when the queue is full, so a slow database slows reading from the socket
  (TCP back-pressure to the broker) instead of growing memory.
- Reconnect with backoff (paho's reconnect_delay_set) and resubscribe in on_connect.
- Optional MQTT 5 shared subscription ``$share/<group>/<filter>`` so several consumers split the load.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import struct
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from config.settings import Settings
from iot.adapters import TopicRouter
from iot.ingest import Ingestor, RawMessage

log = logging.getLogger("rentwatch.iot.consumer")


class HandOff:
    """The bounded paho-thread → event-loop hand-off. ``put`` blocks the paho thread while ``size`` messages are
    waiting or being stored (back-pressure); the loop is woken with ``call_soon_threadsafe`` once per burst rather
    than once per message."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int):
        self.loop = loop
        self.items: collections.deque = collections.deque()
        self.size = size
        # Slots in use = handed - released. Each counter is written by one thread only (paho thread / event loop),
        # so no lock is needed on the hot path; ``space`` wakes a paho thread that waits for free slots.
        self.handed = 0
        self.released = 0
        self.space = threading.Event()
        self.ready = asyncio.Event()
        self._armed = True

    def put(self, item, closing) -> bool:
        while self.handed - self.released >= self.size:
            self.space.clear()
            if self.handed - self.released < self.size:
                break
            if not self.space.wait(0.5) and closing():
                return False
        self.handed += 1
        self.items.append(item)
        if self._armed:
            self._armed = False
            try:
                self.loop.call_soon_threadsafe(self.ready.set)
            except RuntimeError:  # loop closed while shutting down: the broker redelivers
                return False
        return True

    async def get_batch(self, size: int, timeout: float) -> list:
        if not self.items:
            self._armed = True
            if not self.items:
                self.ready.clear()
                try:
                    await asyncio.wait_for(self.ready.wait(), timeout)
                except TimeoutError:
                    return []
        return self.take(size)

    def take(self, size: int) -> list:
        batch = []
        while self.items and len(batch) < size:
            batch.append(self.items.popleft())
        return batch

    def release(self, n: int) -> None:
        if n > self.handed - self.released:
            raise ValueError("released more slots than were handed over")
        self.released += n
        self.space.set()

    def __len__(self) -> int:
        return len(self.items)


class BufferedSocket:
    """A plain TCP socket with a user-space receive buffer, for paho's network thread.

    paho reads every packet with three or more ``recv`` calls (command byte, length bytes, body) and does one
    ``select`` per packet; each of those system calls releases and re-takes the GIL, and with the event loop busy
    parsing, every re-take can wait for the interpreter's switch interval. Here one ``recv`` fetches everything
    the kernel holds (up to 256 KiB) and the packets are served from memory. ``pending()`` is what paho already
    consults for TLS sockets: buffered bytes make it read again without waiting in ``select``."""

    __slots__ = ("_sock", "_buf", "_pos")
    CHUNK = 256 * 1024

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        pos, buf = self._pos, self._buf
        if pos >= len(buf):
            buf = self._sock.recv(max(bufsize, self.CHUNK))  # BlockingIOError / b"" (closed) pass through
            if len(buf) <= bufsize:
                self._buf, self._pos = b"", 0
                return buf
            pos = 0
            self._buf = buf
        end = pos + bufsize
        self._pos = end
        return buf[pos:end]

    def pending(self) -> int:
        return len(self._buf) - self._pos

    def __getattr__(self, name):  # send, fileno, close, setblocking, ... of the real socket
        return getattr(self._sock, name)


class ConsumerClient(mqtt.Client):
    """paho's client with buffered reads (plain TCP only; TLS and WebSocket transports are left as they are)
    that handles every packet already received in one pass instead of one packet per ``select``."""

    MAX_PACKETS_PER_READ = 1000

    def _create_socket(self):
        sock = super()._create_socket()
        if isinstance(sock, socket.socket) and not self._ssl and self._transport != "websockets":
            return BufferedSocket(sock)
        return sock

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        for _ in range(self.MAX_PACKETS_PER_READ):
            sock = self._sock
            if rc or not isinstance(sock, BufferedSocket) or not sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc


_PUBACK = struct.Struct("!BBH")


def subscription_filters(settings: Settings) -> list[str]:
    subs = TopicRouter(settings.iot_topic_patterns).subscriptions()
    if settings.mqtt_shared_group:
        subs = [f"$share/{settings.mqtt_shared_group}/{s}" for s in subs]
    return subs


class MqttConsumer:
    def __init__(self, settings: Settings, *, ingestor: Ingestor | None = None, client_id: str | None = None):
        self.settings = settings
        self.ingestor = ingestor or Ingestor(settings)
        self.client_id = client_id or settings.mqtt_client_id
        self.queue: HandOff | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: mqtt.Client | None = None
        self.generation = 0  # connection number: acks of an older connection are never sent on a newer one
        self.connected = asyncio.Event()
        self.subscribed = threading.Event()
        self.stored = 0
        self.batches = 0
        self._closing = False

    # -------------------------------------------------------------------------------------- paho thread side
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("MQTT connect refused: %s", reason_code)
            return
        self.generation += 1
        session = getattr(flags, "session_present", False)
        log.info("MQTT connected (session present: %s), subscribing %s", session, self.filters)
        client.subscribe([(f, 1) for f in self.filters])
        self.loop.call_soon_threadsafe(self.connected.set)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self._closing:
            log.warning("MQTT disconnected (%s); paho reconnects with backoff", reason_code)
        self.subscribed.clear()
        if self.loop and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, client, userdata, msg):
        # Blocks this (network) thread while the hand-off is full: back-pressure, not memory growth.
        item = RawMessage(msg.topic, msg.payload, datetime.now(UTC), msg.mid, msg.qos, self.generation)
        self.queue.put(item, lambda: self._closing)

    def _ack_many(self, batch: list[RawMessage]) -> None:
        """PUBACK every QoS 1 message of a committed batch that came on the current connection (after a reconnect
        the broker redelivers the others). The PUBACKs of a batch are queued as one buffer, so paho's network
        thread writes them with one ``send`` and is woken once (paho-mqtt 2.2 internals: ``_packet_queue``; each
        PUBACK is the same 4 bytes ``client.ack`` would send, MQTT 3.1.1 and 5)."""
        client = self.client
        if client is None:
            return
        generation = self.generation
        pack = _PUBACK.pack
        acks = [pack(mqtt.PUBACK, 2, item.mid) for item in batch if item.qos == 1 and item.generation == generation]
        if acks:
            client._packet_queue(mqtt.PUBACK, b"".join(acks), 0, 0)
        for item in batch:
            if item.qos == 2 and item.generation == generation:  # not subscribed at QoS 2; kept for completeness
                client.ack(item.mid, item.qos)

    # -------------------------------------------------------------------------------------------- asyncio side
    @property
    def filters(self) -> list[str]:
        return subscription_filters(self.settings)

    def build_client(self) -> mqtt.Client:
        v5 = self.settings.mqtt_protocol == "5"
        client = ConsumerClient(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                             clean_session=None if v5 else False, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.max_inflight_messages_set(1000)
        return client

    def _connect_kwargs(self) -> dict:
        if self.settings.mqtt_protocol != "5":
            return {}
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.mqtt_session_expiry_seconds
        props.ReceiveMaximum = min(65535, max(100, self.settings.iot_queue_size))
        return {"clean_start": False, "properties": props}

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if self.settings.mqtt_shared_group:
            log.warning("shared subscription %s: meter consumption is computed from each consumer's own view of a "
                        "device; give consumers disjoint meter topics (docs/iot.md)", self.settings.mqtt_shared_group)
        self.queue = HandOff(self.loop, self.settings.iot_queue_size)
        self.client = self.build_client()
        host, port = self.settings.mqtt_host_port
        delay = 1.0
        while True:
            try:
                await asyncio.to_thread(self.client.connect, host, port, self.settings.mqtt_keepalive_seconds,
                                        **self._connect_kwargs())
                break
            except OSError as exc:
                log.warning("MQTT broker %s:%s unreachable (%s); retrying in %.0fs", host, port, exc, delay)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
        self.client.loop_start()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set. Batch N+1 is parsed while batch N is committed (one commit in flight);
        a batch is acknowledged only after its commit. A failed commit is retried, never dropped."""
        await self.start()
        stop_wait = asyncio.create_task(stop.wait())
        pending: tuple[list[RawMessage], asyncio.Task] | None = None
        try:
            while not stop.is_set():
                batch = await self._gather(stop_wait)
                if not batch:
                    if pending:
                        await self._finish(pending, None, stop)
                        pending = None
                    continue
                try:
                    prepared = await self.ingestor.prepare(batch)
                except Exception:  # noqa: BLE001 - the database is unhappy: fall back to one batch at a time
                    log.exception("preparing a batch failed")
                    if pending:
                        await self._finish(pending, None, stop)
                        pending = None
                    self.ingestor.forget()
                    await self._persist(batch, stop)
                    continue
                if pending and not await self._finish(pending, batch, stop):
                    pending = None  # batch N failed and was redone; batch N+1 was redone after it too
                    continue
                pending = (batch, asyncio.create_task(self.ingestor.commit(prepared)))
            if pending:
                await self._finish(pending, None, None)
            # drain what was handed over before stopping, then leave
            self._closing = True
            rest = self.queue.take(len(self.queue)) if self.queue else []
            if rest:
                await self._persist(rest, None)
        finally:
            stop_wait.cancel()
            if pending and not pending[1].done():
                pending[1].cancel()
            await self.close()

    async def _finish(self, pending: tuple[list[RawMessage], asyncio.Task], following: list[RawMessage] | None,
                      stop: asyncio.Event | None) -> bool:
        """Wait for a commit; acknowledge its batch. On failure redo it (and ``following``, which was prepared on
        top of it) from the database state. Returns False when it had to redo."""
        batch, task = pending
        try:
            await task
        except Exception:  # noqa: BLE001
            log.exception("committing a batch of %d messages failed; redoing it", len(batch))
            self.ingestor.forget()
            await self._persist(batch, stop)
            if following:
                await self._persist(following, stop)
            return False
        self._acknowledge(batch)
        return True

    def _acknowledge(self, batch: list[RawMessage]) -> None:
        self._ack_many(batch)
        self.queue.release(len(batch))
        self.stored += len(batch)
        self.batches += 1

    async def _gather(self, stop_wait: asyncio.Task) -> list[RawMessage]:
        size = self.settings.iot_batch_size
        batch = await self.queue.get_batch(size, 0.5)
        if not batch:
            return []
        deadline = time.monotonic() + self.settings.iot_flush_ms / 1000
        while len(batch) < size and time.monotonic() < deadline:
            await asyncio.sleep(0)  # let the paho thread hand over more; nothing more → flush now (low latency)
            more = self.queue.take(size - len(batch))
            if not more:
                break
            batch += more
        return batch


    async def _persist(self, batch: list[RawMessage], stop: asyncio.Event | None) -> None:
        delay = 0.5
        while True:
            try:
                await self.ingestor.process(batch)
                break
            except Exception:  # noqa: BLE001 - a database problem: keep the batch, retry, never drop it
                log.exception("storing a batch of %d messages failed; retrying in %.1fs", len(batch), delay)
                self.ingestor.forget()
                if stop is not None and stop.is_set():
                    return  # unacked: the broker redelivers them to the next run
                await asyncio.sleep(delay)
                delay = min(10.0, delay * 2)
        self._acknowledge(batch)

    async def close(self) -> None:
        self._closing = True
        if self.client is not None and self.generation != -1:
            self.client.disconnect()
            self.client.loop_stop()

    def abort(self) -> None:
        """Die like a crashed process: no DISCONNECT, nothing queued is stored or acknowledged (the broker
        keeps the session and redelivers the unacknowledged messages to the next consumer)."""
        self._closing = True
        self.generation = -1
        if self.client is not None:
            self.client.loop_stop()
            sock = self.client.socket()
            if sock is not None:
                sock.close()


async def run_consumer(settings: Settings, clock, stop: asyncio.Event) -> None:
    """Background service (cli.background): the consumer plus the periodic sweep and daily detection."""
    if not settings.run_consumer:
        await stop.wait()
        return
    consumer = MqttConsumer(settings)
    sweeper = asyncio.create_task(run_sweeper(settings, clock, stop))
    try:
        await consumer.run(stop)
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)


async def run_sweeper(settings: Settings, clock, stop: asyncio.Event) -> None:
    from iot.detection import maybe_run_daily, sweep

    while not stop.is_set():
        try:
            now = clock.now()
            await maybe_run_daily(now, settings)
            await sweep(now, settings)
        except Exception:  # noqa: BLE001 - keep sweeping; the error is logged
            log.exception("IoT sweep failed")
        try:
            await asyncio.wait_for(stop.wait(), settings.iot_sweep_seconds)
        except TimeoutError:
            pass


async def run_ingest_only(settings: Settings, clock, stop: asyncio.Event) -> None:
    """``rentwatch consume --no-sweep``: only the consumer (e.g. several of them on a shared subscription)."""
    await MqttConsumer(settings).run(stop)


async def run_simulator_service(settings: Settings, clock, stop: asyncio.Event) -> None:
    """Background service for the demo: runs the simulator when RW_IOT_SIMULATE=1, otherwise waits for stop."""
    if not settings.iot_simulate:
        await stop.wait()
        return
    from iot.simulator import run_simulation

    task = asyncio.create_task(run_simulation(settings, days=30, live_minutes=24 * 60, prepare=True))
    await asyncio.wait([task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
