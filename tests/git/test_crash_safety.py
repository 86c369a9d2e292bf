"""Crash safety: `kill -9` at every on-disk step of a write, locks left by a killed git, and a
damaged repository. Whatever happens, the repository stays sound, no commit is made while a
failure is reported, an exit code never lies, and the next run cleans up and succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from modelreg import BusyError, ModelDefinition, ModelRegistry
from modelreg.atomic_files import _host, temp_writer
from modelreg.git import transaction
from modelreg.pause import PAUSE_AT, PAUSE_FILE
from tests.conftest import CHAT, run_cli, write
from tests.git_helpers import commit_all, git, init_repo

NEW = "name: acme/fresh\nprovider: acme\ncapabilities: [chat]\n"
REGISTER_STEPS = ["write-atomic:written", "commit:files-written", "commit:commit-made", "commit:index-staged",
                  "commit:branch-moved"]
UNREGISTER_STEPS = REGISTER_STEPS[1:]


@pytest.fixture
def repo(catalog: Path) -> Path:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog")
    return root


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside the repository, for the files a user registers from."""
    return tmp_path_factory.mktemp("outside")


def killed_at(step: str, cwd: Path, *argv: str) -> None:
    """Run `modelreg ARGV` until it reaches `step`, then kill it and every process it started
    (git included) with SIGKILL. Fails if it ends before reaching the step."""
    read, written = os.pipe()
    env = {**os.environ, PAUSE_AT: step, PAUSE_FILE: f"/dev/fd/{written}"}
    proc = subprocess.Popen([sys.executable, "-m", "modelreg", *argv], cwd=cwd, env=env, pass_fds=(written,),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(written)
    try:
        # The step's name once it is there; nothing (end of file) if the process ended first.
        reached = os.read(read, 100).decode()
    finally:
        os.close(read)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    assert reached == step, f"it never reached {step}: exit {proc.returncode}, {err.decode()}"
    assert proc.returncode == -signal.SIGKILL


def leftovers(root: Path) -> list[str]:
    """Temporary files of this project anywhere in `root`, `.git` included."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if temp_writer(path.name) is not None)


def assert_sound(repo: Path, before: str, message: str) -> None:
    """`git fsck --strict` is clean, and HEAD is the old commit or one new commit made by us."""
    fsck = subprocess.run(["git", "fsck", "--strict", "--no-dangling"], cwd=repo, capture_output=True, text=True,
                          check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    head = git(repo, "rev-parse", "HEAD")
    if head != before:
        assert git(repo, "rev-parse", "HEAD~1") == before
        assert git(repo, "log", "-1", "--format=%s") == message


@pytest.mark.slow
@pytest.mark.parametrize("step", REGISTER_STEPS)
def test_register_killed_at_any_step_leaves_a_sound_repository_and_the_next_run_finishes(
        repo: Path, catalog: Path, outside: Path, step: str) -> None:
    model = write(outside, "fresh.yaml", NEW)
    before = git(repo, "rev-parse", "HEAD")
    killed_at(step, repo, "register", str(model), "--catalog", str(catalog))
    assert_sound(repo, before, "register acme/fresh")
    if step == "write-atomic:written":
        assert [name.rpartition("/")[2].split(".modelreg-")[0] for name in leftovers(repo)] == [".fresh.yaml"]
    # The same command again: it finishes the job, and nothing of the killed run survives it.
    again = run_cli("register", str(model), "--catalog", str(catalog))
    assert again.code == 0, again.err
    assert leftovers(repo) == []
    assert git(repo, "log", "-1", "--format=%s") == "register acme/fresh"
    assert git(repo, "rev-parse", "HEAD~1") == before
    assert git(repo, "status", "--porcelain") == ""
    assert run_cli("validate", "--catalog", str(catalog)).code == 0


@pytest.mark.slow
@pytest.mark.parametrize("step", UNREGISTER_STEPS)
def test_unregister_killed_at_any_step_leaves_a_sound_repository_and_the_next_run_finishes(
        repo: Path, catalog: Path, step: str) -> None:
    before = git(repo, "rev-parse", "HEAD")
    killed_at(step, repo, "unregister", "acme/coder", "--catalog", str(catalog))
    assert_sound(repo, before, "unregister acme/coder")
    again = run_cli("unregister", "acme/coder", "--catalog", str(catalog))
    if step == "commit:branch-moved":  # it had finished: nothing left to do
        assert (again.code, again.err) == (2, f"modelreg: error: `acme/coder` is not registered in {catalog}; "
                                              "nothing to unregister\n")
    else:
        assert again.code == 0, again.err
    assert git(repo, "log", "-1", "--format=%s") == "unregister acme/coder"
    assert git(repo, "rev-parse", "HEAD~1") == before
    assert git(repo, "status", "--porcelain") == ""
    assert not (catalog / "acme/coder.yaml").exists()


@pytest.mark.slow
def test_compile_killed_before_its_rename_keeps_the_old_snapshot_and_the_next_one_cleans_up(
        repo: Path, catalog: Path) -> None:
    out = repo / "build" / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    old = out.read_bytes()
    write(catalog, "acme/fresh.yaml", NEW)
    killed_at("write-atomic:written", repo, "compile", "--catalog", str(catalog), "-o", str(out))
    assert out.read_bytes() == old
    assert len(leftovers(repo)) == 1
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    assert leftovers(repo) == []
    assert b"acme/fresh" in out.read_bytes()


def test_a_ref_lock_left_by_a_killed_git_is_named_with_the_command_that_clears_it(
        repo: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = repo / ".git/refs/heads/main.lock"
    lock.write_text("")
    fresh = ModelDefinition(name="acme/fresh", provider="acme", capabilities=["chat"])
    before = git(repo, "rev-parse", "HEAD")
    monkeypatch.setattr(transaction, "git_processes", lambda root=None: [])
    with pytest.raises(BusyError) as caught:
        ModelRegistry(catalog, lock_timeout=0.05).register(fresh)
    message = str(caught.value)
    assert message.startswith(f"busy, retry: {lock} locks refs/heads/main (for ")
    assert message.endswith(f"; no git process is running, so one that was killed left it behind: remove it with "
                            f"`rm {lock}`")
    assert lock.exists()  # never taken away: only a person can tell it is dead
    assert git(repo, "rev-parse", "HEAD") == before
    assert not (catalog / "acme/fresh.yaml").exists()
    # While a git works here, the advice is to wait.
    monkeypatch.setattr(transaction, "git_processes", lambda root=None: [31337])
    with pytest.raises(BusyError, match=r"; git is running \(pid 31337\); wait for it to finish, then retry$"):
        ModelRegistry(catalog, lock_timeout=0.05).register(fresh)
    lock.unlink()
    assert ModelRegistry(catalog).register(fresh).name == "acme/fresh"


def test_the_git_processes_of_a_repository_are_found(repo: Path) -> None:
    # An alias runs under git, which waits for it: once the alias speaks, git is running.
    sleeper = subprocess.Popen(["git", "-c", "alias.nap=!echo ready && sleep 30", "nap"], cwd=repo,
                               stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert sleeper.stdout is not None and sleeper.stdout.readline() == b"ready\n"
        found = transaction.git_processes(repo)
        assert found is not None and sleeper.pid in found
        assert sleeper.pid not in (transaction.git_processes(repo / "elsewhere") or [])
    finally:
        os.killpg(sleeper.pid, signal.SIGKILL)
        sleeper.communicate()


# -- a damaged repository ----------------------------------------------------------------------


def _object_file(repo: Path, sha: str) -> Path:
    return repo / ".git" / "objects" / sha[:2] / sha[2:]


def _damage(repo: Path, what: str, rel: str = "models.d/acme/coder.yaml") -> str:
    """Damage one object of HEAD: the blob of `rel` (garbage, or missing) or HEAD's commit."""
    sha = git(repo, "rev-parse", "HEAD" if what == "commit" else f"HEAD:{rel}")
    path = _object_file(repo, sha)
    path.chmod(0o644)
    if what == "missing":
        path.unlink()
    else:
        path.write_bytes(zlib.compress(b"garbage") if what == "commit" else b"not an object at all")
    return sha


@pytest.mark.parametrize("damage", ["garbage", "missing", "commit"])
def test_a_damaged_repository_fails_each_command_clearly_and_commits_nothing(
        repo: Path, catalog: Path, outside: Path, damage: str) -> None:
    write(catalog, "acme/coder.yaml", CHAT.replace("acme/chat-large", "acme/coder").replace("10", "11"))
    before = commit_all(repo, "coder again")
    sha = _damage(repo, damage)
    replacement = write(outside, "coder.yaml", CHAT.replace("acme/chat-large", "acme/coder"))
    commands = [
        ("history", "acme/coder", "--catalog", str(catalog)),
        ("register", str(replacement), "--catalog", str(catalog)),
        ("unregister", "acme/coder", "--catalog", str(catalog)),
        ("diff", "HEAD~1", "HEAD", "--catalog", str(catalog)),
        ("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(outside / "out.json")),
    ]
    for argv in commands:
        run = run_cli(*argv)
        assert run.code == 1, (argv, run.err)
        assert "Traceback" not in run.err
        assert run.err.startswith("modelreg: error: "), (argv, run.err)
        assert "git fsck" in run.err, (argv, run.err)
        if damage != "commit":
            assert sha in run.err or "acme/coder.yaml" in run.err, (argv, run.err)
        refs = (repo / ".git/refs/heads/main").read_text().strip()
        assert refs == before, argv
    assert not (outside / "out.json").exists()


def test_a_step_that_fails_after_its_commit_says_so_and_exits_3(
        repo: Path, catalog: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelreg import history
    from modelreg.errors import StateError

    def broken(*args: object, **kwargs: object) -> None:
        raise StateError("the history cannot be read")

    monkeypatch.setattr(history, "commit_entry", broken)
    replacement = write(outside, "coder.yaml", CHAT.replace("acme/chat-large", "acme/coder"))
    run = run_cli("register", str(replacement), "--catalog", str(catalog))
    commit = git(repo, "rev-parse", "HEAD")
    assert run.code == 3
    assert run.err == (f"modelreg: error: committed {commit[:12]}, then failed to show what the new definition "
                       "replaced: the history cannot be read\n")
    assert git(repo, "log", "-1", "--format=%s") == "register acme/coder"


def test_a_dead_writers_temporary_file_is_never_read_and_the_next_write_anywhere_removes_it(
        repo: Path, catalog: Path, outside: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    write(catalog, "other/provider.yaml", "name: other\ndisplay_name: Other\n")
    commit_all(repo, "another provider")
    leftover = catalog / "acme" / f".coder.yaml.modelreg-{dead}@{_host()}-x1.tmp"
    leftover.write_text("name: acme/coder\nprovider: [half a file\n")
    validate = run_cli("validate", "--catalog", str(catalog), "--format", "json")
    assert validate.code == 0 and '"diagnostics": []' in validate.out
    # A registration into another directory still finds it, through git's list of untracked files.
    model = write(outside, "new.yaml", "name: other/new\nprovider: other\ncapabilities: [chat]\n")
    assert run_cli("register", str(model), "--catalog", str(catalog)).code == 0
    assert not leftover.exists()
    assert git(repo, "status", "--porcelain") == ""


def test_unregistering_an_unknown_model_of_a_catalog_not_yet_committed_is_a_usage_error(repo: Path) -> None:
    fresh = repo / "fresh.d"
    run = run_cli("unregister", "acme/nope", "--catalog", str(fresh))
    assert (run.code, run.err) == (2, f"modelreg: error: `acme/nope` is not registered in {fresh}; "
                                      "nothing to unregister\n")


def test_a_bad_author_is_reported_before_a_bad_name(repo: Path, catalog: Path) -> None:
    run = run_cli("unregister", "Not A Name", "--catalog", str(catalog), "--author", "nobody")
    assert (run.code, run.err) == (2, "modelreg: error: author `nobody` is not in the form `Name <email>`\n")


SYNC_PROVIDER = """\
name: acme
display_name: Acme AI
discovery:
  format: openai
  rules:
    - match: "*"
      capabilities: [generation.text-generation]
"""
SYNC_BRANCH_STEPS = ["sync:listing-fetched", "commit:objects-written", "commit:commit-made", "commit:branch-moved"]
SYNC_COMMIT_STEPS = ["sync:listing-fetched", "write-atomic:written", *REGISTER_STEPS[1:]]
SYNC_MESSAGE = "sync acme: 2 added, 0 changed, 0 deprecated"


def _sync_ready(repo: Path, catalog: Path, outside: Path) -> Path:
    write(catalog, "acme/provider.yaml", SYNC_PROVIDER)
    commit_all(repo, "discovery")
    listing = outside / "listing.json"
    listing.write_text('{"object": "list", "data": [{"id": "fresh-1"}, {"id": "fresh-2"}]}')
    return listing


def _private_leftovers(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / ".git").iterdir() if p.name.startswith("modelreg-index."))


@pytest.mark.slow
@pytest.mark.parametrize("step", SYNC_BRANCH_STEPS)
def test_sync_killed_at_any_step_leaves_a_sound_repository_and_the_next_run_finishes(
        repo: Path, catalog: Path, outside: Path, step: str) -> None:
    listing = _sync_ready(repo, catalog, outside)
    before = git(repo, "rev-parse", "HEAD")
    killed_at(step, repo, "sync", "acme", "--catalog", str(catalog), "--listing", str(listing))
    assert_sound(repo, before, "")
    assert git(repo, "rev-parse", "HEAD") == before  # HEAD never moves in branch mode
    assert git(repo, "status", "--porcelain") == ""
    tip = git(repo, "rev-parse", "-q", "--verify", "refs/heads/sync/acme", check=False)
    assert bool(tip) == (step == "commit:branch-moved")
    again = run_cli("sync", "acme", "--catalog", str(catalog), "--listing", str(listing))
    assert again.code == 0, again.err
    assert _private_leftovers(repo) == [] and leftovers(repo) == []
    assert git(repo, "rev-parse", "sync/acme~1") == before
    assert git(repo, "log", "-1", "--format=%s", "sync/acme") == SYNC_MESSAGE
    assert git(repo, "rev-parse", "HEAD") == before


@pytest.mark.slow
@pytest.mark.parametrize("step", SYNC_COMMIT_STEPS)
def test_sync_commit_killed_at_any_step_leaves_a_sound_repository_and_the_next_run_finishes(
        repo: Path, catalog: Path, outside: Path, step: str) -> None:
    listing = _sync_ready(repo, catalog, outside)
    before = git(repo, "rev-parse", "HEAD")
    killed_at(step, repo, "sync", "acme", "--commit", "--catalog", str(catalog), "--listing", str(listing))
    assert_sound(repo, before, SYNC_MESSAGE)
    again = run_cli("sync", "acme", "--commit", "--catalog", str(catalog), "--listing", str(listing))
    assert again.code == 0, again.err
    assert leftovers(repo) == [] and _private_leftovers(repo) == []
    assert git(repo, "log", "-1", "--format=%s") == SYNC_MESSAGE
    assert git(repo, "rev-parse", "HEAD~1") == before
    assert git(repo, "status", "--porcelain") == ""
    assert run_cli("validate", "--catalog", str(catalog)).code == 0
