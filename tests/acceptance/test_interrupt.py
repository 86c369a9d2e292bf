"""Ctrl-C: a `modelreg` process interrupted at a step where it writes says so in one line, exits
130, and leaves what it was replacing whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg.atomic_files import temp_writer
from modelreg.pause import PAUSE_AT, PAUSE_FILE
from tests.git_helpers import commit_all, git, init_repo


def interrupted_at(step: str, cwd: Path, *argv: str) -> tuple[int, str, str]:
    """Run `modelreg ARGV` until it reaches `step`, then press Ctrl-C: SIGINT to its process group,
    as a terminal sends it. (exit code, stdout, stderr)."""
    read, written = os.pipe()
    env = {**os.environ, PAUSE_AT: step, PAUSE_FILE: f"/dev/fd/{written}"}
    with subprocess.Popen([sys.executable, "-m", "modelreg", *argv], cwd=cwd, env=env, pass_fds=(written,),
                          start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        os.close(written)
        try:
            reached = os.read(read, 100).decode()  # the step's name, or nothing if the process ended first
        finally:
            os.close(read)
        if reached == step:
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert reached == step, f"it never reached {step}: exit {proc.returncode}, {err.decode()}"
    return proc.returncode, out.decode(), err.decode()


def leftovers(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if temp_writer(path.name) is not None)


def test_a_compile_interrupted_while_writing_keeps_the_old_snapshot(catalog: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "build" / "registry.json"
    assert subprocess.run([sys.executable, "-m", "modelreg", "compile", "--catalog", str(catalog), "-o",
                           str(snapshot)], capture_output=True, check=False).returncode == 0
    before = snapshot.read_bytes()
    coder = catalog / "acme" / "coder.yaml"
    coder.write_text(coder.read_text().replace("priority: 5", "priority: 6"))

    result = interrupted_at("write-atomic:written", tmp_path, "compile", "--catalog", str(catalog), "-o",
                            str(snapshot))

    assert result == (130, "", "modelreg: interrupted\n")
    assert snapshot.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("step", ["write-atomic:written", "commit:files-written", "commit:commit-made",
                                  "commit:index-staged"])
def test_a_register_interrupted_before_its_commit_lands_changes_nothing(
        catalog: Path, tmp_path_factory: pytest.TempPathFactory, step: str) -> None:
    root = init_repo(catalog.parent)
    head = commit_all(root, "catalog")
    fresh = tmp_path_factory.mktemp("outside") / "fresh.yaml"
    fresh.write_text("name: acme/fresh\nprovider: acme\ncapabilities: [chat]\n", encoding="utf-8")

    result = interrupted_at(step, root, "register", str(fresh), "--catalog", str(catalog))

    assert result == (130, "", "modelreg: interrupted\n")
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "status", "--porcelain") == ""
    assert not (catalog / "acme" / "fresh.yaml").exists()
    assert leftovers(root) == []
    # The next run is not in its way.
    done = subprocess.run([sys.executable, "-m", "modelreg", "register", str(fresh), "--catalog", str(catalog),
                           "-q"], cwd=root, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert git(root, "log", "-1", "--format=%s") == "register acme/fresh"
