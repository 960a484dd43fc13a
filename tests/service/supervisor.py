"""A real `supervisord` for the tests: a private unix socket in its own directory, running a real
redis-server on a free loopback port and a real `rq worker`; stopped by PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.rqworkers import REPO_ROOT, wait_until
from troubleshooter.lab.server import find_redis_server, free_port

BIN = Path(sys.executable).parent


def supervisor_env() -> dict[str, str]:
    """This environment with supervisorctl (the venv's bin) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


class Supervisor:
    """supervisord -n with programs `redis` and `rqworker` (queue `queue`)."""

    def __init__(self, queue: str = "appq", worker: bool = True) -> None:
        # A short path: a unix socket's path must stay under ~100 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="ts-sv-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.conf = self.dir / "supervisord.conf"
        self.queue = queue
        self.proc: subprocess.Popen[bytes] | None = None
        programs = [self._redis()] + ([self._worker()] if worker else [])
        self.conf.write_text(f"""\
[unix_http_server]
file={self.dir}/sv.sock

[supervisord]
logfile={self.dir}/supervisord.log
pidfile={self.dir}/supervisord.pid
nodaemon=true
directory={self.dir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.dir}/sv.sock
""" + "\n".join(programs))

    def _redis(self) -> str:
        args = f'--port {self.port} --bind 127.0.0.1 --dir {self.dir} --save "" --appendonly no'
        return f"""
[program:redis]
command={find_redis_server()} {args}
startsecs=0
stopwaitsecs=1
autorestart=false
"""

    def _worker(self) -> str:
        return f"""
[program:rqworker]
command={sys.executable} -m rq.cli worker --url {self.url} --name sv-worker {self.queue}
directory={REPO_ROOT}
startsecs=0
stopwaitsecs=2
stopasgroup=true
killasgroup=true
autorestart=false
"""

    def ctl(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "supervisorctl"), "-c", str(self.conf), *args],
                              capture_output=True, text=True, timeout=30)
        return done.stdout

    def pid(self, program: str) -> int:
        text = self.ctl("pid", program).strip()
        return int(text) if text.isdigit() else 0

    def start(self) -> Supervisor:
        self.proc = subprocess.Popen([str(BIN / "supervisord"), "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: self.pid("redis") > 0, 20, "supervisord to start redis")
        return self

    def stop(self) -> None:
        pids = [self.pid(p) for p in ("redis", "rqworker")] if self.proc else []
        for pid in pids:
            if pid:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
        for pid in pids:  # supervisord stops its children; make sure, by PID
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL) if pid else None
                except (ProcessLookupError, PermissionError):
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Supervisor:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
