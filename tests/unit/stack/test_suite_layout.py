"""Test suites stay apart: a test may use its own folder's conftest (pytest hands it down to the
sub-folders), never another suite's; what several suites share lives in tests/support."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]


def conftests_imported(path: Path, root: Path) -> list[Path]:
    """The conftest modules of ``root``/tests that ``path`` imports, as files."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [
            root.joinpath(*name.split(".")).with_suffix(".py")
            for name in names
            if name.startswith("tests.") and name.endswith(".conftest")
        ]
    return found


# Not the project's code: the venv (a fresh clone's is a real folder inside the checkout, holding
# third-party files that do not even parse on this Python), web dependencies and run data.
_NOT_OURS = {"node_modules", "var"}


def project_sources(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*.py")
        if not any(
            part.startswith(".") or part in _NOT_OURS for part in path.relative_to(root).parts
        )
    )


def foreign_conftests(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)} imports {conftest.relative_to(root)}"
        for path in project_sources(root)
        for conftest in conftests_imported(path, root)
        if not path.is_relative_to(conftest.parent)
    ]


def test_no_test_imports_another_suites_conftest() -> None:
    assert foreign_conftests(TESTS.parent) == []


def test_the_check_sees_a_foreign_conftest(tmp_path: Path) -> None:
    for folder in ("tests/a", "tests/b", "tests/support"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "tests/a/conftest.py").write_text("X = 1\n")
    (tmp_path / "tests/a/test_own.py").write_text("from tests.a.conftest import X\n")
    (tmp_path / "tests/b/test_other.py").write_text("from tests.a.conftest import X\n")
    (tmp_path / "tests/support/helper.py").write_text("import tests.a.conftest\n")
    assert foreign_conftests(tmp_path) == [
        "tests/b/test_other.py imports tests/a/conftest.py",
        "tests/support/helper.py imports tests/a/conftest.py",
    ]


def test_the_check_reads_no_venv_or_web_dependencies(tmp_path: Path) -> None:
    for folder in (".venv/lib", "ohif-build/node_modules/x", "var/run", "tests/a"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "m.py").write_text("def f[T](a): ...\n")  # no parse on 3.11
    assert [p.relative_to(tmp_path) for p in project_sources(tmp_path)] == [Path("tests/a/m.py")]
