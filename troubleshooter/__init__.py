"""troubleshooter: a terminal wizard for Redis / RQ outages, and a drill ground for on-call staff."""

__version__ = "0.1.0"
