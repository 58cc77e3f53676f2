"""Test helper (wiring): run inside a fresh network namespace (``unshare --net``), shapes a port
of that namespace's own loopback with bench.link and moves bytes over real TCP sockets through
it; prints what it saw as one JSON object. The namespace keeps the machine's ``lo`` untouched,
so the test neither disturbs nor meets a bench link that is up at the same time.

``python -m tests.integration.bench.transfer shaped|interrupted|occupied``
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from bench.link import LinkError, kernel_link, root_qdisc, shaped_bytes

MBPS = 8.0
SIZE = 2_000_000  # bytes: 2 s at 8 Mbit/s, ~1 ms on loopback


def transfer(port: int, size: int, *, down: bool) -> float:
    """Seconds to move ``size`` bytes from the listener on ``port`` to its client (``down``) or
    from the client to the listener, until the receiver has every byte."""
    with socket.create_server(("127.0.0.1", port)) as server:

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                if down:
                    connection.sendall(b"d" * size)
                else:
                    received = 0
                    while received < size and (chunk := connection.recv(1 << 16)):
                        received += len(chunk)
                    connection.sendall(b"k")

        thread = threading.Thread(target=serve)
        thread.start()
        with socket.create_connection(("127.0.0.1", port)) as client:
            start = time.monotonic()
            if down:
                received = 0
                while received < size and (chunk := client.recv(1 << 16)):
                    received += len(chunk)
            else:
                client.sendall(b"u" * size)
                client.recv(1)
            seconds = time.monotonic() - start
        thread.join()
    return seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settled_bytes() -> dict[str, int]:
    """The classes' byte counts once they stop moving: the closing segments of a shaped
    connection (FIN, last ACKs, ~66 bytes a side) can pass its class just after ``transfer``
    returns, and were once counted after the other port's transfer (a flaky comparison)."""
    seen = shaped_bytes()
    for _ in range(50):
        time.sleep(0.1)
        now = shaped_bytes()
        if now == seen:
            return now
        seen = now
    return seen


def shaped() -> dict[str, object]:
    port, other = free_port(), free_port()
    with kernel_link(port, MBPS):
        during = root_qdisc()
        down_s = transfer(port, SIZE, down=True)
        up_s = transfer(port, SIZE, down=False)
        before_other = settled_bytes()
        other_s = transfer(other, SIZE, down=True)
        after_other = settled_bytes()
    return {
        "during": during,
        "down_s": down_s,
        "up_s": up_s,
        "other_s": other_s,
        "class_bytes": before_other,
        "class_bytes_after_other_port": after_other,
        "after": root_qdisc(),
    }


def interrupted() -> dict[str, object]:
    """A real SIGINT inside the link (what Ctrl-C does to the bench)."""
    during = ""
    try:
        with kernel_link(free_port(), MBPS):
            during = root_qdisc()
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the KeyboardInterrupt ends this sleep
        raised = False
    except KeyboardInterrupt:
        raised = True
    return {"during": during, "raised": raised, "after": root_qdisc()}


def occupied() -> dict[str, object]:
    """Someone else's root qdisc on the device: the link must leave it alone."""
    tbf = ("tbf", "rate", "1gbit", "burst", "64kb", "latency", "10ms")
    subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", *tbf], check=True)
    try:
        with kernel_link(free_port(), MBPS):
            error = ""
    except LinkError as exc:
        error = str(exc)
    return {"error": error, "after": root_qdisc()}


if __name__ == "__main__":
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # down in a new namespace
    scenario = {"shaped": shaped, "interrupted": interrupted, "occupied": occupied}[sys.argv[1]]
    print(json.dumps(scenario()))
