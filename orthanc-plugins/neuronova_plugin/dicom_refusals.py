"""Adapter: refused DICOM associations, counted from Orthanc's own log file.

Orthanc decides who may associate (DicomAlwaysAllowStore/Echo off, DicomCheckCalledAet,
DicomCheckModalityHost, the registered DicomModalities) before any plugin sees a byte: the
Python plugin has callbacks for instances and HTTP requests, none for an association. Orthanc
logs every refusal as a warning naming the AE title and address, so the plugin follows that log
(``NeuroNova.OrthancLogFile``) and turns those lines into
``neuronova_dicom_associations_refused_total{reason}`` each time the metrics are read.

Behind the DICOM entry (several replicas, stack/dicom_entry.py) nginx refuses an unregistered
host before any replica sees it and logs the session with status 403; exactly one replica
follows that log too (``NeuroNova.DicomEntryLogFile``, given to the first replica only), so each
refusal is counted once (``reason="entry_host"``).
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

# Orthanc's wording (OrthancFramework CommandDispatcher.cpp, the same in 1.10 and 1.13).
PATTERNS = {
    "calling_ae_or_host": re.compile(r"Rejected association for remote AET \S* on IP \S+"),
    "called_ae": re.compile(r"Rejected association, because of a bad called AET"),
    # The entry's access log (stack/dicom_entry.py's log_format): address [time] status ...
    "entry_host": re.compile(r"^\S+ \[[^\]]+\] 403 "),
}
READ_LIMIT = 16 * 1024 * 1024  # per scrape: a flood is counted over several scrapes


def refusals(lines: Iterable[str]) -> Counter[str]:
    """Pure: how many refusals of each reason these log lines record."""
    counts: Counter[str] = Counter()
    for line in lines:
        for reason, pattern in PATTERNS.items():
            if pattern.search(line):
                counts[reason] += 1
                break
    return counts


class LogFollower:
    """New complete lines of a file appended to by another process, across rotation/truncation.

    Starts at the file's current end: refusals are counted from this Orthanc process's start,
    as every other counter of the plugin.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._inode, self._offset = self._where()
        self._partial = b""

    def _where(self) -> tuple[int, int]:
        try:
            info = self._path.stat()
        except OSError:
            return 0, 0
        return info.st_ino, info.st_size

    def new_lines(self) -> list[str]:
        inode, size = self._where()
        if inode != self._inode or size < self._offset:  # rotated or truncated: start over
            self._inode, self._offset, self._partial = inode, 0, b""
        if size <= self._offset:
            return []
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(min(size - self._offset, READ_LIMIT))
        except OSError:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        complete, _, self._partial = data.rpartition(b"\n")
        return complete.decode("utf-8", "replace").splitlines() if complete else []


class RefusedAssociations(Collector):
    """A Prometheus collector: reads the new log lines whenever the registry is collected."""

    def __init__(self, *followers: LogFollower) -> None:
        self._followers = followers
        self._counts: Counter[str] = Counter(dict.fromkeys(PATTERNS, 0))
        self._lock = threading.Lock()

    def collect(self) -> Iterator[CounterMetricFamily]:
        with self._lock:
            for follower in self._followers:
                self._counts.update(refusals(follower.new_lines()))
            family = CounterMetricFamily(
                "neuronova_dicom_associations_refused",
                "DICOM associations refused (unregistered calling AE or host, wrong called "
                "AE: Orthanc's log; unregistered host at the DICOM entry: its log)",
                labels=["reason"],
            )
            for reason in PATTERNS:
                family.add_metric([reason], float(self._counts[reason]))
        yield family


def log_file_readable(path: str) -> bool:
    return bool(path) and os.access(path, os.R_OK)
