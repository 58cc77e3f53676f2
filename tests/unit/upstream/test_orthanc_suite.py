"""The orthanc-tests runner's pure parts: the comparison, the intended list, the version."""

from __future__ import annotations

from pathlib import Path

from tests.upstream import orthanc_suite


def test_compare_splits_lost_tests_into_intended_and_unexpected() -> None:
    plain = {"a": "pass", "b": "pass", "c": "fail", "d": "pass", "e": "pass"}
    ours = {"a": "pass", "b": "fail", "c": "pass", "d": "error"}
    diff = orthanc_suite.compare(plain, ours, {"b": "stored bytes", "a": "listed"})
    assert diff == {
        "unexpected": ["d", "e"],  # e: did not run at all with our plugins
        "intended": ["b"],
        "gained": ["c"],
        "stale": ["a"],
    }


def test_intended_differences_come_from_the_marked_table(tmp_path: Path) -> None:
    doc = tmp_path / "plugin.md"
    doc.write_text(
        "| `x:not.this` | outside |\n"
        f"{orthanc_suite.INTENDED_START}\n| test | why |\n| --- | --- |\n"
        "| `main:Tests.Orthanc.test_a` | the stored file is HTJ2K |\n"
        f"{orthanc_suite.INTENDED_END}\n"
    )
    assert orthanc_suite.intended_differences(doc) == {
        "main:Tests.Orthanc.test_a": "the stored file is HTJ2K"
    }


def test_every_intended_difference_names_a_suite_and_a_reason() -> None:
    intended = orthanc_suite.intended_differences()
    for test, reason in intended.items():
        assert test.split(":", 1)[0] in orthanc_suite.SUITES, test
        assert len(reason) > 10, test


def test_the_suite_tag_is_the_pinned_orthanc() -> None:
    assert orthanc_suite.orthanc_version() == "1.13.0"
