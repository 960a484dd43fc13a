"""Reading Redis replies within bounds, whatever the server sends.

redis-py reads what a server declares: a bulk string of 2^40 bytes, an array of 2^31 elements,
arrays nested 10,000 deep (a RecursionError), a line that never ends, a reply that trickles in
forever. A diagnostic talks to servers that are broken, or owned by someone hostile, so here
every reply is checked while it is read, before anything is allocated for it:

- its cost - the bytes it declares and receives, plus ELEMENT_COST for each element (about what
  a parsed element costs in memory) - stays within REPLY_BUDGET;
- its aggregates nest at most MAX_DEPTH deep;
- each header is well formed: a length is a number, a double parses, a boolean is t or f;
- the whole reply (not each recv) arrives within the connection's socket timeout, and before
  the connection's deadline (the check's own limit): a check the engine has abandoned stops
  reading by itself.

A reply that breaks one of these raises ProtocolViolation, a RedisError (so every check that
handles redis errors handles it) that redis-py answers by closing the connection. The parsers
subclass redis-py's pure-Python ones (redis._parsers, there since redis-py 5.0) and replace only
their socket buffer. This module imports redis: import it lazily.
"""

from __future__ import annotations

import functools
import re
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

import redis
from redis._parsers import _RESP2Parser, _RESP3Parser
from redis._parsers.socket import SocketBuffer

from troubleshooter.lazyre import lazy_compile

MIB = 1024 * 1024
REPLY_BUDGET = 8 * MIB
# What one parsed element (a bytes, an int, a list slot) costs in memory, about.
ELEMENT_COST = 64
# Redis's own replies nest a few levels (COMMAND DOCS, XINFO STREAM FULL: about 6).
MAX_DEPTH = 32
# A header, a simple string or an error: Redis's longest are a few hundred bytes.
MAX_LINE = 1 * MIB
# INFO is a few KB on any real server; redis-py's parse_info turns a byte into ~10 of memory.
INFO_BUDGET = 1 * MIB

_LENGTH = lazy_compile(rb"-?[0-9]{1,19}")
_BIG_NUMBER = lazy_compile(rb"-?[0-9]{1,400}")
_LEAF_BYTES = b"+-:(,#_"
_BLOB_BYTES = b"$=!"
_AGGREGATE_BYTES = b"*~%>|"


class ProtocolViolation(redis.exceptions.InvalidResponse):
    """A reply that breaks the Redis protocol or our bounds; the message says how."""


def shown(data: bytes, limit: int = 40) -> str:
    """Bytes as safe text for a one-line message: non-printable bytes as \\xNN, cut short."""
    text = "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in data[:limit])
    return text + ("..." if len(data) > limit else "")


class _Metered:
    """The socket as the buffer sees it: every recv counted and bounded by the reply's clock."""

    def __init__(self, sock: socket.socket, buffer: BoundedBuffer) -> None:
        self._sock = sock
        self._buffer = buffer
        self._wanted: float | None = sock.gettimeout()

    def settimeout(self, value: float | None) -> None:
        self._wanted = value
        self._sock.settimeout(value)

    def recv(self, size: int) -> bytes:
        buffer = self._buffer
        self._sock.settimeout(buffer.recv_timeout(self._wanted))
        try:
            data = self._sock.recv(size)
        except TimeoutError:
            buffer.timed_out()
            raise
        buffer.received(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BoundedBuffer(SocketBuffer):
    """redis-py's socket buffer, checking each reply's framing, cost and clock as it reads."""

    def __init__(self, sock: socket.socket, socket_read_size: int,
                 socket_timeout: float | None, deadline: float | None) -> None:
        metered: Any = _Metered(sock, self)  # a socket to SocketBuffer: it calls recv, settimeout
        super().__init__(metered, socket_read_size, socket_timeout)  # type: ignore[arg-type]
        self.reply_timeout = socket_timeout
        self.deadline = deadline
        self.start_reply()

    def start_reply(self) -> None:
        """A new reply begins: fresh budget, fresh clock."""
        self.started = time.monotonic()
        self.reply_end = None if not self.reply_timeout else self.started + self.reply_timeout
        self.cost = 0
        self.got = 0
        # Elements still to come in each open aggregate; top-level push messages read within
        # this reply (redis-py reads the reply after a push recursively).
        self.open: list[int] = []
        self.pushes = 0
        self.line_from: int | None = None  # `got` when the line being read began

    # --- the clock and the byte count, from _Metered ------------------------------------------

    def recv_timeout(self, wanted: float | None) -> float | None:
        """The timeout of the next recv: the one asked for, cut to what the clocks leave."""
        ends = [t for t in (self.reply_end, self.deadline) if t is not None]
        if wanted == 0 or not ends:
            return wanted
        left = min(ends) - time.monotonic()
        if left <= 0:
            self.timed_out()
            raise TimeoutError("timed out")
        return left if wanted is None else min(wanted, left)

    def timed_out(self) -> None:
        """No answer in time: a plain timeout, unless part of the reply came."""
        if self.got:
            raise ProtocolViolation(
                f"its reply was still incomplete after {time.monotonic() - self.started:.1f} s "
                f"({self.got} bytes received): it trickles in, or never ends")

    def received(self, count: int) -> None:
        self.got += count
        if self.line_from is not None and (
                self.got - self.line_from > MAX_LINE + self.socket_read_size):
            raise ProtocolViolation(f"its reply holds a line longer than {MAX_LINE // MIB} MiB "
                                    "without an end (\\r\\n)")
        # One read may run a chunk past the reply's end into the next reply.
        if self.got > REPLY_BUDGET + self.socket_read_size:
            raise ProtocolViolation(f"its reply runs past {REPLY_BUDGET // MIB} MiB without "
                                    "ending (the most this tool reads per reply)")

    # --- framing ------------------------------------------------------------------------------

    def readline(self, *args: Any, **kwargs: Any) -> bytes:
        self.line_from = self.got
        try:
            line: bytes = super().readline(*args, **kwargs)
        finally:
            self.line_from = None
        if line:
            self._check(line[:1], line[1:])
        return line

    def _check(self, kind: bytes, rest: bytes) -> None:
        if kind == b"$" and rest.isdigit() and len(rest) < 20:  # the common case, quickly
            self._charge(len(rest) + 3 + ELEMENT_COST + int(rest))
            self._element_done()
            return
        self._charge(len(rest) + 3 + ELEMENT_COST)
        if kind in _BLOB_BYTES:
            size = self._number(kind, rest, _LENGTH)
            if size < -1 or (size == -1 and kind != b"$"):
                self._bad(kind, rest, "a negative length")
            self._charge(max(size, 0))
        elif kind in _AGGREGATE_BYTES:
            self._open(kind, rest)
            return
        elif kind in b":(":
            self._number(kind, rest, _LENGTH if kind == b":" else _BIG_NUMBER)
        elif kind == b",":
            try:
                float(rest)
            except ValueError:
                self._bad(kind, rest, "not a number")
        elif kind == b"#" and rest not in (b"t", b"f"):
            self._bad(kind, rest, "a boolean must be t or f")
        elif kind == b"_" and rest:
            self._bad(kind, rest, "a null carries nothing")
        self._element_done()

    def _open(self, kind: bytes, rest: bytes) -> None:
        count = self._number(kind, rest, _LENGTH)
        if count < -1 or (count == -1 and kind != b"*"):
            self._bad(kind, rest, "a negative count")
        items = count * 2 if kind in b"%|" else max(count, 0)
        if items * ELEMENT_COST > REPLY_BUDGET - self.cost:
            raise ProtocolViolation(
                f"its reply declares {count} elements ({kind.decode()}{shown(rest)}), more than "
                f"the {REPLY_BUDGET // MIB} MiB this tool reads per reply")
        self._charge(items * ELEMENT_COST)
        if kind == b">" and not self.open:
            self.pushes += 1  # out of band, and redis-py reads the reply after it recursively
        if not items:
            self._element_done()
            return
        self.open.append(items)
        if len(self.open) + self.pushes > MAX_DEPTH:
            raise ProtocolViolation(f"its reply nests deeper than {MAX_DEPTH} levels")

    def _element_done(self) -> None:
        """An element is complete: so is each aggregate it was the last element of."""
        while self.open:
            self.open[-1] -= 1
            if self.open[-1]:
                return
            self.open.pop()

    def _number(self, kind: bytes, rest: bytes, form: re.Pattern[bytes]) -> int:
        if not form.fullmatch(rest):
            self._bad(kind, rest, "not a number")
        return int(rest)

    def _charge(self, cost: int) -> None:
        self.cost += cost
        if self.cost > REPLY_BUDGET:
            raise ProtocolViolation(f"its reply is larger than the {REPLY_BUDGET // MIB} MiB "
                                    "this tool reads per reply")

    @staticmethod
    def _bad(kind: bytes, rest: bytes, why: str) -> None:
        raise ProtocolViolation(f"malformed reply header {kind.decode('latin-1')!r} "
                                f"{shown(rest)!r}: {why}")


class _Bounded:
    """The parser mixin: a bounded buffer per connection, a fresh budget per reply."""

    _buffer: BoundedBuffer | None
    socket_read_size: int

    def __init__(self, socket_read_size: int, deadline: float | None = None) -> None:
        super().__init__(socket_read_size)  # type: ignore[call-arg]
        self.deadline = deadline

    def on_connect(self, connection: Any) -> None:
        super().on_connect(connection)  # type: ignore[misc]
        self._buffer = BoundedBuffer(connection._sock, self.socket_read_size,
                                     connection.socket_timeout, self.deadline)

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        if self._buffer is not None:
            self._buffer.start_reply()
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except TypeError as exc:  # a map keyed by an array: unhashable
            raise ProtocolViolation(f"its reply is malformed ({exc})") from exc


class BoundedRESP2Parser(_Bounded, _RESP2Parser):
    pass


class BoundedRESP3Parser(_Bounded, _RESP3Parser):
    pass


def parser_class(protocol: int, deadline: float | None) -> Callable[..., Any]:
    """What redis-py's `parser_class` takes: a bounded parser for `protocol`.

    A RESP3 connection must get a RESP3 parser: redis-py swaps a RESP2 one for its own.
    """
    cls = BoundedRESP3Parser if protocol == 3 else BoundedRESP2Parser
    return functools.partial(cls, deadline=deadline)


# --- after parsing: what redis-py makes of a reply -------------------------------------------

# What a response callback raises when the reply does not have the shape it expects.
_SHAPE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, UnicodeError)


def guard_callbacks(callbacks: dict[str, Callable[..., Any]]) -> None:
    """Make redis-py's response callbacks report a reply of the wrong shape (INFO answered with
    an integer...) as a ProtocolViolation instead of a TypeError, and cap what INFO parses."""
    for name, callback in list(callbacks.items()):
        callbacks[name] = _guarded(name, callback)


def _guarded(name: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(response: Any, **options: Any) -> Any:
        if name == "INFO" and isinstance(response, bytes | str) and len(response) > INFO_BUDGET:
            raise ProtocolViolation(f"its INFO reply is {len(response) // MIB} MiB; a real "
                                    f"Redis sends a few KB (this tool reads at most "
                                    f"{INFO_BUDGET // MIB} MiB)")
        try:
            return callback(response, **options)
        except _SHAPE_ERRORS as exc:
            raise ProtocolViolation(f"its reply to {name} has an unexpected form "
                                    f"({type(exc).__name__})") from exc

    return guarded


def checked_handshake(connection: Any) -> None:
    """redis-py's connection set-up (HELLO, AUTH, CLIENT SETNAME, SELECT), with a HELLO reply
    of the wrong shape reported as a ProtocolViolation (redis-py raises AttributeError)."""
    try:
        connection.on_connect()
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        if isinstance(exc, UnicodeError):  # our own arguments (a password) failed to encode
            raise
        _check_hello(connection)
        raise ProtocolViolation(f"its reply to the handshake is malformed "
                                f"({type(exc).__name__})") from exc
    _check_hello(connection)


def _check_hello(connection: Any) -> None:
    hello = getattr(connection, "handshake_metadata", None)
    if hello is not None and not isinstance(hello, Mapping):
        raise ProtocolViolation(f"it answered HELLO with {type(hello).__name__} "
                                f"{shown(repr(hello).encode())}, not a map")
