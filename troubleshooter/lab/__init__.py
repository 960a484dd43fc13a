"""Real local Redis servers for tests, benchmarks and training drills (loopback only)."""
