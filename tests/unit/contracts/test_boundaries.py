"""The contracts are the deployables' one copy: standard library only, and the wire names they
define are written nowhere else in the plugin, the inference code or the portal."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from neuronova_contracts import tasks

REPO = Path(__file__).resolve().parents[3]
CONTRACTS = REPO / "contracts" / "neuronova_contracts"
DEPLOYABLES = ("orthanc-plugins", "inference", "django-portal")
TASK_NAMES = frozenset(
    value
    for name, value in vars(tasks).items()
    if name.isupper() and value.startswith("neuronova.")
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


def test_contracts_import_the_standard_library_only() -> None:
    allowed = sys.stdlib_module_names | {"__future__", "neuronova_contracts"}
    outside = {
        f"{path.name}: {name}"
        for path in CONTRACTS.glob("*.py")
        for name in _imports(path)
        if name not in allowed
    }
    assert outside == set()


def test_task_names_are_written_only_in_the_contracts() -> None:
    assert len(TASK_NAMES) == 6
    copies = [
        f"{path.relative_to(REPO)}:{node.lineno} {node.value!s}"
        for folder in DEPLOYABLES
        for path in sorted((REPO / folder).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in TASK_NAMES
    ]
    assert copies == []
