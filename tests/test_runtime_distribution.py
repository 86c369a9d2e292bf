"""The runtime as its own distribution: `modelreg-runtime` builds from this repository, installs
from its wheel alone with no index and no dependency, loads a snapshot and routes; installed
beside `modelreg`, either one can be uninstalled and the other keeps working."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelreg.runtime import snapshot_format
from tests.conftest import REPO
from tests.runtime.conftest import model, snapshot_bytes

ROUTE = """\
import sys
from {package} import Router, load_snapshot
router = Router(load_snapshot(sys.argv[1]))
print(router.call("chat", lambda chosen: chosen.name), [m.name for m in router.candidates("chat")])
"""


def run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, cwd=cwd)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("wheels")
    # The runtime is built from a copy, links followed: setuptools leaves its build tree beside
    # the project, and a stale one would ship modules that no longer exist.
    runtime = tmp_path_factory.mktemp("runtime") / "runtime"
    shutil.copytree(REPO / "runtime", runtime, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    for source in (runtime, REPO):
        built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", target, source)
        assert built.returncode == 0, built.stderr
    yield target


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "registry.json"
    path.write_bytes(snapshot_bytes([model("acme/a", priority=1), model("acme/b", priority=2)]))
    return path


def fresh_venv(path: Path) -> Path:
    made = run(sys.executable, "-m", "venv", "--without-pip", path)
    assert made.returncode == 0, made.stderr
    return path / "bin" / "python"


def pip(python: Path, *argv: str | Path) -> None:
    done = run(sys.executable, "-m", "pip", "--python", python, *argv, "--quiet", "--disable-pip-version-check")
    assert done.returncode == 0, done.stderr


def routes(python: Path, package: str, snapshot: Path, cwd: Path) -> str:
    # -I: nothing of this checkout or the user's site on the path, only what the venv holds.
    done = run(python, "-I", "-c", ROUTE.format(package=package), snapshot, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_runtime_installs_alone_with_no_dependency_and_routes(wheels: Path, snapshot: Path,
                                                                  tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip(python, "install", "--no-index", "--find-links", wheels, "modelreg-runtime")
    metadata = run(python, "-I", "-c", "import importlib.metadata as m; d = m.distribution('modelreg-runtime'); "
                                       "print(d.version); print(*(d.requires or []), sep='\\n')")
    version, *requires = metadata.stdout.splitlines()
    assert version == "1.0.0"
    assert requires and all("extra ==" in line for line in requires), requires  # only the extras' needs
    assert routes(python, "modelreg_runtime", snapshot, tmp_path) == "acme/a ['acme/a', 'acme/b']"
    # Nothing of the compiler came along: no modelreg, no PyYAML, no jsonschema.
    probe = run(python, "-I", "-c", "import importlib.util as u; "
                                    "print([u.find_spec(n) is None for n in ('modelreg', 'yaml', 'jsonschema')])")
    assert probe.stdout.strip() == "[True, True, True]"


def test_either_distribution_uninstalled_leaves_the_other_working(wheels: Path, snapshot: Path,
                                                                  tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    (compiler_wheel,) = wheels.glob("modelreg-0*.whl")
    (runtime_wheel,) = wheels.glob("modelreg_runtime-*.whl")
    pip(python, "install", "--no-index", "--no-deps", runtime_wheel, compiler_wheel)
    pip(python, "uninstall", "--yes", "modelreg")
    assert routes(python, "modelreg_runtime", snapshot, tmp_path) == "acme/a ['acme/a', 'acme/b']"
    pip(python, "install", "--no-index", "--no-deps", compiler_wheel)
    pip(python, "uninstall", "--yes", "modelreg-runtime")
    assert routes(python, "modelreg.runtime", snapshot, tmp_path) == "acme/a ['acme/a', 'acme/b']"


def test_the_runtime_major_is_the_snapshot_format_major() -> None:
    project = tomllib.loads((REPO / "runtime" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert int(project["version"].split(".")[0]) == snapshot_format.FORMAT_MAJOR
    assert project["dependencies"] == []
    # The link to the one source is in place (a checkout without symlinks would break the build).
    link = REPO / "runtime" / "modelreg_runtime"
    assert link.is_symlink() and link.resolve() == (REPO / "compiler" / "modelreg" / "runtime").resolve()
