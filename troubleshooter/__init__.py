"""troubleshooter: a terminal wizard for Redis / RQ outages, and drills for on-call staff."""

__version__ = "0.1.0"
