"""Production inference code never imports the phantom generator or the training code.

The worker, the API, the pipeline and the SEG builder ship to GPU hosts; the generator and the
training are development tools that a later split of inference/ moves elsewhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "inference" / "neuronova_inference"
DEV_ONLY = ("neuronova_inference.synthetic", "neuronova_inference.training")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_production_modules_do_not_import_generator_or_training_code() -> None:
    production = sorted(PACKAGE.glob("*.py"))
    assert len(production) > 10
    offenders = {
        path.name: sorted(m for m in _imports(path) if m.startswith(DEV_ONLY))
        for path in production
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
