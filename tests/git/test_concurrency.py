"""Writes under concurrency: real parallel processes, held locks, and locks left by crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelreg import BusyError, ModelDefinition, ModelRegistry
from modelreg.git import transaction
from modelreg.git.runner import Git, GitFailed
from tests.git_helpers import commit_all, git, init_repo

# Imports first, then wait for the starting signal, so that the registrations really overlap.
WORKER = """\
import os, sys, time
from modelreg.cli.main import main
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
# Registers acme/crashed and dies (exit code 9, no cleanup) just before or just after git's
# argv[2] command runs (argv[3]).
CRASHER = """\
import os, sys
from modelreg import ModelDefinition, ModelRegistry
from modelreg.git.runner import Git
real = Git.run
def run(self, *args, **kwargs):
    if args[0] == sys.argv[2] and sys.argv[3] == "before":
        os._exit(9)
    out = real(self, *args, **kwargs)
    if args[0] == sys.argv[2] and sys.argv[3] == "after":
        os._exit(9)
    return out
Git.run = run
ModelRegistry(sys.argv[1]).register(ModelDefinition(name="acme/crashed", provider="acme", capabilities=["chat"]))
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


def test_an_old_index_lock_is_never_removed(repo: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `git commit` holds index.lock for as long as its editor is open: however old, it may be live.
    lock = repo / ".git/index.lock"
    lock.write_bytes(b"an editor is open")
    old = time.time() - 600
    os.utime(lock, (old, old))
    before = git(repo, "rev-parse", "HEAD")
    monkeypatch.setattr(transaction, "git_processes", lambda root=None: [4242])
    with pytest.raises(BusyError) as caught:
        ModelRegistry(catalog, lock_timeout=0.05).register(definition("acme/blocked"))
    assert str(caught.value) == (f"busy, retry: {lock} locks the index (for 600 s); git is running (pid 4242); "
                                 "wait for it to finish, then retry")
    assert lock.read_bytes() == b"an editor is open"
    assert git(repo, "rev-parse", "HEAD") == before
    assert not (catalog / "acme/blocked.yaml").exists()
    lock.unlink()
    ModelRegistry(catalog, lock_timeout=0.2).register(definition("acme/blocked"))
    assert_healthy(repo)


def test_a_fresh_index_lock_means_busy(repo: Path, catalog: Path) -> None:
    lock = repo / ".git/index.lock"
    lock.write_bytes(b"")
    before = git(repo, "rev-parse", "HEAD")
    with pytest.raises(BusyError, match=r"^busy, retry: .*index.lock locks the index"):
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
            # Another tool commits, without the index, between our read of HEAD and our move of the branch.
            tree = git(repo, "rev-parse", "HEAD^{tree}")
            moved = git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "meanwhile")
            git(repo, "update-ref", "refs/heads/main", moved)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Git, "run", racing)
    with pytest.raises(BusyError, match=r"^busy, retry: refs/heads/main moved while committing"):
        registry.register(definition("acme/raced"))
    monkeypatch.undo()
    assert git(repo, "log", "-1", "--format=%s") == "meanwhile"
    assert not (catalog / "acme/raced.yaml").exists()
    assert registry.get_model("acme/raced") is None
    assert_healthy(repo)


def test_a_git_commit_that_takes_in_the_staged_registration_keeps_it(repo: Path, catalog: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = Git.run

    def racing(self: Git, *args: str, **kwargs: object) -> bytes:
        if args[0] == "update-ref":
            # The user's `git commit` runs just after the registration was staged.
            git(repo, "commit", "-q", "-m", "meanwhile")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Git, "run", racing)
    with pytest.raises(BusyError, match=r"^busy, retry: refs/heads/main moved while committing"):
        ModelRegistry(catalog).register(definition("acme/raced"))
    monkeypatch.undo()
    assert git(repo, "show", "--name-status", "--format=%s", "HEAD") == "meanwhile\n\nA\tmodels.d/acme/raced.yaml"
    assert (catalog / "acme/raced.yaml").is_file()
    assert_healthy(repo)
    # Retrying finds the model registered: nothing more to commit.
    ModelRegistry(catalog).register(definition("acme/raced"))
    assert git(repo, "log", "-1", "--format=%s") == "meanwhile"
    assert_healthy(repo)


def crash(catalog: Path, command: str, when: str) -> None:
    proc = subprocess.run([sys.executable, "-c", CRASHER, str(catalog), command, when],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (9, "")


def test_a_crash_after_the_branch_moved_leaves_the_index_agreeing(repo: Path, catalog: Path) -> None:
    crash(catalog, "update-ref", "after")
    assert git(repo, "log", "-1", "--format=%s") == "register acme/crashed"
    assert git(repo, "status", "--porcelain") == ""
    # The user's next `git commit -a` has nothing to take in: above all, no deletion of the model.
    assert git(repo, "commit", "-qam", "mine", check=False) == "On branch main\nnothing to commit, working tree clean"
    assert git(repo, "log", "-1", "--format=%s") == "register acme/crashed"
    assert git(repo, "ls-tree", "--name-only", "HEAD", "models.d/acme/crashed.yaml") == "models.d/acme/crashed.yaml"
    assert_healthy(repo)


def test_a_crash_before_the_branch_moved_leaves_the_registration_staged(repo: Path, catalog: Path) -> None:
    before = git(repo, "rev-parse", "HEAD")
    crash(catalog, "update-ref", "before")
    assert git(repo, "rev-parse", "HEAD") == before
    assert git(repo, "status", "--porcelain") == "A  models.d/acme/crashed.yaml"
    # Running the registration again completes it.
    ModelRegistry(catalog).register(definition("acme/crashed"))
    assert git(repo, "show", "--name-status", "--format=%s|%P", "HEAD") == (
        f"register acme/crashed|{before}\n\nA\tmodels.d/acme/crashed.yaml")
    assert_healthy(repo)


def test_a_private_index_left_by_a_crash_is_removed_by_the_next_write(repo: Path, catalog: Path) -> None:
    crash(catalog, "write-tree", "before")
    assert len(list((repo / ".git").glob("modelreg-index.*"))) == 1
    ModelRegistry(catalog).register(definition("acme/crashed"))
    assert git(repo, "log", "-1", "--format=%s") == "register acme/crashed"
    assert_healthy(repo)


def test_a_registration_that_needs_no_commit_still_repairs_the_index(repo: Path, catalog: Path) -> None:
    ModelRegistry(catalog).register(definition("acme/dropped"))
    # The index as an earlier crash between the commit and the index update left it.
    git(repo, "rm", "-q", "--cached", "models.d/acme/dropped.yaml")
    assert git(repo, "status", "--porcelain") == "D  models.d/acme/dropped.yaml\n?? models.d/acme/dropped.yaml"
    head = git(repo, "rev-parse", "HEAD")
    ModelRegistry(catalog).register(definition("acme/dropped"))
    assert git(repo, "rev-parse", "HEAD") == head
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
