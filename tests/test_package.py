"""The package's shape: its public API, its imports (no cycle, each stage on the ones before it, the
runtime on the ground floor alone), and what an install puts on `sys.path`."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import modelreg
from tests.conftest import REPO

PACKAGE = REPO / "compiler" / "modelreg"

# The public API, pinned: adding or removing a name is a decision, made here on purpose.
PUBLIC_API = [
    "BusyError", "CapabilityNode", "CapabilityPool", "CapabilityTree", "CatalogCheck", "CatalogInvalid", "Diagnostic",
    "Model", "ModelDefinition", "ModelRegistry", "ModelregError", "Severity", "Snapshot", "SnapshotError",
    "StateError", "UnknownCapability", "UsageError", "compile_catalog", "validate_catalog",
]

# The floors of the house, lowest first. A module imports only from its own floor or lower ones.
# The ground floor is the contract the compiler shares with every runtime (stdlib only).
GROUND = {"errors", "diagnostics", "capability_tree", "snapshot_format", "gc_pause", "atomic_files", "pause",
          "bounded_http"}
# The runtime's modules that are the contract itself: the compiler stands on them.
CONTRACT = {"errors", "capability_tree", "snapshot_format", "bounded_http", "gc_pause"}
FLOORS: list[set[str]] = [
    GROUND,
    {"models", "schemas", "schema_bundle", "clock", "project", "data_files"},
    {"git"},
    {"catalog"},
    {"resolve"},
    {"check"},
    {"build"},
    {"diff", "history", "registry", "scaffold", "starter"},
    {"sync", "interop", "site"},
    {"cli"},
]


def module_name(path: Path, root: Path = PACKAGE, package: str = "modelreg") -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def imports(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """Every module of the package that the module at `path` imports, anywhere in it (inside
    functions and `if TYPE_CHECKING:` too). `from a import b` names `a.b` when that is a module."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                       for alias in node.names]
        else:
            continue
        for target in targets:
            if target in known:
                yield target


def import_graph(root: Path = PACKAGE, package: str = "modelreg") -> dict[str, set[str]]:
    paths = {module_name(path, root, package): path for path in root.rglob("*.py")}
    known = set(paths)
    return {name: set(imports(path, name, known)) - {name} for name, path in paths.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def floor_of(name: str) -> int | None:
    part = name.split(".")[1] if "." in name else None
    for level, members in enumerate(FLOORS):
        if part in members:
            return level
    return None


def test_the_public_api_is_pinned() -> None:
    assert modelreg.__all__ == PUBLIC_API
    for name in PUBLIC_API:
        assert getattr(modelreg, name) is not None
    with pytest.raises(AttributeError, match="module 'modelreg' has no attribute 'StateManager'"):
        modelreg.StateManager  # noqa: B018


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle_made_of_type_only_imports(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "inner").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "inner" / "__init__.py").write_text("")
    (root / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.inner import b\n")
    (root / "inner" / "b.py").write_text("def f():\n    from .. import a\n")
    (root / "c.py").write_text("import pkg.a\n")
    assert cycles(import_graph(root, "pkg")) == [["pkg.a", "pkg.inner.b"]]


def test_every_module_lives_on_a_floor_and_imports_nothing_above_it() -> None:
    graph = import_graph()
    unplaced = sorted(name for name in graph if name not in ("modelreg", "modelreg.__main__")
                      and not name.startswith("modelreg.runtime") and floor_of(name) is None)
    assert unplaced == []
    upward = []
    for name, targets in graph.items():
        level = floor_of(name)
        if level is None:
            continue
        upward += [(name, target) for target in targets
                   if (target.startswith("modelreg.runtime") and not name.startswith("modelreg.cli")
                       and target.removeprefix("modelreg.runtime.") not in CONTRACT)
                   or (floor_of(target) or 0) > level]
    assert upward == []


def test_the_runtime_stands_alone_and_imports_itself_relatively() -> None:
    graph = import_graph()
    outside = sorted((name, target) for name, targets in graph.items() if name.startswith("modelreg.runtime")
                     for target in targets if not target.startswith("modelreg.runtime"))
    assert outside == []
    # Relative imports only: the same files are `modelreg_runtime`, the runtime's own distribution.
    absolute = sorted(path.name for path in (PACKAGE / "runtime").glob("*.py")
                      for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                      if isinstance(node, ast.ImportFrom) and node.level == 0
                      and (node.module or "").startswith("modelreg"))
    assert absolute == []
    ground = sorted((name, target) for name, targets in graph.items()
                    if name.split(".")[-1] in GROUND and name.count(".") == 1
                    for target in targets if target.split(".")[1] not in GROUND
                    and target.removeprefix("modelreg.runtime.") not in CONTRACT)
    assert ground == []


def test_the_runtime_logger_is_defined_once() -> None:
    definitions = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
                   if "getLogger(" in path.read_text(encoding="utf-8")]
    assert definitions == ["runtime/log.py"]
    from modelreg.runtime.log import logger

    assert logger.name == "modelreg.runtime"


def test_git_is_run_through_one_runner() -> None:
    runners = sorted(path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
                     if "subprocess" in path.read_text(encoding="utf-8"))
    assert runners == ["git/runner.py"]


def test_validating_a_work_tree_starts_no_git(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import run_cli
    from tests.git_helpers import commit_all, init_repo

    init_repo(catalog.parent)
    commit_all(catalog.parent, "catalog")
    (catalog / "acme/coder.yaml").write_text("name: acme/coder\nprovider: acme\ncapabilities: [nope]\n")

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    for fmt in ("text", "json", "github"):
        run = run_cli("validate", "--catalog", str(catalog), "--format", fmt)
        assert run.code == 1, run.err
    assert run.out.startswith("::error file=models.d/acme/coder.yaml,line=3,col=16,")


@pytest.mark.slow
def test_an_install_holds_the_package_modelreg_and_no_compiler_module(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "--wheel-dir", str(tmp_path), str(REPO)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("modelreg-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        info = next(name for name in tops if name.endswith(".dist-info"))
        assert archive.read(f"{info}/top_level.txt").decode().split() == ["modelreg"]
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        modules = {name for name in archive.namelist() if name.endswith(".py")}
    assert {top for top in tops if not top.endswith((".dist-info", ".data"))} == {"modelreg"}
    assert "modelreg = modelreg.cli.main:run" in entry_points
    assert {module_name(PACKAGE / name.removeprefix("modelreg/")) for name in modules} == set(import_graph())
    # Installed alone, away from the checkout: `modelreg` imports, `compiler` does not exist.
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                                "--target", str(target), str(wheel)], capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import importlib.util, modelreg; "
             "print(modelreg.__file__); print(importlib.util.find_spec('compiler'))")
    ran = subprocess.run([sys.executable, "-I", "-c", probe, str(target)], cwd=tmp_path, capture_output=True,
                         text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [str(target / "modelreg" / "__init__.py"), "None"]
