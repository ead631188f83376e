"""Fuzzing every input boundary: random and mutated inputs, crashes, hangs, memory.

``python -m bench fuzz [--inputs N] [--seed S] [--boundary NAME]... [--hang-s S]``

Each boundary gets N inputs, each built from a valid sample by a random
mix of byte-level mutations (bit flips, interesting bytes, inserts, deletes,
duplicated ranges, truncation) and structure-level ones (a JSON value swapped
for one of another type or an extreme one, a key dropped or added, deep
nesting; then re-framed with a correct CRC, and on a protected link a correct
tag, so that the input gets past the integrity checks to the decoders and the
model behind them), or made of random bytes outright. About a fifth of the JSON
and YAML inputs also carry text no encoder can write or that is not UTF-8 at all
(:func:`mutate_text`: lone-surrogate escapes ``\\ud800``, raw surrogate bytes
ED A0 80..ED BF BF, overlong UTF-8, the document re-encoded as UTF-16 or
UTF-32); lone surrogates are among the interesting JSON values too:

``tcp_frames``
    The HMI's receive path: a ring and its framer (``app/comms/ring.py``), a
    client ``Connection`` (every other input on a protected, established link),
    then SNAPSHOT and DELTA applied to a live ``LineState``.
``udp_datagrams``
    ``decode_train_status`` (with and without a datagram key), then the
    session's ``link_status`` on a synchronised session.
``alarm_records``
    ``decode_record`` and the ``AlarmList`` it feeds.
``iscs_messages``
    The ISCS channel's frames and ``app.iscs.messages.decode``.
``yaml_config``
    ``parse_workstation`` and ``parse_line`` on mutated workstation and line files;
    inputs carrying bad text go through a file (``load_workstation``, ``load_line``),
    so that bytes reach the loader's own UTF-8 check.

An input may be refused only with the boundary's own error (``RemoteProtocolError``,
``RecordError``, ``IscsMessageError``, ``ConfigError``...: a clear message naming
what and where). Any other exception is a **crash**, and so are a refusal whose
message cannot be encoded as UTF-8 and an accepted input whose decoded value holds
a string that cannot (:func:`unwritable`: it would crash the console, a log or Qt
later); an input that takes more than ``--hang-s`` is a **hang** (interrupted by
a timer signal). ``leaks_mb`` is the resident memory growth from the end of a
warm-up (a tenth of the inputs) to the end. The last line printed is JSON with,
per boundary, ``inputs``, ``crashes``, ``hangs``, ``leaks_mb``, ``inputs_per_s``
(the rate of the code under test: the time spent feeding inputs, not making
them), ``wall_seconds`` (with making them), ``refused``, ``accepted`` and
``text_inputs`` (how many carried one of :func:`mutate_text`'s changes).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import logging
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from types import SimpleNamespace
from typing import Any

from app.alarms.model import AlarmList
from app.alarms.records import (
    AlarmEvent,
    EndOfTopic,
    EventType,
    Priority,
    Record,
    RecordError,
    RecordType,
    SnapshotPart,
    decode_record,
    encode_record,
)
from app.comms.ring import RingBuffer, RingFramer, RingFull, ring_capacity_for
from app.config import (
    ConfigError,
    load_line,
    load_workstation,
    parse_line,
    parse_workstation,
)
from app.counterparts.sim.world import ServiceSettings, World
from app.iscs.messages import (
    Handoff,
    HandoffAck,
    HandoffKind,
    IscsHello,
    IscsMessage,
    IscsMessageError,
)
from app.iscs.messages import decode as iscs_decode
from app.iscs.messages import encode as iscs_encode
from app.model.commands import CommandOp, CommandResult, Outcome
from app.model.state import LineState, SequenceGap, StateDelta, StateSnapshot, UnknownDevice
from app.paths import default_line_file, default_workstation_file
from app.protocol.connection import Connection
from app.protocol.errors import RemoteProtocolError
from app.protocol.frames import (
    Frame,
    FrameDecoder,
    MessageType,
    NeedData,
    encode_frame,
    frame_header,
    seal,
)
from app.protocol.messages import Heartbeat, Hello, Message, encode_message
from app.protocol.security import TAG_SIZE, LinkKeys, LinkPolicy, MacKey
from app.protocol.udp import TrainStatus, decode_train_status, encode_train_status
from app.session import DispatcherSession, Endpoint, MasterView

MAX_PAYLOAD = 64 * 1024
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xC0, 0xED, 0xFF)
INTERESTING_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**32,
    -(2**63),
    2**64,
    10**30,
    0.5,
    -0.0,
    1e308,
    float("nan"),
    float("inf"),
    "",
    "x" * 300,
    "\u0000",
    "é\u202e☃",
    "W0101",
    "train:1",
    "\ud800",  # lone surrogates: "\\ud800" escapes or ED A0 80 bytes, as dumps() writes them
    "x\udfff",
    "\udc00\ud800",
    [],
    {},
    [1, "a", None],
    {"a": {"b": []}},
)


#: What :func:`mutate_text` puts into a document (issue 16, defect 7).
SURROGATE_ESCAPES = (b"\\ud800", b"\\udbff", b"\\udc00", b"\\uDFFF", b"\\udc00\\ud800")
OVERLONG_UTF8 = (
    b"\xc0\xaf",
    b"\xc0\x80",
    b"\xc1\xbf",
    b"\xe0\x80\xaf",
    b"\xe0\x9f\xbf",
    b"\xf0\x80\x80\xaf",
)
WIDE_ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")
TEXT_SHARE = 0.2  # of the JSON and YAML inputs, those that also get a mutate_text change


class Hang(Exception):
    """An input ran past the hang limit."""


class Unwritable(Exception):
    """A decoded value holds a string that cannot be encoded as UTF-8."""


@dataclass
class Result:
    name: str
    inputs: int = 0
    crashes: int = 0
    hangs: int = 0
    refused: int = 0
    accepted: int = 0
    seconds: float = 0.0  # feeding the inputs to the code under test
    wall_seconds: float = 0.0  # with making them
    leaks_mb: float = 0.0
    text_inputs: int = 0
    examples: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        rate = self.inputs / self.seconds if self.seconds else 0.0
        return {
            "inputs": self.inputs,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "leaks_mb": round(self.leaks_mb, 2),
            "inputs_per_s": round(rate, 1),
            "wall_seconds": round(self.wall_seconds, 1),
            "refused": self.refused,
            "accepted": self.accepted,
            "text_inputs": self.text_inputs,
        }


# -- mutations ------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes, rounds: int = 0) -> bytes:
    b = bytearray(data)
    for _ in range(rounds or rng.randint(1, 4)):
        op = rng.randrange(7)
        if op == 0 and b:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.choice(INTERESTING_BYTES)
        elif op == 2:
            i = rng.randint(0, len(b))
            b[i:i] = rng.randbytes(rng.randint(1, 16))
        elif op == 3 and b:
            i = rng.randrange(len(b))
            del b[i : i + rng.randint(1, 16)]
        elif op == 4 and b:
            i = rng.randrange(len(b))
            j = min(len(b), i + rng.randint(1, 32))
            b[j:j] = b[i:j]
        elif op == 5 and b:
            del b[rng.randrange(len(b)) :]
        elif op == 6 and len(b) >= 4:
            i = rng.randrange(len(b) - 3)
            b[i : i + 4] = rng.choice(
                (b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff")
            )
    return bytes(b)


_QUOTE = re.compile(rb'(?<!\\)"')  # a quote that is not escaped
_COLON = re.compile(rb": ")


def _inside_text(rng: random.Random, data: bytes, piece: bytes) -> bytes:
    """``piece`` inside a string or a key, so that it gets past the syntax to the text
    checks: just after an opening quote (every other unescaped one); where a document
    has none (a YAML line file), as the quoted value of a ``key: value``."""
    quotes = [m.start() for m in _QUOTE.finditer(data)]
    if quotes:
        i = rng.choice(quotes[::2]) + 1
        return data[:i] + piece + data[i:]
    colons = [m.start() for m in _COLON.finditer(data)]
    if not colons:
        i = rng.randint(0, len(data))
        return data[:i] + piece + data[i:]
    i = rng.choice(colons) + 2
    ends = [j for j in (data.find(c, i) for c in (b",", b"}", b"\n")) if j >= 0]
    end = min(ends, default=len(data))  # the value ends at the flow mapping's , or } too
    return data[:i] + b'"x' + piece + b'"' + data[end:]


def mutate_text(rng: random.Random, data: bytes) -> bytes:
    """``data`` with text no encoder can write, or no longer UTF-8: a lone-surrogate
    escape, raw surrogate bytes (ED A0 80..ED BF BF), an overlong UTF-8 sequence, or the
    whole document re-encoded as UTF-16 or UTF-32 (with or without a byte order mark)."""
    op = rng.randrange(4)
    if op == 0:
        return _inside_text(rng, data, rng.choice(SURROGATE_ESCAPES))
    if op == 1:
        raw = bytes((0xED, rng.randint(0xA0, 0xBF), rng.randint(0x80, 0xBF)))
        return _inside_text(rng, data, raw * rng.randint(1, 2))
    if op == 2:
        return _inside_text(rng, data, rng.choice(OVERLONG_UTF8))
    return data.decode("utf-8", "replace").encode(rng.choice(WIDE_ENCODINGS))


class TextMutator:
    """:func:`mutate_text` for a share of one boundary's inputs, counting them."""

    def __init__(self) -> None:
        self.count = 0

    def apply(self, rng: random.Random, data: bytes) -> bytes:
        self.count += 1
        return mutate_text(rng, data)

    def maybe(self, rng: random.Random, data: bytes) -> bytes:
        return self.apply(rng, data) if rng.random() < TEXT_SHARE else data


def unwritable(value: Any) -> str | None:
    """Where ``value`` (a decoded message, record or configuration: dataclasses, named
    tuples, dicts, lists) holds a string that cannot be encoded as UTF-8, or None."""
    stack: list[tuple[Any, str]] = [(value, "")]
    seen: set[int] = set()
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"{path or '<value>'}: U+{ord(item[exc.start]):04X} at {exc.start}"
            continue
        if item is None or isinstance(item, int | float | bytes) or id(item) in seen:
            continue
        seen.add(id(item))  # configurations share objects (an index of the same items)
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            for f in dataclasses.fields(item):
                stack.append((getattr(item, f.name), f"{path}.{f.name}"))
        elif isinstance(item, dict):
            for k, v in item.items():
                stack.append((k, f"{path}{{key}}"))
                stack.append((v, f"{path}[{k!r}]"))
        elif isinstance(item, tuple | list | set | frozenset):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, PurePath):
            stack.append((str(item), path))
    return None


def check_writable(value: Any) -> None:
    """Raise :class:`Unwritable` (counted as a crash) if ``value`` holds such a string."""
    where = unwritable(value)
    if where is not None:
        raise Unwritable(f"decoded text cannot be encoded as UTF-8 at {where}")


def interesting(rng: random.Random) -> Any:
    """One of the interesting values, a fresh copy (later changes must not touch the table)."""
    return copy.deepcopy(rng.choice(INTERESTING_VALUES))


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if len(prefix) > 12:
        return  # not into a deep nest a previous change made
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def mutate_json(rng: random.Random, doc: Any) -> Any:
    """A copy of ``doc`` with one to three structural changes."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        paths = list(_paths(doc))
        path = rng.choice(paths)
        if not path:
            if rng.random() < 0.1:
                return interesting(rng)
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        op = rng.randrange(5)
        if op == 0 and isinstance(parent, dict):
            del parent[key]
        elif op == 1 and isinstance(parent, dict):
            parent[rng.choice(("extra", "", "\u0000", "seq", "id", "\udfff"))] = interesting(rng)
        elif op == 2:
            nest: Any = 0
            for _ in range(rng.choice((2, 50, 5000))):
                nest = [nest]
            parent[key] = nest
        elif op == 3 and isinstance(parent, list):
            parent.append(parent[key])  # shared, not copied: it may be a deep nest
        else:
            parent[key] = interesting(rng)
    return doc


def dumps(doc: Any, rng: random.Random | None = None) -> bytes:
    """JSON bytes; a lone surrogate comes out as raw bytes (ED A0 80), or, for a third
    of the documents when ``rng`` is given, as its escape (``\\ud800``)."""
    ascii_only = rng is not None and rng.random() < 1 / 3
    try:
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=ascii_only).encode(
            "utf-8", "surrogatepass"
        )
    except (RecursionError, ValueError):
        return b"[" * 3000


def random_bytes(rng: random.Random, limit: int = 200) -> bytes:
    return rng.randbytes(rng.randint(0, limit))


# -- running --------------------------------------------------------------------------


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        return 0.0


@contextlib.contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    if not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(_sig: int, _frame: object) -> None:
        raise Hang(f"input ran past {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _printable(text: str) -> str:
    """``text`` with anything UTF-8 cannot hold escaped: the bench prints what it found."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


Case = Callable[[random.Random], Callable[[], bool]]
"""Makes one input and returns the call that feeds it (True: accepted)."""


def run_boundary(
    name: str,
    case: Case,
    expected: tuple[type[BaseException], ...],
    n: int,
    seed: int,
    hang_s: float,
) -> Result:
    res = Result(name)
    rng = random.Random(f"{seed}:{name}")
    warmup = max(1, n // 10)
    base_rss = 0.0
    busy = 0.0
    wall0 = time.perf_counter()
    for i in range(n):
        if i == warmup:
            base_rss = rss_mb()
        feed = case(rng)
        t0 = time.perf_counter()
        try:
            with hang_guard(hang_s):
                ok = feed()
        except Hang as exc:
            res.hangs += 1
            if len(res.examples) < 5:
                res.examples.append(f"hang: input {i}: {exc}")
        except expected as exc:
            try:
                str(exc).encode("utf-8")
                res.refused += 1
            except UnicodeEncodeError:
                # A refusal the log handler cannot write is a crash one step later.
                res.crashes += 1
                if len(res.examples) < 5:
                    res.examples.append(
                        f"crash: input {i}: {type(exc).__name__} whose message cannot be "
                        f"encoded as UTF-8: {_printable(str(exc))[:160]}"
                    )
        except Exception as exc:
            res.crashes += 1
            if len(res.examples) < 5:
                tb = traceback.extract_tb(exc.__traceback__)[-1]
                res.examples.append(
                    f"crash: input {i}: {type(exc).__name__}: {_printable(str(exc))[:160]} "
                    f"at {Path(tb.filename).name}:{tb.lineno}"
                )
        else:
            if ok:
                res.accepted += 1
            else:
                res.refused += 1
        busy += time.perf_counter() - t0
        res.inputs += 1
    res.seconds = busy
    res.wall_seconds = time.perf_counter() - wall0
    res.leaks_mb = max(0.0, rss_mb() - base_rss) if base_rss else 0.0
    return res


# -- boundaries -------------------------------------------------------------------------

KEYS = LinkKeys((("fuzz", bytes(range(32))),))


class TcpBoundary:
    """Bytes into the HMI's ring and framer, a client connection, the line state."""

    def __init__(self) -> None:
        self.line = load_line(default_line_file())
        world = World(self.line, ServiceSettings(trains=6), wall_ms=lambda: 1_800_000_000_000)
        for _ in range(40):
            world.step(0.5)
        self.snapshot = world.snapshot()
        deltas: list[StateDelta] = []
        while len(deltas) < 5:
            world.step(1.0)
            d = world.publish()
            if d is not None:
                deltas.append(d)
        self.samples: list[Message] = [
            Hello("A", "master", self.line.id, self.line.digest(), epoch=1),
            Heartbeat("A", "master", 1, pong_ms=5),
            self.snapshot,
            *deltas,
            CommandResult("c1", "W0101", CommandOp.THROW_NORMAL, Outcome.REFUSED, "x", "why"),
        ]
        self.docs = [(encode_message(m)[0], json.loads(encode_message(m)[1])) for m in self.samples]
        self.state = LineState(self.line)
        self.state.apply_snapshot(self.snapshot)
        self.ring = RingBuffer(ring_capacity_for(MAX_PAYLOAD))
        self.text = TextMutator()

    def _pair(self, protected: bool) -> tuple[Connection, Connection]:
        policy = LinkPolicy(KEYS, max_age_ms=600_000) if protected else None
        client = Connection(policy=policy, side="client")
        server = Connection(policy=policy, side="server")
        if protected:
            server.receive_data(client.send(Hello("WS", "dispatcher", self.line.id, "d")))
            server.next_event()
            client.receive_data(server.send(Hello("A", "master", self.line.id, "d")))
            client.next_event()
        return client, server

    def _frame(
        self, server: Connection, mtype: MessageType, payload: bytes, protected: bool
    ) -> bytes:
        seq = server._send_seq
        server._send_seq += 1
        stamp = time.time_ns() // 1_000_000
        if not protected:
            return encode_frame(mtype, seq, payload[:MAX_PAYLOAD], timestamp_ms=stamp)
        head = frame_header(mtype, seq, len(payload), timestamp_ms=stamp, tag_len=TAG_SIZE)
        key: MacKey = server._send_key
        return seal(head, payload, key.tag(head, payload))

    def case(self, rng: random.Random) -> Callable[[], bool]:
        protected = rng.random() < 0.5
        client, server = self._pair(protected)
        stream = bytearray()
        if not protected:
            # An unprotected client takes any message first; a HELLO, as a server sends.
            hello = encode_message(self.samples[0])[1]
            stream += self._frame(server, MessageType.HELLO, hello, False)
        mode = rng.random()
        frames = rng.randint(1, 4)
        text_at = rng.randrange(frames) if rng.random() < TEXT_SHARE else -1  # one frame's text
        for index in range(frames):
            mtype, doc = rng.choice(self.docs)
            if mtype is MessageType.DELTA and isinstance(doc, dict) and self.state.seq is not None:
                doc = dict(doc, seq=self.state.seq + 1)
            if mode < 0.6:
                payload = dumps(mutate_json(rng, doc), rng)
            elif mode < 0.8:
                payload = mutate_bytes(rng, dumps(doc))
            else:
                payload = dumps(doc)
            if index == text_at:
                payload = self.text.apply(rng, payload)
            stream += self._frame(server, mtype, payload, protected)
        data = bytes(stream)
        if mode >= 0.8:
            data = mutate_bytes(rng, data) if rng.random() < 0.7 else random_bytes(rng, 400)

        def feed() -> bool:
            ring = self.ring  # one ring, as a link has one per connection, emptied per input
            ring.clear()
            framer = RingFramer(ring, MAX_PAYLOAD)
            accepted = 0

            def on_frame(frame: Frame) -> None:
                nonlocal accepted
                msg = client.accept(frame)
                if msg is None:
                    return
                check_writable(msg)
                accepted += 1
                st = self.state
                if isinstance(msg, StateSnapshot):
                    st.apply_snapshot(msg)
                elif isinstance(msg, StateDelta):
                    try:
                        st.apply_delta(msg)
                    finally:
                        if st.seq is None:
                            st.apply_snapshot(self.snapshot)

            pos = 0
            while pos < len(data):
                chunk = data[pos : pos + rng.randint(1, 2048)]
                pos += len(chunk)
                view = ring.get_buffer(len(chunk))
                n = min(len(view), len(chunk))
                view[:n] = chunk[:n]
                ring.buffer_updated(n)
                pos -= len(chunk) - n
                framer.drain(on_frame)
            return accepted > 0

        return feed


class UdpBoundary:
    """Datagrams into the decoder (with and without a key), then the session."""

    def __init__(self, tcp: TcpBoundary) -> None:
        self.line = tcp.line
        self.key = MacKey(bytes(32))
        self.session = DispatcherSession(
            self.line, [Endpoint("A", "127.0.0.1", 1)], node="F", dispatcher="f", role="observer"
        )
        self.session.master = MasterView("A", 1, (("A", 1),))
        self.session.state.apply_snapshot(tcp.snapshot)
        self.link = SimpleNamespace(server="A", name="fuzz")
        self.samples = [
            TrainStatus(
                i,
                1_800_000_000_000,
                i % 7 + 1,
                f"0{i}01",
                i % 150,
                i * 37,
                400,
                i % 2,
                i % 4,
                i % 3,
            )
            for i in range(1, 8)
        ]

    def case(self, rng: random.Random) -> Callable[[], bool]:
        keyed = rng.random() < 0.5
        key = self.key if keyed else None
        mode = rng.random()
        rec = rng.choice(self.samples)
        if mode < 0.5:
            # Fields anywhere in their raw range, consist fields too: a correct CRC and tag.
            body = bytearray(encode_train_status(rec, key)[:44])
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(16, 44)
                body[i] = rng.randrange(256)
            body[4:8] = rng.randrange(2**32).to_bytes(4, "big")
            data = bytes(body) + (key.tag(body) if key else b"")
            data += zlib.crc32(data).to_bytes(4, "big")
        elif mode < 0.9:
            data = mutate_bytes(rng, encode_train_status(rec, key))
        else:
            data = random_bytes(rng, 80)

        def feed() -> bool:
            status = decode_train_status(data, len(data), key)
            check_writable(status)
            self.session.link_status(self.link, status)  # type: ignore[arg-type]
            return True

        return feed


class RecordBoundary:
    def __init__(self) -> None:
        ev = AlarmEvent(
            "A1",
            EventType.RAISE,
            "W0101",
            "S01",
            "Z1",
            Priority.HIGH,
            "switch_lost",
            "ALM-SW-001",
            "道岔失表",
            "switch lost",
            1_800_000_000_000,
            1_800_000_000_000,
            True,
            False,
        )
        self.samples = [
            encode_record(Record(RecordType.CHANGE, "A", 5, 1_800_000_000_000, 0, ev)),
            encode_record(
                Record(
                    RecordType.SNAPSHOT,
                    "A",
                    5,
                    1_800_000_000_000,
                    0,
                    SnapshotPart("s", 0, 1, (ev,)),
                )
            ),
            encode_record(
                Record(RecordType.END, "A", 6, 1_800_000_000_000, 0, EndOfTopic("alarms.x"))
            ),
        ]
        self.docs = [json.loads(s) for s in self.samples]
        self.alarms = AlarmList(lambda: 1_800_000_000_000)
        self.text = TextMutator()

    def case(self, rng: random.Random) -> Callable[[], bool]:
        mode = rng.random()
        if mode < 0.6:
            data: bytes | None = dumps(mutate_json(rng, rng.choice(self.docs)), rng)
        elif mode < 0.9:
            data = mutate_bytes(rng, rng.choice(self.samples))
        elif mode < 0.97:
            data = random_bytes(rng)
        else:
            data = None  # a tombstone
        if data is not None and mode < 0.9:
            data = self.text.maybe(rng, data)

        def feed() -> bool:
            rec = decode_record(data)
            check_writable(rec)  # before the list keeps it: the alarm list prints and shows it
            self.alarms.apply(rec)
            return True

        return feed


class IscsBoundary:
    def __init__(self) -> None:
        msgs: list[IscsMessage] = [
            IscsHello("s" * 32, "prog"),
            Handoff("h1", HandoffKind.SHOW_DEVICE, "S01", "W0101", "", "d", 1_800_000_000_000),
            HandoffAck("h1"),
        ]
        self.samples = [iscs_encode(m) for m in msgs]
        self.text = TextMutator()

    def case(self, rng: random.Random) -> Callable[[], bool]:
        kind, payload = rng.choice(self.samples)
        mode = rng.random()
        if mode < 0.6:
            payload = dumps(mutate_json(rng, json.loads(payload)), rng)
        elif mode < 0.9:
            payload = mutate_bytes(rng, payload)
        else:
            payload = random_bytes(rng)
        if mode < 0.9:
            payload = self.text.maybe(rng, payload)
        if rng.random() < 0.2:
            kind = rng.choice(list(MessageType))
        frame = encode_frame(kind, 0, payload)
        if rng.random() < 0.3:
            frame = mutate_bytes(rng, frame)

        def feed() -> bool:
            dec = FrameDecoder(16 * 1024)
            dec.receive_data(frame)
            got = dec.next_event()
            if isinstance(got, NeedData):
                return False
            check_writable(iscs_decode(got.type, got.payload))
            return True

        return feed


class YamlBoundary:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ws_text = default_workstation_file().read_text(encoding="utf-8")
        line_text = default_line_file().read_text(encoding="utf-8")
        (workdir / "demo-line.yaml").write_text(line_text, encoding="utf-8")
        self.ws_text = self.ws_text.replace("../lines/demo-line.yaml", "demo-line.yaml")
        # A small line (the start of the demo line's lists) keeps line parsing cheap.
        self.line_text = _small_line(line_text)
        self.text = TextMutator()

    def case(self, rng: random.Random) -> Callable[[], bool]:
        is_line = rng.random() < 0.4
        text = self.line_text if is_line else self.ws_text
        mode = rng.random()
        if mode < 0.5:
            lines = text.splitlines()
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(lines))
                op = rng.randrange(6)
                if op == 0:
                    del lines[i]
                elif op == 1:
                    lines.insert(i, lines[rng.randrange(len(lines))])
                elif op == 2:
                    lines[i] = " " * rng.randint(0, 6) + lines[i].lstrip()
                elif op == 3 and ":" in lines[i]:
                    k, _, _ = lines[i].partition(":")
                    lines[i] = (
                        k
                        + ": "
                        + rng.choice(
                            (
                                "~",
                                "[]",
                                "{}",
                                "-1",
                                "1e999",
                                "yes",
                                "'x'",
                                "!!binary AA==",
                                "*a",
                                "&a 1",
                                "[[[[[[",
                                '"\\u0000"',
                                "0x1F",
                                "2026-11-29",
                                "- 1",
                                '"\\ud800"',  # PyYAML makes lone surrogates of these
                                '"x\\udfff y"',
                                '"\\U0000DC00"',
                                '"\\ud83d\\ude00"',  # a pair, which PyYAML does not join
                            )
                        )
                    )
                elif op == 4 and ":" in lines[i]:
                    k, _, v = lines[i].partition(":")
                    indent = k[: len(k) - len(k.lstrip(" -"))]
                    lines[i] = f'{indent}"{k.lstrip(" -")}\\udfff":{v}'  # a key
                else:
                    lines[i] = mutate_bytes(rng, lines[i].encode()).decode("utf-8", "replace")
            text = "\n".join(lines)
        elif mode < 0.95:
            text = mutate_bytes(rng, text.encode()).decode("utf-8", "replace")
        else:
            text = rng.randbytes(rng.randint(0, 300)).decode("latin-1")
        # Bad bytes must reach the loader's own decoding: those inputs go through a file.
        raw = None
        if rng.random() < TEXT_SHARE:
            if rng.random() < 0.5:  # half on a valid file: most mutations above break the syntax
                text = self.line_text if is_line else self.ws_text
            raw = self.text.apply(rng, text.encode("utf-8", "surrogatepass"))
        file = self.workdir / ("fuzz-line.yaml" if is_line else "fuzz.yaml")

        def feed() -> bool:
            got: Any
            if raw is not None:
                file.write_bytes(raw)
                got = load_line(file) if is_line else load_workstation(file)
            elif is_line:
                got = parse_line(text, "fuzz-line.yaml")
            else:
                got = parse_workstation(text, "fuzz.yaml", self.workdir)
            check_writable(got)
            return True

        return feed


def _small_line(text: str) -> str:
    """The line file with each top-level list cut to its first few items (still consistent
    enough to parse often: the checker refuses what no longer fits)."""
    out, kept, in_list = [], 0, False
    for row in text.splitlines():
        if row.startswith("  ") and not row.startswith("    ") and row.rstrip().endswith(":"):
            in_list, kept = True, 0
            out.append(row)
            continue
        if in_list and row.startswith("    - "):
            kept += 1
        if in_list and kept > 12:
            continue
        out.append(row)
    return "\n".join(out)


BOUNDARIES = ("tcp_frames", "udp_datagrams", "alarm_records", "iscs_messages", "yaml_config")


def run(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench fuzz", description=__doc__.split("\n")[0])
    p.add_argument("--inputs", type=int, default=10_000, help="inputs per boundary (10000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (1)")
    p.add_argument("--hang-s", type=float, default=2.0, help="an input slower than this hangs (2)")
    p.add_argument(
        "--boundary", action="append", choices=BOUNDARIES, help="only these (default: all)"
    )
    args = p.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the code under test logs what it refuses
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    chosen = args.boundary or list(BOUNDARIES)
    results: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dhmi-fuzz-") as tmp:
        tcp = TcpBoundary()
        records, iscs, yml = RecordBoundary(), IscsBoundary(), YamlBoundary(Path(tmp))
        cases: dict[str, tuple[Case, tuple[type[BaseException], ...], TextMutator | None]] = {
            "tcp_frames": (
                tcp.case,
                (RemoteProtocolError, SequenceGap, UnknownDevice, RingFull),
                tcp.text,
            ),
            "udp_datagrams": (UdpBoundary(tcp).case, (RemoteProtocolError,), None),
            "alarm_records": (records.case, (RecordError,), records.text),
            "iscs_messages": (iscs.case, (RemoteProtocolError, IscsMessageError), iscs.text),
            "yaml_config": (yml.case, (ConfigError,), yml.text),
        }
        for name in chosen:
            case, expected, text = cases[name]
            res = run_boundary(name, case, expected, args.inputs, args.seed, args.hang_s)
            res.text_inputs = text.count if text is not None else 0
            print(
                f"{name:<14} {res.inputs:>9} inputs  {res.figures()['inputs_per_s']:>9,.0f}/s  "
                f"crashes {res.crashes}  hangs {res.hangs}  leaks {res.leaks_mb:.2f} MB  "
                f"(refused {res.refused}, accepted {res.accepted}, bad text {res.text_inputs})",
                flush=True,
            )
            for example in res.examples:
                print(f"    {example}")
            results[name] = res.figures()
    logging.disable(logging.NOTSET)
    return {
        "boundaries": results,
        "crashes": sum(r["crashes"] for r in results.values()),
        "hangs": sum(r["hangs"] for r in results.values()),
        "inputs_per_boundary": args.inputs,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - started, 1),
    }
