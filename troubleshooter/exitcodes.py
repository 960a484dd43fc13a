"""What the process returns: one place that turns a finished session into an exit code.

| code | meaning |
|---|---|
| 0 | healthy and complete |
| 1 | at least one error finding |
| 2 | usage: a bad flag, playbook or input file |
| 3 | internal error (a crash log was written) |
| 4 | incomplete: a check could not finish, timed out, or the run was quit; no error finding |
| 5 | standard output or error could not be written (closed, full, broken pipe) |
| 130 | interrupted (^C) |
| 143, 129 | terminated by SIGTERM, SIGHUP (after restoring the terminal and saving the session) |
"""

from __future__ import annotations

from troubleshooter.errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
)
from troubleshooter.session import Session

# How a run that SIGTERM or SIGHUP ended is recorded (`ended_by`).
TERMINATED = "terminated"


def exit_code(session: Session, signum: int | None = None) -> int:
    """The code for a run that ended with `session`; `signum` is the signal that ended it.

    An interruption outranks what was found (the operator asked to stop, the run is partial);
    then an error finding, then anything that kept the run from being complete.
    """
    if signum is not None:
        return 128 + signum
    if session.ended_by == "interrupted":
        return EXIT_INTERRUPTED
    if session.has_errors:
        return EXIT_PROBLEMS
    if session.status != "healthy" or session.ended_by != "finished":
        return EXIT_INCOMPLETE
    return EXIT_OK
