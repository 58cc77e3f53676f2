"""The portal's apps import each other downwards only: no cycle, even through lazy imports.

Every ``import`` statement of every module counts, including those inside functions (a lazy
import hides a cycle from Python, not from the design). The layers, top to bottom; apps of one
layer do not import each other:

    neuronova_portal                 the project: settings, URLs, admin site, Celery app
    pacs, health, fhir_sync          the image gateway and upload; health checks; FHIR mirror
    clinical                         patients, studies, series, AI jobs, reports
    accounts                         users, tokens, login (the one token verifier)
    audit                            the audit trail
    authz, archive                   authorisation (Principal, StudyRef, Authoriser); Orthanc REST
    common                           TTL cache, Redis cache client, metrics, client address
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[3] / "django-portal"
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"neuronova_portal"}),
    frozenset({"pacs", "health", "fhir_sync"}),
    frozenset({"clinical"}),
    frozenset({"accounts"}),
    frozenset({"audit"}),
    frozenset({"authz", "archive"}),
    frozenset({"common"}),
)

Graph = dict[str, dict[str, set[str]]]  # app -> imported app -> modules that import it


def app_imports(root: Path) -> Graph:
    """Which app imports which, with the importing files, from every import statement."""
    apps = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    graph: Graph = {app: {} for app in apps}
    for app in apps:
        for module in sorted((root / app).rglob("*.py")):
            for node in ast.walk(ast.parse(module.read_text(), str(module))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.partition(".")[0]
                    if top in apps and top != app:
                        graph[app].setdefault(top, set()).add(str(module.relative_to(root)))
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One import cycle (``[a, b, …, a]``), or None when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(app: str) -> list[str] | None:
        state[app] = 1
        path.append(app)
        for target in sorted(graph.get(app, {})):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[app] = 2
        return None

    for app in sorted(graph):
        if app not in state and (cycle := visit(app)) is not None:
            return cycle
    return None


def upward_imports(graph: Graph, layers: tuple[frozenset[str], ...]) -> list[str]:
    """Imports of an app in the same or a higher layer, as 'a -> b (files)'."""
    rank = {app: index for index, layer in enumerate(layers) for app in layer}
    return [
        f"{app} -> {target} ({', '.join(sorted(files))})"
        for app, targets in sorted(graph.items())
        for target, files in sorted(targets.items())
        if rank[target] <= rank[app]
    ]


def test_every_portal_app_has_a_layer() -> None:
    placed = frozenset().union(*LAYERS)
    assert set(app_imports(PORTAL)) == placed


def test_portal_apps_import_downwards_only() -> None:
    assert upward_imports(app_imports(PORTAL), LAYERS) == []


def test_portal_apps_have_no_import_cycle() -> None:
    assert find_cycle(app_imports(PORTAL)) is None


def _tree(root: Path, modules: dict[str, str]) -> Path:
    for name, text in modules.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_through_a_lazy_import_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/services.py": "def notify():\n    from high import hooks\n",
            "high/__init__.py": "",
            "high/hooks.py": "from low.services import notify\n",
            "other/__init__.py": "import low.services\n",
        },
    )
    graph = app_imports(root)
    assert find_cycle(graph) in (["high", "low", "high"], ["low", "high", "low"])
    layers = (frozenset({"other"}), frozenset({"high"}), frozenset({"low"}))
    assert upward_imports(graph, layers) == ["low -> high (low/services.py)"]


@pytest.mark.parametrize("siblings", [True, False])
def test_apps_of_one_layer_may_not_import_each_other(tmp_path: Path, siblings: bool) -> None:
    root = _tree(
        tmp_path, {"a/__init__.py": "from b import x\n", "b/__init__.py": "", "c/__init__.py": ""}
    )
    layers = (
        (frozenset({"a", "b"}), frozenset({"c"}))
        if siblings
        else (frozenset({"a"}), frozenset({"b", "c"}))
    )
    graph = app_imports(root)
    assert find_cycle(graph) is None
    assert upward_imports(graph, layers) == (["a -> b (a/__init__.py)"] if siblings else [])
