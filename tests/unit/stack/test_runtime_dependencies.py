"""Every module a runtime command imports resolves from the runtime dependency groups alone.

`make up` installs only `runtime-services` (scripts/bootstrap.sh runtime); `make test` installs
`dev` on top, so a runtime import of a dev-only package passes every other test and then fails on
a fresh machine (`make demo` once died on `pynetdicom`). This guard follows the imports of the
runtime commands' entry modules through the repository's own sources, maps each third-party
top-level name to the installed distributions that provide it, and checks those against the
closure of `runtime-services` (its requirements, their extras and their own dependencies, read
from the installed metadata). Static and fast: no second venv is built.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from stack import render
from stack.config import load

ROOT = Path(__file__).resolve().parents[3]
SOURCE_ROOTS = (
    ROOT / "contracts",
    ROOT / "orthanc-plugins",
    ROOT / "inference",
    ROOT / "lab",
    ROOT / "django-portal",
    ROOT,
)
RUNTIME_GROUP = "runtime-services"
# Provided by the process that loads us, not by pip: Orthanc's embedded Python plugin.
HOST_MODULES = frozenset({"orthanc"})


def entry_files() -> list[Path]:
    """What `make up`, `make demo`, `make status/logs/down` and supervisord's programs run."""
    whole = [
        ROOT / "stack",
        ROOT / "observability",
        ROOT / "django-portal",
        ROOT / "orthanc-plugins",
    ]
    files = [path for folder in whole for path in folder.rglob("*.py") if "tests" not in path.parts]
    inference = ROOT / "inference" / "neuronova_inference"
    files += [inference / "api.py", inference / "worker.py"]
    files += [ROOT / "lab" / "neuronova_lab" / "synthetic" / "demo.py"]
    return sorted(files)


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    for root in SOURCE_ROOTS:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _is_own(top: str) -> bool:
    """A top-level name of ours: a module or (namespace) package folder in a source root."""
    return any((root / top).is_dir() or (root / f"{top}.py").is_file() for root in SOURCE_ROOTS)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, package: str) -> Iterator[str]:
    """Absolute module names imported anywhere in the file, except under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for child in node.orelse for name in _imports(child, package))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)
        yield from _imports(node, package)


_DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _dotted_strings(tree: ast.AST) -> Iterator[str]:
    """Django settings name modules as strings (INSTALLED_APPS, MIDDLEWARE, backends...)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _DOTTED.match(node.value)
        ):
            yield node.value


def _package_of(path: Path) -> str:
    for root in SOURCE_ROOTS:
        if path.is_relative_to(root):
            parts = list(path.relative_to(root).with_suffix("").parts)
            return ".".join(parts if path.name == "__init__.py" else parts[:-1])
    return ""


def third_party_imports(files: Iterable[Path]) -> dict[str, set[str]]:
    """Top-level third-party module name → the repository files that (transitively) import it."""
    found: dict[str, set[str]] = {}
    installed = metadata.packages_distributions()
    queue, seen = list(files), set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        where = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        tree = ast.parse(path.read_text())
        names = list(_imports(tree, _package_of(path)))
        if path.name == "settings.py":
            names += [n for n in _dotted_strings(tree) if n.split(".")[0] in installed]
        for name in names:
            top = name.split(".")[0]
            if not top or top in sys.stdlib_module_names or top == "__future__":
                continue
            if _is_own(top):
                # Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c: follow each.
                parts = name.split(".")
                prefixes = (".".join(parts[:i]) for i in range(1, len(parts) + 1))
                queue += filter(None, map(_module_file, prefixes))
                continue
            found.setdefault(top, set()).add(where)
    return found


def group_requirements(group: str) -> list[Requirement]:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    result: list[Requirement] = []
    for item in groups[group]:
        if isinstance(item, dict):
            result += group_requirements(item["include-group"])
        else:
            result.append(Requirement(item))
    return result


def distribution_closure(requirements: Iterable[Requirement]) -> set[str]:
    """Canonical names of the distributions these requirements install (installed metadata)."""
    environment = {key: str(value) for key, value in default_environment().items()}
    closure: set[str] = set()
    queue = [(requirement, frozenset(requirement.extras)) for requirement in requirements]
    while queue:
        requirement, extras = queue.pop()
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in closure:
            continue
        closure.add(key)
        closure.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            child = Requirement(line)
            wanted = child.marker is None or any(
                child.marker.evaluate({**environment, "extra": extra}) for extra in extras | {""}
            )
            if wanted:
                queue.append((child, frozenset(child.extras)))
    return {name for name in closure if "[" not in name}


def offenders(
    imports: dict[str, set[str]], allowed: set[str]
) -> dict[str, tuple[list[str], list[str]]]:
    """Imports no allowed distribution provides: name → (providing distributions, importers)."""
    providers = metadata.packages_distributions()
    result = {}
    for top, importers in sorted(imports.items()):
        if top in HOST_MODULES:
            continue
        dists = sorted({str(canonicalize_name(d)) for d in providers.get(top, [])})
        if not any(dist in allowed for dist in dists):
            result[top] = (dists, sorted(importers))
    return result


def test_runtime_commands_import_only_runtime_dependencies() -> None:
    allowed = distribution_closure(group_requirements(RUNTIME_GROUP))
    bad = offenders(third_party_imports(entry_files()), allowed)
    assert not bad, (
        f"runtime code imports packages outside the '{RUNTIME_GROUP}' dependency group "
        "(add them to the group of the deployable that imports them in pyproject.toml):\n"
        + "\n".join(
            f"  {top} (from {dists or 'no installed distribution'}) imported by {where[:3]}"
            for top, (dists, where) in bad.items()
        )
    )


def venv_commands() -> set[str]:
    """Console scripts the native stack starts from the venv (gunicorn, celery, supervisord...)."""
    config = load({"NEURONOVA_PROMETHEUS": "1"}, root=ROOT)
    bin_ = f"{config.venv}/bin/"
    words = [
        word
        for program in render.programs(config, manage_redis=True)
        for word in program.command.replace("'", " ").split()
    ]
    return {word.removeprefix(bin_) for word in words if word.startswith(bin_)} | {
        "supervisord",
        "supervisorctl",
    }


def _script_distribution(entry: metadata.EntryPoint | None) -> str | None:
    dist = entry.dist if entry is not None else None
    return dist.name if dist is not None else None


def test_venv_commands_come_from_runtime_dependencies() -> None:
    allowed = distribution_closure(group_requirements(RUNTIME_GROUP))
    scripts = {ep.name: ep for ep in metadata.entry_points(group="console_scripts")}
    commands = venv_commands()
    assert {"gunicorn", "celery", "uvicorn"} <= commands
    providers = {name: _script_distribution(scripts.get(name)) for name in commands}
    bad = {
        name: dist
        for name, dist in providers.items()
        if dist is None or canonicalize_name(dist) not in allowed
    }
    assert not bad, f"commands the stack runs that '{RUNTIME_GROUP}' does not install: {bad}"


def test_the_guard_sees_a_dev_only_import(tmp_path: Path) -> None:
    module = tmp_path / "tool.py"
    module.write_text("import json\nimport pytest\nfrom yaml import safe_load\n")
    imports = third_party_imports([module])
    bad = offenders(imports, distribution_closure(group_requirements("stack")))
    assert set(bad) == {"pytest"}
    assert bad["pytest"][0] == ["pytest"]


def test_the_guard_follows_repository_imports_and_ignores_type_checking() -> None:
    imports = third_party_imports([ROOT / "lab" / "neuronova_lab" / "synthetic" / "demo.py"])
    assert "scipy" in imports  # through synthetic.phantom
    assert "pynetdicom" in imports
    assert "torch" not in imports  # the training package's net/train are not imported by the demo
