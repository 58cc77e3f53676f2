"""Test helper (wiring): where Orthanc's own integration suite (orthanc-tests) is on this machine.

One mechanism for every runner of that suite (the main suite, the DICOMweb plugin's suite):

- ``ORTHANC_TESTS_DIR`` names either a checkout (a folder with ``Tests/Toolbox.py``, used as it
  is) or a git directory holding the suite's tags. Unset, it defaults to where the ``fetch`` tool
  puts the mirror on the development machines (``DEFAULT_GIT_DIR``, a git directory without a work
  tree).
- From a git directory, the tag matching the Orthanc under test (``Orthanc-<version>``, see
  ``tag_for``) is exported once into ``var/upstream/orthanc-tests/<tag>/`` (ignored by git).
  The mirror may lack its largest blobs (a few sample DICOM files): those paths are listed in
  ``MISSING-FROM-MIRROR.txt`` there (``missing_files``), so a runner can say which tests lost
  their input.
- Nothing of the suite is ever committed here: it is third-party code, read from the machine.

A clean machine has no checkout and cannot download one. ``checkout`` then raises
``SuiteMissing`` with the steps to provide it: a runner must fail with that text, never skip or
pass in silence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "ORTHANC_TESTS_DIR"
DEFAULT_GIT_DIR = Path("/work/.mirror/orthanc-mirrors+orthanc-tests/repo")
EXPORT_ROOT = REPO_ROOT / "var" / "upstream" / "orthanc-tests"
MISSING_LIST = "MISSING-FROM-MIRROR.txt"


class SuiteMissing(RuntimeError):  # noqa: N818 - a missing prerequisite, said loudly
    """No usable orthanc-tests checkout: the message says what to provide."""


def tag_for(orthanc_version: str) -> str:
    """The orthanc-tests tag released with that Orthanc version (``/system`` → ``Version``)."""
    return f"Orthanc-{orthanc_version.strip()}"


def source() -> Path:
    """The configured location (``$ORTHANC_TESTS_DIR`` or the fetch tool's default)."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_GIT_DIR)


def _is_checkout(path: Path) -> bool:
    return (path / "Tests" / "Toolbox.py").is_file()


def _git_dir(path: Path) -> Path | None:
    for candidate in (path / ".git", path):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def _has_tag(git_dir: Path, tag: str) -> bool:
    probe = subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", "--verify", "--quiet", f"{tag}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def _missing(message: str) -> SuiteMissing:
    return SuiteMissing(
        f"orthanc-tests is not available: {message}.\n"
        f"Provide Orthanc's integration suite (https://github.com/orthanc-mirrors/orthanc-tests, "
        f"or the fetch tool's mirror) and point {ENV_VAR} at it: a git directory with the "
        f"Orthanc-<version> tags, or a checkout of the right tag. Default: {DEFAULT_GIT_DIR}."
    )


def require_source() -> Path:
    """The configured location if it can hold the suite (cheap: no tag is looked at yet)."""
    location = source()
    if not _is_checkout(location) and _git_dir(location) is None:
        raise _missing(f"{location} is neither a checkout nor a git directory")
    return location


def checkout(tag: str) -> Path:
    """A folder holding the suite at ``tag`` (``Tests/``, ``Plugins/``, ``Database/``)."""
    location = source()
    if _is_checkout(location) and _git_dir(location) is None:
        return location  # a plain copy: the caller chose its version
    git_dir = _git_dir(location)
    if git_dir is None:
        if _is_checkout(location):
            return location
        raise _missing(f"{location} is neither a checkout nor a git directory")
    if not _has_tag(git_dir, tag):
        if _is_checkout(location):
            return location  # a work tree without that tag: use it as it stands
        raise _missing(f"{git_dir} has no tag {tag}")
    target = EXPORT_ROOT / tag
    if _is_checkout(target):
        return target
    EXPORT_ROOT.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{tag}-", dir=EXPORT_ROOT))
    try:
        missing = _export(git_dir, tag, staging)
        (staging / MISSING_LIST).write_text("".join(f"{path}\n" for path in missing))
        staging.rename(target)
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        raise _missing(f"exporting {tag} from {git_dir} failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def missing_files(checkout_dir: Path) -> list[str]:
    """Files of the tag that the mirror lacked (it may leave its largest blobs out)."""
    listing = checkout_dir / MISSING_LIST
    return listing.read_text().split() if listing.is_file() else []


def _export(git_dir: Path, tag: str, into: Path) -> list[str]:
    """Write every blob of ``tag`` under ``into``; the paths whose blob is absent are returned.

    ``git archive`` stops at the first absent blob, so the tree is walked and each blob read
    through one ``git cat-file --batch``.
    """
    tree = subprocess.run(
        ["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", tag],
        capture_output=True,
        check=True,
    ).stdout.decode()
    entries = []
    for record in filter(None, tree.split("\0")):
        meta, path = record.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob":
            entries.append((mode, sha, path))
    batch = "".join(f"{sha}\n" for _, sha, _ in entries).encode()
    out = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
        input=batch,
        capture_output=True,
        check=True,
    ).stdout
    missing: list[str] = []
    offset = 0
    for mode, _sha, path in entries:
        end = out.index(b"\n", offset)
        header = out[offset:end].decode().split()
        offset = end + 1
        if header[-1] == "missing":
            missing.append(path)
            continue
        size = int(header[2])
        destination = into / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(out[offset : offset + size])
        if mode == "100755":
            destination.chmod(0o755)
        offset += size + 1
    return missing
