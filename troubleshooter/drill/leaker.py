"""A leaking "reporting service" for the max-clients drill: it opens connections to Redis until
the server refuses one (`max number of clients reached`), then holds them all.

`python -m troubleshooter.drill.leaker HOST PORT`; stopped by the drill's supervisor.
"""

from __future__ import annotations

import socket
import sys
import time

LIMIT = 500


def main(host: str, port: int) -> None:
    held: list[socket.socket] = []
    while len(held) < LIMIT:
        sock = socket.create_connection((host, port), timeout=2)
        sock.sendall(b"PING\r\n")
        reply = sock.recv(128)
        if not reply.startswith(b"+PONG"):
            sock.close()
            break
        held.append(sock)
    print(f"reporting-service: {len(held)} Redis connections open (pool never returns them)",
          flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
