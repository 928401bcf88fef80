"""The MQTT consumer: paho-mqtt (v2 callback API) on its own network thread, asyncio for everything else.

- QoS 1, persistent session: a stable client id, clean_session=False (3.1.1) or clean_start=False with a
  session expiry (MQTT 5), so messages published while we are down are delivered when we return.
- Manual acknowledgements: a PUBACK is sent only after the batch holding the message is committed. A crash
  before that makes the broker deliver the message again; the database's unique keys drop the duplicate.
- The paho thread only hands messages over (loop.call_soon_threadsafe) into a bounded queue; a slot count
  makes the paho thread block when the queue is full, so a slow database slows reading from the socket
  (TCP back-pressure to the broker) instead of growing memory.
- Reconnect with backoff (paho's reconnect_delay_set) and resubscribe in on_connect.
- Optional MQTT 5 shared subscription ``$share/<group>/<filter>`` so several consumers split the load (the
  Ingestor then keeps each device's running state in its locked database row: ``Ingestor.locking``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt as paho_mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from config.settings import Settings
from core.clock import Clock, SystemClock
from core.db import ping
from core.mqtt_client import configure_client
from iot.adapters import TopicRouter
from iot.health import Beat
from iot.heartbeat import write_beat
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
        batch: list = []
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
    parsing, every re-take can wait for the interpreter's switch interval. ``ConsumerClient.loop_read`` instead
    fetches everything the kernel holds (up to 256 KiB) with one ``recv`` into ``buf`` and splits the packets
    itself. ``pending()`` is what paho already consults for TLS sockets: while complete packets are left in the
    buffer it makes paho read again without waiting in ``select``. ``recv`` serves the buffer first, should
    paho's own packet reader ever read from this socket."""

    __slots__ = ("_sock", "buf", "ready")
    CHUNK = 256 * 1024

    def __init__(self, sock: socket.socket):
        self._sock = sock
        # received, not yet handled: an incomplete packet, or packets left for the next pass
        self.buf: bytes | bytearray = b""
        self.ready = False  # complete packets are waiting in buf

    def fill(self) -> bytes:
        """One ``recv`` appended to what is buffered (BlockingIOError / OSError pass through; b"" = closed)."""
        data = self._sock.recv(self.CHUNK)
        buf = self.buf
        if not data:
            return data
        if not buf:
            self.buf = data
        elif len(buf) < self.CHUNK:
            self.buf = buf + data  # the rest of a packet cut by the previous read
        else:  # a large packet arriving over many reads: grown in place (linear, not quadratic, copying)
            if type(buf) is bytes:
                buf = self.buf = bytearray(buf)
            buf += data
        return data

    def recv(self, bufsize: int) -> bytes:
        buf = self.buf
        if not buf:
            return self._sock.recv(bufsize)
        self.buf = buf[bufsize:]
        if not self.buf:
            self.ready = False
        return bytes(buf[:bufsize])

    def pending(self) -> int:
        return 1 if self.ready else 0

    def __getattr__(self, name):  # send, fileno, close, setblocking, ... of the real socket
        return getattr(self._sock, name)


def packet_bounds(buf: bytes | bytearray, pos: int) -> tuple[int, int, int] | None:
    """The MQTT packet starting at ``buf[pos]``: (command byte, body start, body end), or None while it is not
    complete in ``buf``. Raises ValueError for a remaining length longer than four bytes (a protocol error)."""
    end = len(buf)
    i = pos + 1
    length = 0
    shift = 0
    while True:
        if i >= end:
            return None
        byte = buf[i]
        i += 1
        length |= (byte & 127) << shift
        if not byte & 128:
            break
        shift += 7
        if shift == 28:
            raise ValueError("MQTT remaining length longer than 4 bytes")
    if end - i < length:
        return None
    return buf[pos], i, i + length


def fast_publish(buf: bytes, start: int, end: int, command: int,
                 v5: bool) -> tuple[str, bytes, int, int, bool, bool] | None:
    """(topic, payload, packet id, qos, dup, retain) of the PUBLISH body ``buf[start:end]`` (``command``: its fixed
    header's first byte, which carries the DUP and RETAIN flags) in the common case: QoS 0 or 1, a
    non-empty UTF-8 topic and, for MQTT 5, no properties. None for everything else (QoS 2, properties, topic
    aliases, a malformed packet): paho's own decoder handles those, as it always did."""
    qos = (command & 0x06) >> 1
    if command & 0xF0 != 0x30 or qos > 1 or end - start < 3:
        return None
    topic_end = start + 2 + ((buf[start] << 8) | buf[start + 1])
    if topic_end == start + 2:
        return None  # empty topic: malformed on 3.1.1, a topic alias on 5
    p = topic_end
    mid = 0
    if qos:
        if p + 2 > end:
            return None
        mid = (buf[p] << 8) | buf[p + 1]
        p += 2
    if v5:
        if p >= end or buf[p]:
            return None  # properties present (or truncated)
        p += 1
    elif p > end:
        return None
    try:
        topic = buf[start + 2:topic_end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return topic, buf[p:end], mid, qos, bool(command & 0x08), bool(command & 0x01)


class ConsumerClient(mqtt.Client):
    """paho's client with buffered reads (plain TCP only; TLS and WebSocket transports are left as they are)
    that handles every packet already received in one pass instead of one packet per ``select``.

    With ``on_raw_message`` set, a PUBLISH that ``fast_publish`` can decode (QoS 0/1 without MQTT 5 properties:
    what a broker forwards for our subscriptions) goes straight to
    ``on_raw_message(topic, payload, mid, qos, dup, retain)`` under paho's callback lock, instead of paho's
    generic decoder (a ``Properties`` object per message), an ``MQTTMessage`` and the ``message_callback_add``
    topic matcher (not used by the consumer). Only with ``manual_ack=True`` (paho sends nothing for a message
    then either; the caller acknowledges after its commit).
    Every other packet is handed to paho's own handler unchanged.
    """

    MAX_PACKETS_PER_READ = 1000
    on_raw_message: Callable[[str, bytes, int, int, bool, bool], None] | None = None

    def _create_socket(self):
        sock = super()._create_socket()
        if isinstance(sock, socket.socket) and not self._ssl and self._transport != "websockets":
            return BufferedSocket(sock)
        return sock

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        sock = self._sock
        if not isinstance(sock, BufferedSocket) or self._in_packet["command"]:
            return super().loop_read(max_packets)  # TLS / WebSocket, or a packet paho has begun reading itself
        if not sock.ready:
            failed = self._fill(sock)
            if failed is not None:
                return failed
        buf = self._complete(sock)
        if buf is None:
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        rc = self._dispatch(sock, buf)
        if rc > 0:
            return self._loop_rc_handle(rc)
        if self._sock is None:
            return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _fill(self, sock: BufferedSocket) -> mqtt.MQTTErrorCode | None:
        """One ``recv`` into the buffer; a return code to give back at once, or None when data arrived."""
        try:
            data = sock.fill()
        except BlockingIOError:
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        except OSError as err:
            self._easy_log(mqtt.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return self._loop_rc_handle(mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST)
        if not data:
            return self._loop_rc_handle(mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST)
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return None

    @staticmethod
    def _complete(sock: BufferedSocket) -> bytes | None:
        """The buffer to split, or None while a large packet (collected in a bytearray) is still incomplete."""
        buf = sock.buf
        if isinstance(buf, bytearray):
            try:
                if packet_bounds(buf, 0) is None:
                    return None
            except ValueError:
                pass  # reported by _dispatch
            return bytes(buf)
        return buf

    def _dispatch(self, sock: BufferedSocket, buf: bytes) -> mqtt.MQTTErrorCode:
        """Handle the complete packets in ``buf`` (at most ``MAX_PACKETS_PER_READ``); keep the rest buffered."""
        pos = 0
        handled = 0
        v5 = self._protocol == mqtt.MQTTv5
        handler = self.on_raw_message if self._manual_ack else None  # paho acks itself otherwise: leave it to it
        rc = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        try:
            while handled < self.MAX_PACKETS_PER_READ:
                try:
                    bounds = packet_bounds(buf, pos)
                except ValueError:
                    rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
                    break
                if bounds is None:
                    break
                command, start, end = bounds
                header = buf[pos + 1:start]
                pos = end  # consumed before it is handled: a handler may close the connection
                handled += 1
                fast = fast_publish(buf, start, end, command, v5) if handler is not None else None
                if fast is not None:
                    self._deliver(handler, fast)
                    continue
                rc = self._paho_handle(command, header, buf[start:end])
                if rc or self._sock is not sock:
                    break
        finally:
            if self._sock is sock:
                sock.buf = buf[pos:] if pos < len(buf) else b""
                sock.ready = handled >= self.MAX_PACKETS_PER_READ and bool(sock.buf)
        return rc

    def _deliver(self, handler, fast: tuple) -> None:
        with self._in_callback_mutex:
            try:
                handler(*fast)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

    def _paho_handle(self, command: int, header: bytes, body: bytes) -> mqtt.MQTTErrorCode:
        """paho's own handler: ``_packet_read`` finds the packet complete and only dispatches it."""
        self._in_packet = {"command": command, "have_remaining": 1, "remaining_count": list(header),
                           "remaining_mult": 128 ** len(header), "remaining_length": len(body),
                           "packet": bytearray(body), "to_process": 0, "pos": 0}
        return self._packet_read()


_PUBACK = struct.Struct("!BBH")

#: ``ConsumerClient`` (buffered reads, ``fast_publish``, batched PUBACKs) relies on paho internals of exactly this
#: version (``_packet_queue``, ``_create_socket``, ``_in_packet``/``_packet_read``, ``_loop_rc_handle``); the
#: differential test (tests/test_iot_paho_differential.py) checks it decodes every packet as paho does.
PAHO_FAST_PATH_VERSION = "2.2.0"


def client_class(paho_version: str) -> type[mqtt.Client]:
    """The client to use with the installed paho: ours on the version it was written for, stock paho otherwise
    (with a warning: slower, but correct)."""
    if paho_version == PAHO_FAST_PATH_VERSION:
        return ConsumerClient
    log.warning("paho-mqtt %s is not %s, which the consumer's fast path was written for: using stock paho "
                "(correct, slower); pin paho-mqtt==%s for the fast path", paho_version, PAHO_FAST_PATH_VERSION,
                PAHO_FAST_PATH_VERSION)
    return mqtt.Client


def subscription_filters(settings: Settings) -> list[str]:
    subs = TopicRouter(settings.iot_topic_patterns).subscriptions()
    if settings.mqtt_shared_group:
        subs = [f"$share/{settings.mqtt_shared_group}/{s}" for s in subs]
    return subs


class MqttConsumer:
    def __init__(self, settings: Settings, *, ingestor: Ingestor | None = None, client_id: str | None = None,
                 clock: Clock | None = None):
        self.settings = settings
        self.clock = clock or SystemClock()  # wall time for the heartbeat (a replay clock is for the sweeper)
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
        self.started_at = self.clock.now()
        self.last_stored_at: datetime | None = None
        self.stuck_since: datetime | None = None  # a batch has been failing to store since then
        self.last_error = ""

    # -------------------------------------------------------------------------------------- paho thread side
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:  # e.g. "Not authorized": wrong credentials, or the client id is not ours
            log.warning("MQTT connect to %s refused: %s", self.settings.mqtt_display_url, reason_code)
            self.last_error = f"MQTT connect refused: {reason_code}"
            return
        self.generation += 1
        session = getattr(flags, "session_present", False)
        log.info("MQTT connected (session present: %s), subscribing %s", session, self.filters)
        client.subscribe([(f, 1) for f in self.filters])
        assert self.loop is not None  # set by start() before connecting
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
        self._on_raw_message(msg.topic, msg.payload, msg.mid, msg.qos, bool(msg.dup), bool(msg.retain))

    def _on_raw_message(self, topic: str, payload: bytes, mid: int, qos: int, dup: bool = False,
                        retain: bool = False) -> None:
        # Blocks this (network) thread while the hand-off is full: back-pressure, not memory growth.
        assert self.queue is not None  # set by start() before connecting
        self.queue.put(RawMessage(topic, payload, datetime.now(UTC), mid, qos, self.generation, dup, retain),
                       self._is_closing)

    def _is_closing(self) -> bool:
        return self._closing

    def _ack_many(self, batch: list[RawMessage]) -> None:
        """PUBACK every QoS 1 message of a committed batch that came on the current connection (after a reconnect
        the broker redelivers the others). The PUBACKs of a batch are queued as one buffer, so paho's network
        thread writes them with one ``send`` and is woken once (paho-mqtt 2.2 internals: ``_packet_queue``; each
        PUBACK is the same 4 bytes ``client.ack`` would send, MQTT 3.1.1 and 5)."""
        client = self.client
        if client is None:
            return
        generation = self.generation
        if not isinstance(client, ConsumerClient):  # stock paho (another version): its public ack, one by one
            for item in batch:
                if item.qos and item.generation == generation:
                    client.ack(item.mid, item.qos)
            return
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
        cls = client_class(paho_mqtt.__version__)
        client = cls(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                     protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, clean_session=None if v5 else False,
                     manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        if isinstance(client, ConsumerClient):
            client.on_raw_message = self._on_raw_message  # the common PUBLISH, without paho's MQTTMessage
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.max_inflight_messages_set(1000)
        configure_client(client, self.settings, self.settings.mqtt_credentials)
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
        if self.ingestor.locking:
            log.info("shared subscription %s: each batch locks its devices' rows and reads their state from them",
                     self.settings.mqtt_shared_group)
        self.queue = HandOff(self.loop, self.settings.iot_queue_size)
        self.client = self.build_client()
        host, port = self.settings.mqtt_host_port
        delay = 1.0
        while True:
            try:
                await asyncio.to_thread(self.client.connect, host, port, self.settings.mqtt_keepalive_seconds,
                                        **self._connect_kwargs())
                break
            except OSError as exc:  # ssl.SSLError is one: a certificate problem is retried and logged too
                log.warning("MQTT broker %s unreachable (%s); retrying in %.0fs", self.settings.mqtt_display_url,
                            exc, delay)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
        self.client.loop_start()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set. Batch N+1 is parsed while batch N is committed (one commit in flight);
        a batch is acknowledged only after its commit. A failed commit is retried, never dropped."""
        await self.start()
        stop_wait = asyncio.create_task(stop.wait())
        beating = asyncio.create_task(self._heartbeat_loop(stop))
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
            beating.cancel()
            if pending and not pending[1].done():
                pending[1].cancel()
            await self.close()
            if self.generation != -1:  # aborted like a crashed process: it says nothing, /health notices
                await self.beat(stopped=True)

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
        assert self.queue is not None
        self.queue.release(len(batch))
        self.stored += len(batch)
        self.batches += 1
        self.last_stored_at = self.clock.now()
        self.stuck_since = None
        self.last_error = ""

    async def _gather(self, stop_wait: asyncio.Task) -> list[RawMessage]:
        size = self.settings.iot_batch_size
        assert self.queue is not None
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
        """Store a batch that failed (or could not be prepared): split it until the messages that cannot be stored
        are alone, dead-letter those, store the rest. While the database itself is unreachable nothing is split:
        the whole batch is retried with backoff, never dropped, never acknowledged before it is stored."""
        delay = 0.5
        while True:
            try:
                await self._store_splitting(batch)
                break
            except Exception as exc:  # noqa: BLE001 - a database problem: keep the batch, retry, never drop it
                log.exception("storing a batch of %d messages failed; retrying in %.1fs", len(batch), delay)
                self.stuck_since = self.stuck_since or self.clock.now()
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                self.ingestor.forget()
                if stop is not None and stop.is_set():
                    return  # unacked: the broker redelivers them to the next run
                await asyncio.sleep(delay)
                delay = min(10.0, delay * 2)
        self._acknowledge(batch)

    async def _store_splitting(self, batch: list[RawMessage]) -> None:
        try:
            await self.ingestor.process(batch)
            return
        except Exception as exc:  # noqa: BLE001 - one message, or the database: find out which
            self.ingestor.forget()
            if not await ping():
                raise  # the database: retry the whole batch later
            if len(batch) == 1:
                await self.ingestor.dead_letter(batch[0], exc)
                return
        half = len(batch) // 2  # halves in order: a message's successors are stored after it
        await self._store_splitting(batch[:half])
        await self._store_splitting(batch[half:])

    def heartbeat(self, *, stopped: bool = False) -> Beat:
        now = self.clock.now()
        return Beat(client_id=self.client_id, started_at=self.started_at, reported_at=now,
                    connected=self.connected.is_set() and not stopped, queue_depth=len(self.queue or ()),
                    stored_total=self.stored, dead_letters=int(self.ingestor.stats.get("dead_letters", 0)),
                    last_stored_at=self.last_stored_at, stuck_since=self.stuck_since, last_error=self.last_error,
                    stopped_at=now if stopped else None)

    async def beat(self, *, stopped: bool = False) -> None:
        """Write this consumer's heartbeat row. Never raises: a database that is down is what /health reports."""
        try:
            await write_beat(self.heartbeat(stopped=stopped))
        except Exception as exc:  # noqa: BLE001 - the heartbeat must not take the consumer down
            log.warning("could not write the consumer heartbeat: %s: %s", type(exc).__name__, exc)

    async def _heartbeat_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.beat()
            with contextlib.suppress(TimeoutError):  # the interval passed: beat again
                await asyncio.wait_for(stop.wait(), timeout=self.settings.iot_heartbeat_seconds)

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
