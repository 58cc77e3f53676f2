"""Production inference code never imports the phantom generator or the training code.

The worker, the API, the pipeline and the SEG builder ship to GPU hosts; the generator and the
training are development tools in their own package (lab/neuronova_lab), which the production
images do not contain.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PRODUCTION = REPO / "inference" / "neuronova_inference"
DEV_ONLY = "neuronova_lab"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_production_modules_do_not_import_generator_or_training_code() -> None:
    production = sorted(PRODUCTION.rglob("*.py"))
    assert len(production) > 10
    offenders = {
        str(path.relative_to(PRODUCTION)): sorted(
            m for m in _imports(path) if m.partition(".")[0] == DEV_ONLY
        )
        for path in production
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_generator_and_training_live_outside_the_production_package() -> None:
    assert not (PRODUCTION / "synthetic").exists()
    assert not (PRODUCTION / "training").exists()
    assert (REPO / "lab" / DEV_ONLY / "synthetic" / "phantom.py").is_file()


def test_the_production_images_do_not_copy_the_lab() -> None:
    for dockerfile in sorted((REPO / "docker").glob("*.Dockerfile")):
        copied = [
            line.split()[1]
            for line in dockerfile.read_text().splitlines()
            if line.startswith("COPY ")
        ]
        assert not any(source.startswith("lab") for source in copied), dockerfile.name


def _closure(module: str) -> set[str]:
    """Every module ``module`` imports, following the production package's own modules."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = PRODUCTION.parent.joinpath(*name.split(".")).with_suffix(".py")
        if name.startswith("neuronova_inference.") and path.is_file():
            todo += sorted(_imports(path))
    return seen


def test_the_worker_never_runs_a_model() -> None:
    """The HTTP service is the one place a model runs; the worker asks it (core_client)."""
    model_modules = {"onnxruntime", "neuronova_inference.session", "neuronova_inference.service"}
    assert _closure("neuronova_inference.worker") & model_modules == set()
    assert "neuronova_inference.session" in _closure("neuronova_inference.api")
