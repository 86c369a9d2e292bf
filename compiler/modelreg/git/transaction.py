"""Writing to a catalog in git: a lock that crashed processes cannot leave behind, and commits of
exactly the files a write changed, which leave the rest of the index alone and put everything
back as it was when anything fails before the branch moves.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from modelreg.atomic_files import is_running, remove_leftovers, temp_writer, write_atomic, write_atomic_many
from modelreg.errors import BusyError, StateError, UsageError
from modelreg.git.repository import CatalogRepository, Head
from modelreg.git.runner import Git, GitFailed, MissingObject
from modelreg.pause import pause_at

_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>]*)>\s*$")
_PRIVATE_INDEX = "modelreg-index"
_LITERAL_PATHS = {"GIT_LITERAL_PATHSPECS": "1"}


@dataclass(frozen=True)
class CommitInfo:
    """A commit made by a write."""

    sha: str
    time: datetime


class CatalogWriter:
    """Commits to the catalog of one repository, as `author` (`Name <email>`; git's configured
    identity when None), waiting up to `lock_timeout` seconds for other writers."""

    def __init__(self, repo: CatalogRepository, *, author: str | None = None, lock_timeout: float = 30.0) -> None:
        self.repo = repo
        self.lock_timeout = lock_timeout
        self._author = parse_author(author) if author is not None else None

    @contextlib.contextmanager
    def lock(self) -> Iterator[Head]:
        """Hold the repository for a write: the modelreg lock, and no git process at the index.

        The modelreg lock is an advisory `flock` on `.git/modelreg.lock`: the kernel releases it
        when its holder dies, so a crash never leaves it held (the pid in the file is only for the
        message). Git's own `index.lock` is never taken away: `git commit` holds it for as long as
        its editor is open, and nothing tells that apart from the leftover of a crashed git. Waits
        up to `lock_timeout` seconds for both, then raises BusyError. Yields HEAD, which must be on
        a branch with at least one commit, with no merge, cherry-pick, revert or rebase under way.
        """
        git = self.repo.git
        with self.hold() as deadline:
            self._wait_for_index(git, deadline)
            _refuse_operation_in_progress(git)
            head = self.repo.head()
            if head.branch is not None:
                # A killed git leaves its ref lock behind, which no retry clears: say so.
                _wait_for_lock(git.common_dir / f"{head.branch}.lock", deadline, head.branch, git.root)
            if head.commit is None:
                raise StateError("the repository has no commits yet; commit the catalog first "
                                 f"(git add {self.repo.rel or '.'} && git commit)")
            if head.branch is None:
                raise StateError(f"HEAD is detached (at {head.commit[:12]}); check out a branch to "
                                 "register or unregister models")
            yield head

    @contextlib.contextmanager
    def hold(self) -> Iterator[float]:
        """Hold the modelreg lock alone (writes that leave the index and HEAD alone); yields the
        deadline (`time.monotonic()`) for whatever else the write waits for."""
        git = self.repo.git
        path = git.common_dir / "modelreg.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + self.lock_timeout
            self._acquire(fd, path, deadline)
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                _remove_leftover_indexes(git)
                yield deadline
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def commit_to_branch(self, branch: str, parent: str, changes: Mapping[str, bytes], message: str,
                         *, expected: str | None) -> CommitInfo | None:
        """Commit `changes` (catalog path -> content) on `branch` (a short name, `sync/openai`) on
        top of `parent`, without touching the work tree, the index or HEAD: the objects are
        written to the object store and the branch is moved to the new commit, only if it still
        is at `expected` (None: only if it does not exist yet). Call inside `hold`. None when the
        changes leave `parent`'s tree as it is.
        """
        git = self.repo.git
        ref = f"refs/heads/{branch}"
        try:
            git.run("check-ref-format", ref)
        except GitFailed:
            raise UsageError(f"`{branch}` is not a valid branch name") from None
        _wait_for_lock(git.common_dir / f"{ref}.lock", time.monotonic() + self.lock_timeout, ref, git.root)
        # The blobs in one `git fast-import` (no files on disk, no process per blob), which says
        # what it named each one.
        stream = [b"feature done\n"]
        for i, content in enumerate(changes.values(), 1):
            stream += [b"blob\nmark :%d\ndata %d\n" % (i, len(content)), content, b"\n"]
        stream += [b"get-mark :%d\n" % i for i in range(1, len(changes) + 1)]
        stream.append(b"done\n")
        shas = git.text("fast-import", "--quiet", input=b"".join(stream)).split("\n") if changes else []
        pause_at("commit:objects-written")
        records = "".join(f"100644 {sha}\t{self.repo.path(rel)}\0" for rel, sha in zip(changes, shas, strict=True))
        tree = _tree_with(git, parent, "-z", "--index-info", input=records.encode())
        if tree is None:
            return None
        sha = self._commit_object(git, tree, parent, message)
        pause_at("commit:commit-made")
        try:
            git.run("update-ref", "-m", f"modelreg: {(message.splitlines() or [''])[0]}", ref, sha,
                    expected or "0" * 40)
        except GitFailed as exc:
            lock = git.common_dir / f"{ref}.lock"
            if "Unable to create" in exc.stderr and lock.exists():
                raise BusyError(_lock_message(lock, ref, git.root)) from None
            raise BusyError(f"busy, retry: {branch} moved while committing ({exc.stderr})") from None
        pause_at("commit:branch-moved")
        committed = git.text("show", "-s", "--format=%ct", sha)
        return CommitInfo(sha, datetime.fromtimestamp(int(committed), UTC))

    def _acquire(self, fd: int, path: Path, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                holder = path.read_text(encoding="utf-8", errors="replace").strip()
                who = f" (pid {holder})" if holder.isdigit() else ""
                raise BusyError(f"busy, retry: another modelreg process{who} is writing to this repository")
            time.sleep(0.02)

    def _wait_for_index(self, git: Git, deadline: float) -> None:
        _wait_for_lock(git.git_dir / "index.lock", deadline, "the index", git.root)

    def status(self) -> dict[str, str]:
        """The catalog's uncommitted state (`CatalogRepository.status`), taken under the lock,
        after removing the temporary files that killed writers left in it."""
        status = self.repo.status()
        for rel, code in list(status.items()):
            directory, _, name = rel.rpartition("/")
            if code in ("??", "!!") and temp_writer(name) is not None \
                    and name in remove_leftovers(self.repo.catalog / directory):
                del status[rel]
        return status

    def check_writable(self, rels: Iterable[str]) -> None:
        """StateError unless every catalog path in `rels` can be written in place: no symlinked
        directory on the way (it would carry the write out of the catalog) and no symlink at the
        path itself (a write would go through it, a rollback would delete it)."""
        root = self.repo.catalog.resolve()
        for rel in rels:
            parent = self.repo.catalog
            for part in rel.split("/")[:-1]:
                parent = parent / part
                if parent.is_symlink() or not parent.resolve().is_relative_to(root):
                    raise StateError(f"{parent} is a symlink; modelreg writes only inside {self.repo.display}")
            if (self.repo.catalog / rel).is_symlink():
                raise StateError(f"{self.repo.display}/{rel} is a symlink; modelreg does not write through symlinks "
                                 "(replace it with the file itself, or remove it with `git rm`)")

    def commit(self, head: Head, changes: Mapping[str, bytes | None], message: str) -> CommitInfo | None:
        """Write `changes` (catalog path -> new content, None to delete) to the work tree and
        commit exactly those paths on HEAD's branch; None when nothing changed.

        Call inside `lock`. The commit is built in a private index, so whatever else is
        staged stays staged and uncommitted. The written paths are staged in the real index just
        before the branch moves (also when no commit is needed), so a crash at any point leaves at
        worst the change staged, never an index that undoes a commit. The branch moves only if
        nobody moved it meanwhile; on any failure before that, the files and the index are put
        back as they were, except paths that the branch now holds as written (a `git commit` run
        in that moment takes in what is staged).
        """
        git = self.repo.git
        assert head.branch is not None and head.commit is not None
        self.check_writable(changes)
        self._check_replaced_objects(head.commit, changes)
        previous: dict[str, bytes | None] = {}
        for rel in changes:
            full = self.repo.catalog / rel
            previous[rel] = full.read_bytes() if full.is_file() else None
        paths = [self.repo.path(rel) for rel in changes]
        staged: dict[str, bytes] | None = None  # the index entries before staging, by path
        try:
            self._put_files(changes)
            pause_at("commit:files-written")
            info = self._commit_tree(git, head, paths, message)
            pause_at("commit:commit-made")
            entries = _index_records(git.run("ls-files", "--stage", "-z", "--", *paths, env=_LITERAL_PATHS))
            self._on_index(git, "update-index", "--add", "--remove", "--", *paths)
            staged = entries
            pause_at("commit:index-staged")
            if info is not None:
                try:
                    git.run("update-ref", "-m", f"modelreg: {(message.splitlines() or [''])[0]}", head.branch,
                            info.sha, head.commit)
                except GitFailed as exc:
                    lock = git.common_dir / f"{head.branch}.lock"
                    if "Unable to create" in exc.stderr and lock.exists():
                        raise BusyError(_lock_message(lock, head.branch, git.root)) from None
                    raise BusyError(f"busy, retry: {head.branch} moved while committing ({exc.stderr})") from None
                pause_at("commit:branch-moved")
        except BaseException:
            self._roll_back(git, head, previous, staged)
            raise
        return info

    def _check_replaced_objects(self, commit: str, changes: Mapping[str, bytes | None]) -> None:
        # A damaged repository is refused before anything is written: the commit must not land
        # where what it replaces cannot be read (and `register` reads it right after, to say so).
        for rel, entry in self.repo.tree_entries(commit, list(changes)).items():
            if entry.kind != "blob":
                continue
            try:
                self.repo.blobs([entry.sha])
            except MissingObject as exc:
                raise exc.about(f"{self.repo.display}/{rel} at HEAD") from None

    def _roll_back(self, git: Git, head: Head, previous: Mapping[str, bytes | None],
                   staged: Mapping[str, bytes] | None) -> None:
        back = dict(previous)
        if staged is not None:
            assert head.branch is not None
            paths = [self.repo.path(rel) for rel in previous]
            now = _index_objects(git.run("ls-files", "--stage", "-z", "--", *paths, env=_LITERAL_PATHS))
            tip = _tree_objects(git.run("ls-tree", "-r", "-z", head.branch, "--", *paths, env=_LITERAL_PATHS))
            # What the branch now holds as written stays, index and file agreeing with it.
            back = {rel: content for rel, content in previous.items()
                    if now.get(self.repo.path(rel)) != tip.get(self.repo.path(rel))}
        self._put_files(back)
        if staged is not None and back:
            self._restore_index(git, [self.repo.path(rel) for rel in back], staged)

    def _commit_tree(self, git: Git, head: Head, paths: list[str], message: str) -> CommitInfo | None:
        assert head.commit is not None
        tree = _tree_with(git, head.commit, "--add", "--remove", "--", *paths)
        if tree is None:
            return None
        sha = self._commit_object(git, tree, head.commit, message)
        committed = git.text("show", "-s", "--format=%ct", sha)
        return CommitInfo(sha, datetime.fromtimestamp(int(committed), UTC))

    def _commit_object(self, git: Git, tree: str, parent: str, message: str) -> str:
        try:
            return git.text("commit-tree", tree, "-p", parent, "-F", "-", input=message.encode(),
                            env=self._identity_env())
        except GitFailed as exc:
            if "identity" in exc.stderr or "tell me who you are" in exc.stderr:
                raise StateError("git does not know who is committing: set user.name and user.email "
                                 "(git config), or give an author (`Name <email>`)") from None
            raise

    def _on_index(self, git: Git, *args: str, input: bytes | None = None) -> None:
        # Runs a command that writes the real index; another git may hold it for a moment.
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                git.run(*args, input=input)
                return
            except GitFailed as exc:
                if "index.lock" not in exc.stderr:
                    raise
                if time.monotonic() >= deadline:
                    raise BusyError(f"busy, retry: another git process holds {git.git_dir / 'index.lock'}"
                                    ) from None
            time.sleep(0.02)

    def _restore_index(self, git: Git, paths: list[str], entries: Mapping[str, bytes]) -> None:
        # Drop the paths' entries, then put back those they had (`ls-files --stage` records).
        removal = b"".join(b"0 %s\t%s\0" % (b"0" * 40, os.fsencode(path)) for path in paths)
        restored = b"".join(entries[path] + b"\0" for path in paths if path in entries)
        try:
            self._on_index(git, "update-index", "-z", "--index-info", input=removal + restored)
        except StateError as exc:
            raise StateError(f"{exc}; the index could not be put back: run `git reset -q -- {' '.join(paths)}`"
                             ) from None

    def _put_files(self, previous: Mapping[str, bytes | None]) -> None:
        """Put catalog files in the given state: content written atomically, None removed."""
        written = {self.repo.catalog / rel: content for rel, content in previous.items() if content is not None}
        if len(written) == 1:
            write_atomic(*next(iter(written.items())))
        elif written:
            write_atomic_many(written)  # an import: one sync for all of them
        for rel, content in previous.items():
            if content is None:
                with contextlib.suppress(FileNotFoundError):
                    (self.repo.catalog / rel).unlink()

    def _identity_env(self) -> dict[str, str]:
        if self._author is None:
            return {}
        name, email = self._author
        return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


def _index_records(out: bytes) -> dict[str, bytes]:
    # `ls-files --stage -z`: `<mode> <sha> <stage>\t<path>` records, by path (one each: a file in
    # conflict shows as changed, and writes refuse changed files).
    return {record.partition(b"\t")[2].decode("utf-8", "surrogateescape"): record
            for record in out.split(b"\0") if record}


def _index_objects(out: bytes) -> dict[str, tuple[bytes, bytes]]:
    # Path -> (mode, object) from `ls-files --stage -z`.
    found: dict[str, tuple[bytes, bytes]] = {}
    for path, record in _index_records(out).items():
        mode, sha, _ = record.partition(b"\t")[0].split(b" ")
        found[path] = (mode, sha)
    return found


def _tree_objects(out: bytes) -> dict[str, tuple[bytes, bytes]]:
    # Path -> (mode, object) from `ls-tree -z`: `<mode> <type> <sha>\t<path>` records.
    found: dict[str, tuple[bytes, bytes]] = {}
    for record in out.split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, _, sha = meta.split(b" ")
            found[path.decode("utf-8", "surrogateescape")] = (mode, sha)
    return found


def _tree_with(git: Git, parent: str, *update: str, input: bytes | None = None) -> str | None:
    """The tree of `parent` changed by `git update-index UPDATE`, built in a private index (the
    real one is left alone); None when it is `parent`'s own tree."""
    index = git.git_dir / f"{_PRIVATE_INDEX}.{os.getpid()}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run("read-tree", parent, env=env)
        git.run("update-index", *update, input=input, env=env)
        tree = git.text("write-tree", env=env)
    finally:
        with contextlib.suppress(FileNotFoundError):
            index.unlink()
    return None if tree == git.text("rev-parse", f"{parent}^{{tree}}") else tree


def _remove_leftover_indexes(git: Git) -> None:
    # A writer's private index lives only while it holds the modelreg lock; one of a process that
    # is gone was left by a crash.
    for index in git.git_dir.glob(f"{_PRIVATE_INDEX}.*"):
        pid = index.name.rpartition(".")[2]
        if pid.isdigit() and int(pid) != os.getpid() and is_running(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError):
            index.unlink()


def _wait_for_lock(lock: Path, deadline: float, what: str, root: Path) -> None:
    # Git's lock files are never taken away: `git commit` holds index.lock for as long as its
    # editor is open, and nothing tells a live lock from the leftover of a killed git but a person.
    while lock.exists():
        if time.monotonic() >= deadline:
            raise BusyError(_lock_message(lock, what, root))
        time.sleep(0.02)


def _lock_message(lock: Path, what: str, root: Path) -> str:
    try:
        age = f" (for {max(0.0, time.time() - lock.stat().st_mtime):.0f} s)"
    except FileNotFoundError:
        age = ""
    running = git_processes(root)
    if running is None:
        who = (f"if no git process is running, one that was killed left it behind: remove it with "
               f"`rm {lock}`")
    elif running:
        pids = ", ".join(str(pid) for pid in running[:5])
        who = f"git is running (pid {pids}); wait for it to finish, then retry"
    else:
        who = f"no git process is running, so one that was killed left it behind: remove it with `rm {lock}`"
    return f"busy, retry: {lock} locks {what}{age}; {who}"


def git_processes(root: Path | None = None) -> list[int] | None:
    """The pids of the git processes running on this machine, or None where the operating system
    does not list processes in /proc. With `root`, only those that may work in that repository:
    whose working directory is inside it, or cannot be read (another user's)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    found = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", "rb") as fh:
                name = fh.read().strip()
        except OSError:  # gone meanwhile
            continue
        if name != b"git" and not name.startswith(b"git-"):
            continue
        if root is not None:
            try:
                where = Path(os.readlink(f"/proc/{entry}/cwd"))
            except OSError:
                where = None  # not ours to see: it may be working here
            if where is not None and not where.is_relative_to(root):
                continue
        found.append(int(entry))
    return sorted(found)


# Markers of an operation that git is in the middle of: (what, marker, how to finish or abort it).
_IN_PROGRESS = (
    ("a merge", "MERGE_HEAD", "`git merge --continue` or `git merge --abort`"),
    ("a cherry-pick", "CHERRY_PICK_HEAD", "`git cherry-pick --continue` or `git cherry-pick --abort`"),
    ("a revert", "REVERT_HEAD", "`git revert --continue` or `git revert --abort`"),
    ("a rebase", "rebase-merge", "`git rebase --continue` or `git rebase --abort`"),
    ("`git am`", "rebase-apply/applying", "`git am --continue` or `git am --abort`"),
    ("a rebase", "rebase-apply", "`git rebase --continue` or `git rebase --abort`"),
    ("a cherry-pick or revert", "sequencer", "`git cherry-pick --continue` or `git cherry-pick --abort`, "
     "`git revert` alike"),
)


def _refuse_operation_in_progress(git: Git) -> None:
    # A commit now would land in the middle of it, and `--abort` puts the branch back where the
    # operation started: the registration would be silently dropped.
    for what, marker, fix in _IN_PROGRESS:
        if (git.git_dir / marker).exists():
            raise StateError(f"{what} is in progress ({git.git_dir / marker}); finish it or abort it ({fix}) "
                             "before registering or unregistering models")


def parse_author(author: str) -> tuple[str, str]:
    """`Name <email>` as (name, email); UsageError for anything else."""
    match = _AUTHOR.match(author)
    if match is None or not match["name"] or not match["email"]:
        raise UsageError(f"author `{author}` is not in the form `Name <email>`")
    return match["name"], match["email"]
