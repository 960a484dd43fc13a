"""A restart of a Redis on another host is confirmed by typing that host's name, not by a key
press: a preview's last line carries the name to type, and every operator UI honours it."""

from __future__ import annotations

TYPE_HOST = "To go ahead, type the host name: "


def host_line(host: str) -> str:
    return f"{TYPE_HOST}{host}"


def host_to_type(question: str) -> str | None:
    """The host name a confirmation question asks to be typed, or None for a plain yes/no."""
    last = question.rstrip().rpartition("\n")[2]
    if not last.startswith(TYPE_HOST):
        return None
    return last.removeprefix(TYPE_HOST).strip() or None
