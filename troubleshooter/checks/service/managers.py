"""How each service manager says what it runs: parsers of its documented output, and the exact
restart command for what was found. Pure functions of text: the detection runs the commands.

- systemd: `systemctl list-units --type=service --all --plain --no-legend --no-pager PATTERN...`
  prints `UNIT LOAD ACTIVE SUB DESCRIPTION` per line; `systemctl show -p A,B UNIT` prints
  `Key=Value` lines.
- supervisor: `supervisorctl status` prints `NAME STATE DESCRIPTION` (e.g. `redis RUNNING
  pid 123, uptime 0:01:02`, a group member as `group:name`).
- Docker: `docker ps --format '{{.ID}}\\t{{.Names}}\\t{{.Image}}\\t{{.Ports}}\\t{{.Status}}'`,
  ports as `0.0.0.0:6379->6379/tcp, :::6379->6379/tcp`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

SYSTEMD_PATTERNS = ("redis*.service", "*rq*.service", "*worker*.service")
DOCKER_FORMAT = "{{.ID}}\t{{.Names}}\t{{.Image}}\t{{.Ports}}\t{{.Status}}"
# Patterns as text: `re` compiles them on first use (and keeps them).
_REDIS_UNIT = r"^(redis|redis-server)(@[^.]+)?\.service$"
_WORKER_NAME = r"(?i)(^|[-_.:@])(rq|rqworker|worker|workers)([-_.:@0-9]|$)"
_PID = r"\bpid (\d+)"


class Service(NamedTuple):
    """How one service (Redis, or the workers) is run here, and how to restart it.

    `restart` is the argv to run (empty: no known way, the operator does it by hand); `manual`
    the walk-through when there is none.
    """

    role: str  # "redis" | "workers"
    manager: str  # systemd | supervisor | docker | process | playbook | none
    name: str = ""
    restart: tuple[str, ...] = ()
    evidence: str = ""
    state: str = ""
    pid: int | None = None
    config_file: str = ""
    manual: tuple[str, ...] = ()
    members: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "manager": self.manager, "name": self.name,
                "restart": list(self.restart), "evidence": self.evidence, "state": self.state,
                "pid": self.pid, "config_file": self.config_file, "manual": list(self.manual),
                "members": list(self.members)}


# --- systemd ---------------------------------------------------------------------------------
class Unit(NamedTuple):
    name: str
    load: str
    active: str
    sub: str


def parse_list_units(text: str) -> list[Unit]:
    """`systemctl list-units --plain --no-legend` lines as units (a leading `●` is dropped)."""
    units = []
    for line in text.splitlines():
        parts = line.replace("●", " ").split(None, 4)
        if len(parts) >= 4 and parts[0].endswith(".service"):
            units.append(Unit(parts[0], parts[1], parts[2], parts[3]))
    return units


def parse_show(text: str) -> dict[str, str]:
    """`systemctl show` `Key=Value` lines."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def is_redis_unit(name: str) -> bool:
    return bool(re.match(_REDIS_UNIT, name))


def is_worker_name(name: str) -> bool:
    """A unit, program or container name that reads as RQ workers (`rq-worker`, `app:worker_0`)."""
    return bool(re.search(_WORKER_NAME, name)) and "redis" not in name.lower()


def systemctl(action: str, units: Sequence[str], root: bool) -> tuple[str, ...]:
    """`systemctl restart UNIT...`, through `sudo -n` (never a password prompt) unless root."""
    argv = ("systemctl", action, *units)
    return argv if root else ("sudo", "-n", *argv)


# --- supervisor ------------------------------------------------------------------------------
class Program(NamedTuple):
    name: str
    state: str
    pid: int | None
    description: str


def parse_supervisor_status(text: str) -> list[Program]:
    """`supervisorctl status` lines as programs."""
    programs = []
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[1].isupper():
            continue
        desc = parts[2] if len(parts) > 2 else ""
        match = re.search(_PID, desc)
        programs.append(Program(parts[0], parts[1], int(match[1]) if match else None, desc))
    return programs


def supervisorctl(conf: str, *args: str) -> tuple[str, ...]:
    return ("supervisorctl", *(("-c", conf) if conf else ()), *args)


# --- docker ----------------------------------------------------------------------------------
class Container(NamedTuple):
    id: str
    name: str
    image: str
    ports: str
    status: str

    def publishes(self, port: int) -> bool:
        """Whether the host side of a published port is `port` (`0.0.0.0:6379->6379/tcp`)."""
        return any(m == str(port) for m in re.findall(r":(\d+)->", self.ports))


def parse_docker_ps(text: str) -> list[Container]:
    """`docker ps --format DOCKER_FORMAT` lines as containers."""
    found = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 5 and parts[0]:
            found.append(Container(*parts))
    return found
