"""Benchmark helper (adapter: Linux tc): a real rate-limited link between the bench's browser and
its nginx, shaped by the kernel instead of emulated by Chromium's DevTools.

``kernel_link(port, mbps)`` is a context manager: while it is open, TCP traffic *from* ``port``
(nginx -> browser) and *to* ``port`` (browser -> nginx) on the loopback device goes through two
HTB classes of ``mbps`` each (one per direction, like a symmetric access link); on the way out it
always removes its qdisc, also when the body raises (KeyboardInterrupt included: SIGINT/SIGTERM
are held back while the qdisc is removed). Rate only: this kernel has no qdisc that can delay
(netem, fq, etf are not built), so the link adds **no latency**: a round trip stays a loopback
round trip, as with the DevTools emulation the bench used before (``latency: 0``).

Why tc and not DevTools: the emulation happens inside Chromium's network stack, per request,
where nothing outside the browser can check it; an uncompressed first image that came faster
than its frame could arrive at the set rate made it suspect. The kernel shapes the packets
nginx sends, and its class counters show the bytes that passed. (Over this link the early first
image stayed: cornerstone draws a partially received frame; docs/web.md.)

Decisions:
- The machine's own ``lo``, not a network namespace. The bench stack (nginx, portal, Orthanc)
  listens on 127.0.0.1 and the browser logs in to that origin; putting the browser in its own
  namespace would need a veth pair, nginx listening on the veth address and another origin for
  the session cookie: more moving parts than one filter on one port.
- Only the bench nginx's port is shaped. The HTB qdisc has no default class (``default 0``):
  packets no filter matches are sent straight through HTB's direct queue, without any rate, so
  the rest of the machine's loopback traffic (other stacks, the CI run) is not slowed; it only
  passes a qdisc instead of none while the link is up.
- A root qdisc that is already on the device is never replaced (it may be another bench's or a
  killed run's leftover): the link refuses, naming the command that removes it.
- Filters for IPv4 and IPv6 (a ``--url`` with ``localhost`` may reach nginx over ::1).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator

DEVICE = "lo"
# "NN": recognisable in `tc qdisc show` as this module's (a leftover of a killed run).
HANDLE = "4e4e:"
DOWN_CLASS, UP_CLASS = f"{HANDLE}1", f"{HANDLE}2"
# HTB's quantum only matters between sibling classes sharing spare rate; these never borrow.
# Set explicitly so the kernel does not warn that rate/r2q is out of range at high rates.
QUANTUM = 65536


class LinkError(RuntimeError):
    """The kernel link cannot be set up here (no tc, not root, the device already shaped)."""


def check_kernel_link() -> None:
    """Raises LinkError with what to do when this machine cannot shape a link."""
    if shutil.which("tc") is None:
        raise LinkError(
            "the kernel link needs `tc` (iproute2), which is not installed; install it or "
            "measure with --link devtools (Chromium's emulation, less faithful)"
        )
    if os.geteuid() != 0:
        raise LinkError(
            "the kernel link changes the loopback device's qdisc, which needs root "
            "(CAP_NET_ADMIN); run the bench as root or measure with --link devtools"
        )


def _tc(*args: str) -> subprocess.CompletedProcess[str]:
    # Its own session: a Ctrl-C at the terminal reaches this process, not a tc half-way through.
    return subprocess.run(
        ["tc", *args],
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
        check=False,
    )


def _must(*args: str) -> None:
    done = _tc(*args)
    if done.returncode != 0:
        raise LinkError(f"tc {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")


def root_qdisc(device: str = DEVICE) -> str:
    """The device's root qdisc as `tc qdisc show` prints it (``noqueue`` when none is set)."""
    shown = _tc("qdisc", "show", "dev", device)
    if shown.returncode != 0:
        raise LinkError(f"tc qdisc show dev {device}: {shown.stderr.strip()}")
    root = [line for line in shown.stdout.splitlines() if " root " in f"{line} "]
    return root[0].strip() if root else ""


def _unshaped(qdisc: str) -> bool:
    return qdisc == "" or qdisc.startswith("qdisc noqueue")


def _remove(device: str) -> None:
    """Deletes this module's root qdisc, with SIGINT/SIGTERM held back until it is gone."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        if HANDLE in root_qdisc(device):
            _must("qdisc", "del", "dev", device, "root")
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def kernel_link(port: int, mbps: float, device: str = DEVICE) -> Iterator[None]:
    """TCP to and from ``port`` on ``device`` limited to ``mbps`` each way while open."""
    if mbps <= 0:
        raise ValueError(f"a kernel link needs a rate above 0 Mbit/s, not {mbps}")
    check_kernel_link()
    existing = root_qdisc(device)
    if not _unshaped(existing):
        raise LinkError(
            f"{device} already has a root qdisc ({existing}); not replacing it. If it is a "
            f"bench link left by a killed run (handle {HANDLE}), remove it with "
            f"`tc qdisc del dev {device} root`"
        )
    rate = f"{round(mbps * 1_000_000)}bit"
    try:
        _must("qdisc", "add", "dev", device, "root", "handle", HANDLE, "htb", "default", "0")
        for classid in (DOWN_CLASS, UP_CLASS):
            _must(
                "class", "add", "dev", device, "parent", HANDLE, "classid", classid,
                "htb", "rate", rate, "ceil", rate, "quantum", str(QUANTUM),
            )  # fmt: skip
        for protocol, match, preference in (("ip", "ip", "1"), ("ipv6", "ip6", "2")):
            for field, classid in (("sport", DOWN_CLASS), ("dport", UP_CLASS)):
                _must(
                    "filter", "add", "dev", device, "parent", HANDLE, "protocol", protocol,
                    "prio", preference, "u32", "match", match, field, str(port), "0xffff",
                    "flowid", classid,
                )  # fmt: skip
        yield
    finally:
        _remove(device)


def shaped_bytes(device: str = DEVICE) -> dict[str, int]:
    """Bytes each of this module's classes has sent so far ({classid: bytes}; empty if none)."""
    shown = _tc("-s", "class", "show", "dev", device)
    sent: dict[str, int] = {}
    classid = ""
    for line in shown.stdout.splitlines():
        words = line.split()
        if words[:2] == ["class", "htb"]:
            classid = words[2]
        elif words[:1] == ["Sent"] and classid in (DOWN_CLASS, UP_CLASS):
            sent[classid] = int(words[1])
    return sent
