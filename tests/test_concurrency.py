"""Writes under concurrency: real parallel processes, held locks, and locks left by crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler import BusyError, ModelDefinition, ModelRegistry
from compiler.state import Git, GitFailed
from tests.git_helpers import commit_all, git, init_repo

# Imports first, then wait for the starting signal, so that the registrations really overlap.
WORKER = """\
import os, sys, time
from compiler.cli import main
while not os.path.exists(sys.argv[1]):
    time.sleep(0.002)
sys.exit(main(sys.argv[2:]))
"""
HOLDER = """\
import fcntl, os, signal, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()}\\n".encode())
print("held", flush=True)
if sys.argv[2] == "crash":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(60)
"""


@pytest.fixture
def repo(catalog: Path) -> Path:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog")
    return root


def definition(name: str) -> ModelDefinition:
    return ModelDefinition(name=name, provider="acme", capabilities=["chat"])


def assert_healthy(repo: Path) -> None:
    """No lock left behind, a clean index that agrees with HEAD, a consistent object store."""
    assert git(repo, "status", "--porcelain") == ""
    assert not (repo / ".git/index.lock").exists()
    assert not list((repo / ".git").glob("modelreg-index.*"))
    git(repo, "fsck", "--no-dangling", "--no-progress")


def test_parallel_processes_registering_different_models_all_land(
        repo: Path, catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    incoming = tmp_path_factory.mktemp("incoming")
    go = incoming / "go"
    workers = []
    names = [f"acme/parallel-{i}" for i in range(4)]
    for name in names:
        source = incoming / f"{name.split('/')[1]}.yaml"
        source.write_text(f"name: {name}\nprovider: acme\ncapabilities: [chat]\n")
        workers.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, str(go), "register", str(source), "--catalog", str(catalog)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    time.sleep(0.5)
    go.touch()
    results = [w.communicate(timeout=60) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], results
    assert git(repo, "rev-list", "--count", "HEAD") == "5"
    assert sorted(git(repo, "log", "--format=%s", "HEAD~4..HEAD").splitlines()) == [f"register {n}" for n in names]
    tree = git(repo, "ls-tree", "-r", "--name-only", "HEAD", "models.d/acme").splitlines()
    assert all(f"models.d/{n}.yaml" in tree for n in names)
    assert_healthy(repo)
    assert [m.name for m in ModelRegistry(catalog).find_by_provider("acme")] == sorted(
        ["acme/chat-large", "acme/coder", "acme/embed-small", *names])


def _hold(repo: Path, mode: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(repo / ".git/modelreg.lock"), mode],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_held_lock_gives_busy_retry_and_writes_nothing(repo: Path, catalog: Path) -> None:
    holder = _hold(repo, "hold")
    try:
        registry = ModelRegistry(catalog, lock_timeout=0.2)
        before = git(repo, "rev-parse", "HEAD")
        with pytest.raises(BusyError, match=rf"^busy, retry: another modelreg process \(pid {holder.pid}\) is writing"):
            registry.register(definition("acme/waiting"))
        assert git(repo, "rev-parse", "HEAD") == before
        assert not (catalog / "acme/waiting.yaml").exists()
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    # The kernel released the dead holder's lock.
    registry.register(definition("acme/waiting"))
    assert_healthy(repo)


def test_a_lock_file_left_by_a_crashed_process_does_not_block(repo: Path, catalog: Path) -> None:
    holder = _hold(repo, "crash")
    holder.wait()
    assert holder.stdout is not None
    holder.stdout.close()
    assert (repo / ".git/modelreg.lock").read_text() == f"{holder.pid}\n"
    ModelRegistry(catalog, lock_timeout=0.2).register(definition("acme/after-crash"))
    assert git(repo, "log", "-1", "--format=%s") == "register acme/after-crash"
    assert_healthy(repo)


def test_a_stale_index_lock_from_a_crashed_git_is_removed(repo: Path, catalog: Path) -> None:
    lock = repo / ".git/index.lock"
    lock.write_bytes(b"half-written index")
    old = time.time() - 600
    os.utime(lock, (old, old))
    ModelRegistry(catalog, lock_timeout=0.2).register(definition("acme/after-git-crash"))
    assert git(repo, "log", "-1", "--format=%s") == "register acme/after-git-crash"
    assert_healthy(repo)


def test_a_fresh_index_lock_means_busy(repo: Path, catalog: Path) -> None:
    lock = repo / ".git/index.lock"
    lock.write_bytes(b"")
    before = git(repo, "rev-parse", "HEAD")
    with pytest.raises(BusyError, match=r"^busy, retry: another git process holds .*index.lock"):
        ModelRegistry(catalog, lock_timeout=0.2).register(definition("acme/blocked"))
    assert lock.exists()  # someone else's lock is never taken away while it is fresh
    assert git(repo, "rev-parse", "HEAD") == before
    assert not (catalog / "acme/blocked.yaml").exists()


def test_a_branch_moved_by_someone_else_mid_write_rolls_back(repo: Path, catalog: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    registry = ModelRegistry(catalog)
    real = Git.run

    def racing(self: Git, *args: str, **kwargs: object) -> bytes:
        if args[0] == "update-ref":
            # Another tool commits between our read of HEAD and our move of the branch.
            git(repo, "commit", "-q", "--allow-empty", "-m", "meanwhile")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Git, "run", racing)
    with pytest.raises(BusyError, match=r"^busy, retry: refs/heads/main moved while committing"):
        registry.register(definition("acme/raced"))
    monkeypatch.undo()
    assert git(repo, "log", "-1", "--format=%s") == "meanwhile"
    assert not (catalog / "acme/raced.yaml").exists()
    assert registry.get_model("acme/raced") is None
    assert_healthy(repo)


def test_a_failing_git_leaves_the_work_tree_as_it_was(repo: Path, catalog: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    registry = ModelRegistry(catalog)
    original = (catalog / "acme/coder.yaml").read_bytes()
    real = Git.run

    def failing(self: Git, *args: str, **kwargs: object) -> bytes:
        if args[0] == "commit-tree":
            raise GitFailed(args, 128, "fatal: out of disk space")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Git, "run", failing)
    with pytest.raises(GitFailed, match="out of disk space"):
        registry.register(ModelDefinition(name="acme/coder", provider="acme", capabilities=["generation"]))
    monkeypatch.undo()
    assert (catalog / "acme/coder.yaml").read_bytes() == original
    assert_healthy(repo)
