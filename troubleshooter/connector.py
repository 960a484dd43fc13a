"""One Redis connection per endpoint and credentials for the whole run.

Each check used to open its own connection: HELLO and CLIENT SETNAME were half the commands of a
healthy triage. The run's `Connector` (in `CheckContext.connector`) keeps, per endpoint +
credentials + db + protocol, the client the first check opened, what its handshake learned (the
protocol spoken, HELLO's reply, the workarounds it needed), and at most `per_endpoint`
connections that the checks lease in turn: parallel checks share a small pool, later checks
reuse what earlier ones opened.

It also knows which thread holds which connection, so the engine can stop a check past its time
limit by closing the sockets it waits on (`abort`); a stopped check gets no connection after
that (one that was between two commands, sleeping before a retry, ends at its next). Clients
come from `redisclient.make_client` (its timeouts, no retries, and whatever bounds it puts on
reading), so redis is imported only when a check connects.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

from troubleshooter.redisclient import make_client

if TYPE_CHECKING:
    import redis

    from troubleshooter.target import Target

# Connections per endpoint that parallel checks may hold at once, over a slow link: two keep
# the handshakes to four commands and still let one check's round trips overlap another's.
PER_ENDPOINT = 2
# A first handshake faster than this is a near link (loopback, the same data centre): there the
# checks take turns on one connection, which costs them less than a second handshake would.
NEAR_HANDSHAKE_S = 0.05

# What a server said (INFO, CONFIG GET, RQ's queue set) is reused by the checks after the one
# that read it for at most this long, and never across anything that may change the server (a
# destructive check, an operator's answer: `Connector.forget`).
FACT_MAX_AGE_S = 5.0

Factory = Callable[..., "redis.Redis"]


class Facts:
    """Replies of one endpoint that several checks need, read once and shared for the run.

    A read that raises is not kept: the next check asks again, and sees the error itself.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_age: float = FACT_MAX_AGE_S) -> None:
        self.clock, self.max_age = clock, max_age
        self._lock = threading.Lock()
        self._kept: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0  # bumped by forget(): a read begun before it is not kept
        self.reads = 0  # replies read from the server, not from here: what a test counts

    def get(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """The reply kept under `key`, else `read()`'s, kept for the checks after."""
        with self._lock:
            kept = self._kept.get(key)
            generation = self._generation
        if kept is not None and self.clock() - kept[0] <= self.max_age:
            return kept[1]
        value = read()
        with self._lock:
            self.reads += 1
            if generation == self._generation:
                self._kept[key] = (self.clock(), value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._kept.clear()
            self._generation += 1


class Shared:
    """An endpoint's open client and what its handshake learned, shared by the run's checks;
    `slots` bounds how many of its connections the checks hold at once."""

    def __init__(self, client: redis.Redis, protocol: int, hello: Mapping[str, Any],
                 notes: tuple[str, ...], slots: int = PER_ENDPOINT,
                 facts: Facts | None = None) -> None:
        self.client, self.protocol, self.hello, self.notes = client, protocol, hello, notes
        self.slots = threading.BoundedSemaphore(slots)
        self.facts = facts if facts is not None else Facts()


class Connector:
    """The run's Redis connections: shared per endpoint, leased per check, stoppable per thread."""

    def __init__(self, factory: Factory = make_client, per_endpoint: int = PER_ENDPOINT) -> None:
        self.factory = factory
        self.per_endpoint = per_endpoint
        self._lock = threading.Lock()
        self._shared: dict[Hashable, Shared] = {}
        self._opening: dict[Hashable, threading.Lock] = {}
        # Per server (not per db or protocol): INFO and CONFIG are the server's.
        self._facts: dict[Hashable, Facts] = {}
        self._clients: list[redis.Redis] = []
        # Which thread took each connection that is out of its pool right now.
        self._holders: dict[Any, int] = {}
        # Each leasing thread's deadline (monotonic): the end of its check's time limit.
        self._deadlines: dict[int, float] = {}
        # The threads of checks stopped past their limit (threads, not their idents: an ident is
        # reused by a later thread).
        self._stopped: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        self.opened = 0  # clients made: what a test of the sharing counts

    # -- making and sharing ---------------------------------------------------------------------
    def make(self, target: Target, timeout: float, **kwargs: Any) -> redis.Redis:
        """A new client from the factory, its connections tracked by thread for `abort`."""
        client = self.factory(target, timeout, **kwargs)
        self._track(client.connection_pool)
        with self._lock:
            self._clients.append(client)
            self.opened += 1
        return client

    def opening(self, key: Hashable) -> threading.Lock:
        """The lock a check holds while it opens `key`'s first connection: the checks that
        start beside it wait for that handshake and reuse it instead of repeating it."""
        with self._lock:
            return self._opening.setdefault(key, threading.Lock())

    def shared(self, key: Hashable) -> Shared | None:
        with self._lock:
            return self._shared.get(key)

    def share(self, key: Hashable, client: redis.Redis, protocol: int,
              hello: Mapping[str, Any], notes: tuple[str, ...],
              handshake_s: float = NEAR_HANDSHAKE_S, server: Hashable = None) -> Shared:
        """Keep `client` (freshly handshaken, in `handshake_s`) for the checks that follow.
        Connections to the same `server` (its address and credentials, whatever the db or
        protocol) share their Facts."""
        slots = 1 if handshake_s < NEAR_HANDSHAKE_S else self.per_endpoint
        with self._lock:
            facts = self._facts.setdefault(key if server is None else server, Facts())
            entry = Shared(client, protocol, dict(hello), notes, slots, facts)
            self._shared[key] = entry
        return entry

    def until(self, deadline: float | None) -> None:
        """The calling thread's reads end by `deadline` (None: forget it). A shared connection
        was made for another check: before this thread reads on it, it takes this deadline
        (redisclient's bounded reader stops there)."""
        me = threading.get_ident()
        with self._lock:
            if deadline is None:
                self._deadlines.pop(me, None)
            else:
                self._deadlines[me] = deadline

    def forget(self) -> None:
        """Drop every endpoint's kept replies and handshakes: something may have changed the
        server (a destructive check ran, the operator answered a prompt); the next check
        connects and reads again."""
        with self._lock:
            kept = list(self._facts.values())
            # The handshake's facts too (HELLO's version and role): the next check handshakes
            # again. The clients stay listed, for close().
            self._shared.clear()
        for facts in kept:
            facts.forget()

    # -- stopping -------------------------------------------------------------------------------
    def abort(self, thread_id: int) -> int:
        """Stop thread `thread_id` (a check past its limit): close every connection it holds,
        so whatever it waits on fails at once, and refuse it any connection from now on.
        Returns how many were closed."""
        thread = next((t for t in threading.enumerate() if t.ident == thread_id), None)
        with self._lock:
            if thread is not None:
                self._stopped.add(thread)
            held = [conn for conn, owner in self._holders.items() if owner == thread_id]
        for conn in held:
            _hard_close(conn)
        return len(held)

    def close(self) -> None:
        """Close every client of the run (the run is over)."""
        with self._lock:
            clients, self._clients = self._clients, []
            self._shared.clear()
        for client in clients:
            try:
                client.connection_pool.disconnect()
            except Exception:  # closing what may already be broken: nothing to report
                pass

    def _refuse_if_stopped(self) -> None:
        with self._lock:
            stopped = threading.current_thread() in self._stopped
        if stopped:
            import redis

            raise redis.exceptions.ConnectionError("stopped: the check is past its time limit")

    def _track(self, pool: Any) -> None:
        # The pool hands a connection to whichever thread asks; remember which one, so that
        # abort() can find the sockets of a stuck check. Wrapped on the instance, not
        # subclassed: make_client chooses the pool and connection classes.
        make, get, put = pool.make_connection, pool.get_connection, pool.release
        holders, deadlines, lock = self._holders, self._deadlines, self._lock
        refuse_if_stopped = self._refuse_if_stopped

        def hold(conn: Any) -> Any:
            me = threading.get_ident()
            with lock:
                holders[conn] = me
                deadline = deadlines.get(me)
            if deadline is not None:
                _read_until(conn, deadline)
            return conn

        def deadline_of_caller() -> float | None:
            with lock:
                return deadlines.get(threading.get_ident())

        def make_connection() -> Any:
            conn = make()
            connect = conn.connect

            def connect_until_deadline(*args: Any, **kwargs: Any) -> Any:
                # A (re)connection handshakes within the deadline of the check that caused it.
                deadline = deadline_of_caller()
                if deadline is not None:
                    _read_until(conn, deadline)
                return connect(*args, **kwargs)

            conn.connect = connect_until_deadline
            return hold(conn)  # before it connects: a hung handshake is abortable too

        def get_connection(*args: Any, **kwargs: Any) -> Any:
            refuse_if_stopped()  # before it takes one: a new one would connect first
            return hold(get(*args, **kwargs))

        def release(conn: Any) -> None:
            with lock:
                holders.pop(conn, None)
            put(conn)

        pool.make_connection = make_connection
        pool.get_connection = get_connection
        pool.release = release


def _read_until(conn: Any, deadline: float) -> None:
    """Give a connection's bounded reader (redisclient / boundedresp) the leasing check's
    deadline; a reader without one (another parser) is left as it is."""
    parser = getattr(conn, "_parser", None)
    if parser is not None and hasattr(parser, "deadline"):
        parser.deadline = deadline
        buffer = getattr(parser, "_buffer", None)
        if buffer is not None and hasattr(buffer, "deadline"):
            buffer.deadline = deadline


def _hard_close(conn: Any) -> None:
    """Shut the socket down: the thread blocked in recv() on it wakes with a closed connection
    and cleans up itself (closing it from here would pull the socket from under its feet)."""
    import socket

    sock = getattr(conn, "_sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
