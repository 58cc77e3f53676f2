"""The orthanc-tests locator: tags follow the Orthanc version; a missing suite is said loudly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.upstream import orthanc_tests


def test_tag_follows_the_orthanc_version() -> None:
    assert orthanc_tests.tag_for("1.13.0\n") == "Orthanc-1.13.0"


def test_no_suite_raises_with_what_to_provide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(orthanc_tests.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(orthanc_tests.SuiteMissing, match="ORTHANC_TESTS_DIR"):
        orthanc_tests.checkout("Orthanc-1.13.0")


def test_a_tag_is_exported_from_a_git_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "suite"
    (work / "Tests").mkdir(parents=True)
    (work / "Tests" / "Toolbox.py").write_text("# v1\n")
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    subprocess.run([*git, "tag", "Orthanc-9.9.9"], check=True)
    (work / "Tests" / "Toolbox.py").write_text("# v2\n")
    subprocess.run([*git, "commit", "-qam", "v2"], check=True)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    monkeypatch.setenv(orthanc_tests.ENV_VAR, str(bare))
    monkeypatch.setattr(orthanc_tests, "EXPORT_ROOT", tmp_path / "export")

    exported = orthanc_tests.checkout("Orthanc-9.9.9")

    assert (exported / "Tests" / "Toolbox.py").read_text() == "# v1\n"
    assert orthanc_tests.missing_files(exported) == []
    with pytest.raises(orthanc_tests.SuiteMissing, match=r"no tag Orthanc-0\.0\.0"):
        orthanc_tests.checkout("Orthanc-0.0.0")
