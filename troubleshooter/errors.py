"""One base error, fixed exit codes.

Everything a user can cause (a broken playbook, a bad flag, an unreadable answers file) raises a
subclass of `TroubleshooterError`; `cli.main` turns it into one line on stderr and its exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INCOMPLETE = 4
EXIT_OUTPUT = 5
EXIT_INTERRUPTED = 130


class TroubleshooterError(Exception):
    """A failure we can explain in one line; `exit_code` is what the process returns."""

    exit_code = EXIT_USAGE


class UsageError(TroubleshooterError):
    """Bad command-line input or an unreadable input file."""


class PlaybookError(TroubleshooterError):
    """A playbook that cannot be used; `problems` holds every `file:line: path: message`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0] if problems else "invalid playbook")
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(self.problems)


class QuitRequested(Exception):
    """The operator chose to quit the wizard; the run ends as `incomplete`."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwinds like ^C (prompts restore the terminal, the session is kept),
    then the process exits 128 + `signum`, as a shell reports a process killed by it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
