"""Counting refused DICOM associations from Orthanc's log: the lines, rotation, partial lines."""

from __future__ import annotations

from pathlib import Path

from neuronova_plugin.dicom_refusals import LogFollower, RefusedAssociations, refusals
from prometheus_client import CollectorRegistry, generate_latest

CALLING = (
    "W1203 09:51:02.123456 DICOM-3 CommandDispatcher.cpp:327] "
    "Rejected association for remote AET ANY-SCANNER on IP 127.0.0.2\n"
)
CALLED = (
    "W1203 09:51:03.000001 DICOM-4 CommandDispatcher.cpp:312] "
    "Rejected association, because of a bad called AET in the request (SOMEONE)\n"
)


def test_each_refusal_kind_is_recognised() -> None:
    lines = [CALLING, CALLED, CALLED, "I1203 Incoming connection from AET X on IP 1.2.3.4\n"]
    assert refusals(lines) == {"calling_ae_or_host": 1, "called_ae": 2}


def test_follower_counts_only_new_complete_lines_across_rotation(tmp_path: Path) -> None:
    log = tmp_path / "orthanc.log"
    log.write_text(CALLING)  # before the plugin started: not counted
    follower = LogFollower(log)
    assert follower.new_lines() == []
    with log.open("a") as out:
        out.write(CALLED + CALLING[:20])  # the second line is still being written
    assert refusals(follower.new_lines()) == {"called_ae": 1}
    with log.open("a") as out:
        out.write(CALLING[20:])
    assert refusals(follower.new_lines()) == {"calling_ae_or_host": 1}
    log.unlink()
    log.write_text(CALLED)  # rotated: a new file from its start
    assert refusals(follower.new_lines()) == {"called_ae": 1}


def test_collector_exposes_both_reasons_from_zero(tmp_path: Path) -> None:
    log = tmp_path / "orthanc.log"
    log.write_text("")
    registry = CollectorRegistry()
    registry.register(RefusedAssociations(LogFollower(log)))
    text = generate_latest(registry).decode()
    assert 'neuronova_dicom_associations_refused_total{reason="called_ae"} 0.0' in text
    log.write_text(CALLING + CALLING)
    text = generate_latest(registry).decode()
    assert 'neuronova_dicom_associations_refused_total{reason="calling_ae_or_host"} 2.0' in text


ENTRY_DENIED = "127.0.0.3 [2026-12-03T13:32:57+00:00] 403 0 0 0.000 -\n"
ENTRY_PASSED = "127.0.0.1 [2026-12-03T13:32:33+00:00] 200 760659 13802 8.765 127.0.0.1:41163\n"


def test_the_entry_s_refusals_are_counted_from_its_log_next_to_orthanc_s(tmp_path: Path) -> None:
    orthanc, entry = tmp_path / "orthanc-1.log", tmp_path / "dicom-entry.log"
    orthanc.write_text("")
    registry = CollectorRegistry()
    registry.register(RefusedAssociations(LogFollower(orthanc), LogFollower(entry)))
    entry.write_text(ENTRY_PASSED + ENTRY_DENIED + ENTRY_DENIED)  # created after the start
    orthanc.write_text(CALLING)
    text = generate_latest(registry).decode()
    assert 'neuronova_dicom_associations_refused_total{reason="entry_host"} 2.0' in text
    assert 'neuronova_dicom_associations_refused_total{reason="calling_ae_or_host"} 1.0' in text
    assert refusals([ENTRY_PASSED, CALLING]) == {"calling_ae_or_host": 1}
