"""Real faults on lab Redis servers, for the tests and the training drills.

Each fault is a context manager that really produces the failure on a `RedisServer` (no mocks)
and undoes it on exit, so a drill can inject, let the trainee diagnose, and clean up. Faults
that need a particular start-up (LOADING, Sentinel, Cluster) start their own servers.
Everything stays on 127.0.0.1 and stops processes by PID.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from troubleshooter.lab.relay import Forwarder
from troubleshooter.lab.server import LabError, RedisServer, find_redis_server, free_port

# A server started with these has no HELLO, like Redis < 6: clients must fall back to RESP2.
NO_HELLO_ARGS = ("--rename-command", "HELLO", "")


def admin_client(
    server: RedisServer, password: str | None = None, username: str | None = None,
    timeout: float = 5.0,
) -> redis.Redis:
    """A fail-fast RESP2 client with decoded replies and no client name.

    RESP2 and no name: nothing in the handshake whose refusal by a BUSY or LOADING server would
    fail the connection (redis-py ignores a refused CLIENT SETINFO).
    """
    return redis.Redis(
        host=server.host, port=server.port, username=username, password=password,
        socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
        protocol=2, decode_responses=True,
    )


def _cmd(client: redis.Redis, *args: str | int) -> Any:
    return cast(Any, client).execute_command(*args)


def _get(client: redis.Redis, name: str) -> str:
    """One CONFIG value, as text."""
    return str(client.config_get(name)[name])


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll `predicate` every 20 ms until it is true; raise LabError after `timeout` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise LabError(f"timed out after {timeout} s waiting for {what or predicate}")


@contextmanager
def _config(client: redis.Redis, **values: Any) -> Iterator[None]:
    """CONFIG SET name=value (underscores for dashes); the old values come back on exit."""
    names = {k.replace("_", "-"): v for k, v in values.items()}
    old = {name: _get(client, name) for name in names}
    try:
        for name, value in names.items():
            client.config_set(name, value)
        yield
    finally:
        for name, value in old.items():
            client.config_set(name, value)


# --- auth and ACL ----------------------------------------------------------------------------


@contextmanager
def requirepass(server: RedisServer, password: str) -> Iterator[None]:
    """The default user needs `password` (NOAUTH for clients without it)."""
    admin_client(server).config_set("requirepass", password)
    try:
        yield
    finally:
        admin_client(server, password).config_set("requirepass", "")


@contextmanager
def acl_user(server: RedisServer, name: str, password: str, *rules: str,
             admin_password: str | None = None) -> Iterator[None]:
    """An ACL user `name` with `password` and `rules` (e.g. "~rq:*", "+@read"); deleted on exit.

    Pass "off" among the rules for a disabled user.
    """
    client = admin_client(server, admin_password)
    state = [] if "off" in rules else ["on"]
    _cmd(client, "ACL", "SETUSER", name, "reset", *state, f">{password}", *rules)
    try:
        yield
    finally:
        _cmd(client, "ACL", "DELUSER", name)


# --- memory ----------------------------------------------------------------------------------


@contextmanager
def fill_memory(server: RedisServer, maxmemory: str = "2mb",
                policy: str = "noeviction") -> Iterator[int]:
    """maxmemory `maxmemory` under `policy`, filled with 10 KB values until a write fails.

    Yields the number of keys written; they are deleted on exit.
    """
    client = admin_client(server)
    written = 0
    with _config(client, maxmemory=maxmemory, maxmemory_policy=policy):
        try:
            written = _fill(client)
            yield written
        finally:
            for start in range(0, written, 500):
                client.delete(*(f"fault:fill:{i}" for i in range(start, min(written, start + 500))))


def _fill(client: redis.Redis) -> int:
    value, written = "x" * 10240, 0
    limit = int(_get(client, "maxmemory")) // 10240 * 2 + 1000
    while written < limit:
        try:
            client.set(f"fault:fill:{written}", value)
        except redis.exceptions.OutOfMemoryError:
            return written
        written += 1
    return written  # an evicting policy never refuses: stop at twice the limit


@contextmanager
def eviction_policy(server: RedisServer, policy: str = "allkeys-lru",
                    maxmemory: str = "64mb") -> Iterator[None]:
    """An evicting maxmemory-policy with a maxmemory limit: RQ keys may silently go."""
    with _config(admin_client(server), maxmemory=maxmemory, maxmemory_policy=policy):
        yield


# --- replication and persistence -------------------------------------------------------------


@contextmanager
def replica_of_dead_master(server: RedisServer, serve_stale: bool = True) -> Iterator[int]:
    """Make `server` a replica of a port nobody listens on (READONLY, link down).

    With `serve_stale=False` it refuses reads and PING too (MASTERDOWN). Yields the dead port.
    """
    client = admin_client(server)
    dead = free_port()
    with _config(client, replica_serve_stale_data="yes" if serve_stale else "no"):
        _cmd(client, "REPLICAOF", "127.0.0.1", str(dead))
        try:
            wait_until(lambda: client.info("replication").get("master_link_status") == "down",
                       what="master_link_status:down")
            yield dead
        finally:
            _cmd(client, "REPLICAOF", "NO", "ONE")


@contextmanager
def no_replicas(server: RedisServer, count: int = 1) -> Iterator[None]:
    """min-replicas-to-write `count` on a master without replicas: writes get NOREPLICAS."""
    with _config(admin_client(server), min_replicas_to_write=str(count)):
        yield


@contextmanager
def misconf(server: RedisServer) -> Iterator[None]:
    """A failed RDB save with save points on: writes and PING get MISCONF.

    A directory where the dump file should be makes BGSAVE's final rename fail (even as
    root, which ignores permissions). On exit the directory goes and a BGSAVE clears the state.
    """
    client = admin_client(server)
    path = Path(_get(client, "dir")) / _get(client, "dbfilename")
    with _config(client, save="3600 1"):
        if path.is_file():
            path.unlink()  # a stale dump of a lab server; the BGSAVE on exit writes a new one
        path.mkdir()
        try:
            client.bgsave()
            wait_until(lambda: _bgsave_status(client) == "err", what="rdb_last_bgsave_status:err")
            yield
        finally:
            path.rmdir()
            _bgsave_until_ok(client)


def _bgsave_status(client: redis.Redis) -> str:
    info = client.info("persistence")
    return "running" if info["rdb_bgsave_in_progress"] else str(info["rdb_last_bgsave_status"])


def _bgsave_until_ok(client: redis.Redis) -> None:
    wait_until(lambda: _bgsave_status(client) != "running", what="the failed BGSAVE to end")
    client.bgsave()
    wait_until(lambda: _bgsave_status(client) == "ok", what="rdb_last_bgsave_status:ok")


# --- a server that does not answer -----------------------------------------------------------


@contextmanager
def paused(server: RedisServer) -> Iterator[None]:
    """SIGSTOP: connections are accepted by the kernel, nothing answers. SIGCONT on exit."""
    server.pause()
    try:
        yield
    finally:
        server.resume()


@contextmanager
def busy_script(server: RedisServer, seconds: float = 30.0) -> Iterator[None]:
    """A Lua script that never ends: every other command gets BUSY after 200 ms.

    SCRIPT KILL on exit; `seconds` is a safety net that kills it earlier if the caller forgets.
    """
    client = admin_client(server)
    with _config(client, busy_reply_threshold="200"):
        runner = threading.Thread(target=_run_forever_script, args=(server, seconds + 5),
                                  daemon=True)
        runner.start()
        safety = threading.Timer(seconds, _script_kill, args=(server,))
        safety.start()
        try:
            wait_until(lambda: _is_busy(server), timeout=5, what="BUSY")
            yield
        finally:
            safety.cancel()
            _script_kill(server)
            runner.join(timeout=5)


def _run_forever_script(server: RedisServer, timeout: float) -> None:
    # A raw socket: the reply only comes when the script is killed, and nothing may retry.
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(b'EVAL "while true do end" 0\r\n')
        try:
            sock.recv(512)
        except OSError:
            pass


def _is_busy(server: RedisServer) -> bool:
    try:
        admin_client(server, timeout=1).ping()
    except redis.exceptions.ResponseError as exc:
        return str(exc).startswith("BUSY")
    return False


def _script_kill(server: RedisServer) -> None:
    try:
        admin_client(server).script_kill()
    except redis.exceptions.ResponseError:
        pass  # NOTBUSY: it already ended


@contextmanager
def loading(seconds: float = 20.0, *args: str) -> Iterator[RedisServer]:
    """A fresh server that stays in LOADING for about `seconds` (stopped on exit).

    It loads `seconds`*100 uncompressed 1 KB values with a 10 ms delay per key, processing
    events after each one, so it answers -LOADING promptly instead of hanging.
    """
    directory = Path(tempfile.mkdtemp(prefix="ts-loading-"))
    try:
        with RedisServer("--rdbcompression", "no", directory=directory) as seed:
            client = admin_client(seed)
            client.eval("local v = string.rep('x', 1000) "
                        "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'k' .. i, v) end",
                        0, str(int(seconds * 100)))
            client.save()
        with RedisServer("--key-load-delay", "10000", "--loading-process-events-interval-bytes",
                         "1024", *args, directory=directory) as server:
            wait_until(lambda: admin_client(server).info("persistence")["loading"] == 1,
                       what="loading:1")
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- connections -----------------------------------------------------------------------------


@contextmanager
def max_clients(server: RedisServer, limit: int = 1,
                spare: int = 0) -> Iterator[list[redis.Redis]]:
    """maxclients `limit`, with connections held until only `spare` slots are left.

    With `spare=0` the server refuses new clients ("max number of clients reached") until
    exit. Yields the holding clients.
    """
    holders = [admin_client(server)]
    holders[0].ping()
    try:
        connected = int(holders[0].info("clients")["connected_clients"])
        for _ in range(limit - spare - connected):
            holders.append(admin_client(server))
            holders[-1].ping()
        with _config(holders[0], maxclients=str(limit)):
            yield holders
    finally:
        for holder in holders:
            holder.close()


@contextmanager
def protected_mode(server: RedisServer) -> Iterator[str]:
    """A URL through which `server` sees a client from 127.0.0.2: -DENIED, as long as the
    default user has no password and protected-mode is yes (the defaults)."""
    with Forwarder(server, source="127.0.0.2") as relay:
        yield relay.url


@contextmanager
def latency(server: RedisServer, delay_ms: float) -> Iterator[str]:
    """A URL through which every reply of `server` arrives `delay_ms` late."""
    with Forwarder(server, delay_ms=delay_ms) as relay:
        yield relay.url


# --- the wrong kind of server ----------------------------------------------------------------


class SentinelServer(RedisServer):
    """`redis-server sentinel.conf --sentinel` monitoring `master` as `name`."""

    def __init__(self, master: RedisServer, name: str = "mymaster", quorum: int = 1) -> None:
        super().__init__()
        self.master, self.name, self.quorum = master, name, quorum
        self.conf = self.dir / "sentinel.conf"

    def command(self) -> list[str]:
        return [find_redis_server(), str(self.conf), "--sentinel", "--port", str(self.port),
                "--bind", self.host, "--dir", str(self.dir), "--logfile", str(self.logfile)]

    def start(self) -> SentinelServer:
        self.conf.write_text(
            f"sentinel monitor {self.name} {self.master.host} {self.master.port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {self.name} 1000\n"
        )
        super().start()
        return self


@contextmanager
def sentinel(master: RedisServer, name: str = "mymaster") -> Iterator[SentinelServer]:
    """A Sentinel monitoring `master`: a URL to it is a Sentinel used as a plain Redis."""
    server = SentinelServer(master, name).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def cluster(nodes: int = 3, timeout: float = 15.0) -> Iterator[list[RedisServer]]:
    """`nodes` cluster-enabled servers sharing the 16384 slots, cluster_state:ok."""
    with ExitStack() as stack:
        servers = [stack.enter_context(RedisServer(
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "1000")) for _ in range(nodes)]
        clients = [admin_client(s) for s in servers]
        for i, client in enumerate(clients):
            first, last = 16384 * i // nodes, 16384 * (i + 1) // nodes - 1
            _cmd(client, "CLUSTER", "ADDSLOTSRANGE", first, last)
        for client in clients[1:]:
            _cmd(client, "CLUSTER", "MEET", servers[0].host, servers[0].port)
        wait_until(lambda: all(_cluster_ok(c, nodes) for c in clients), timeout,
                   what="cluster_state:ok")
        yield servers


def _cluster_ok(client: redis.Redis, nodes: int) -> bool:
    info = _cmd(client, "CLUSTER", "INFO")
    info = info if isinstance(info, str) else info.decode()
    return "cluster_state:ok" in info and f"cluster_known_nodes:{nodes}" in info
