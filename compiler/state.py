"""The catalog's persisted state in git: reading any revision, registration dates, and writes.

`StateManager` opens the repository that holds a catalog (GitPython finds it) and runs git's
plumbing for everything else: a catalog is read from a commit's objects without a checkout
(`GitSource`), `registered_at` comes from one `git log` over the whole history, and a write commits
exactly the files it wrote, through a private index, under a lock that other modelreg processes
respect and that a crashed process cannot leave behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import posixpath
import re
import subprocess
import tempfile
import time
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

from compiler.catalog import CatalogFiles, CatalogSource, DirectorySource
from compiler.diagnostics import Diagnostic
from compiler.errors import BusyError, CatalogInvalid, StateError, UsageError
from compiler.gc_pause import collector_paused
from compiler.git_version import VersionInfo, open_repo
from compiler.snapshot import Snapshot, build_snapshot, snapshot_document
from compiler.snapshot_format import write_atomic
from compiler.validate import CatalogCheck, check_catalog
from compiler.yaml_loader import MAX_FILE_BYTES, too_large

SHALLOW_HINT = (
    "registered_at needs the full git history, but this is a shallow clone; run `git fetch --unshallow` "
    "(in GitHub Actions, check out with `fetch-depth: 0`), or accept a snapshot without registration "
    "dates (--allow-shallow), which records history \"shallow\""
)
# Variables that point git at another repository or index; ours are always found from the catalog.
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
             "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX")
_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>]*)>\s*$")
_SYMLINK_MODE = "120000"
# How every question about a file's history reads the log (`registered_at`, `modelreg history`):
# along the branch's own line (first parents), a merge showing what it brought onto the branch
# (its diff against the first parent), children always before parents whatever the commit dates
# say (clocks skew), and a moved file counted as a new one.
HISTORY_LOG_OPTIONS = ("--first-parent", "--diff-merges=first-parent", "--topo-order", "--no-renames",
                       "--no-follow")
_MAX_SYMLINK_HOPS = 40
_PRIVATE_INDEX = "modelreg-index"
_LITERAL_PATHS = {"GIT_LITERAL_PATHSPECS": "1"}
# Above this many paths, `registration_dates` reads the whole history once instead.
_PATHSPECS_PER_LOG = 8


class GitFailed(StateError):
    """A git command failed; the message carries git's own explanation."""

    def __init__(self, args: Iterable[str], code: int, stderr: str) -> None:
        self.code = code
        self.stderr = stderr.strip()
        command = " ".join(list(args)[:2])
        super().__init__(f"`git {command}` failed: {self.stderr or f'exit code {code}'}")


class Git:
    """Runs git commands in one work tree; binary-safe, never inheriting another repository's
    `GIT_DIR`/`GIT_INDEX_FILE` from the caller (a hook, for instance)."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir

    def _command(self, args: Iterable[str], env: Mapping[str, str] | None) -> tuple[list[str], dict[str, str]]:
        full = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
        full.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", **(env or {}))
        # The user's config must not change what is parsed: quoted paths, colours.
        return ["git", "-c", "core.quotePath=false", "-c", "color.ui=never", *args], full

    def run(self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None,
            ok: Collection[int] = (0,)) -> bytes:
        """Run `git ARGS` and return its stdout; GitFailed on an exit code outside `ok`."""
        command, full = self._command(args, env)
        proc = subprocess.run(command, cwd=self.root, input=input, capture_output=True, env=full, check=False)
        if proc.returncode not in ok:
            raise GitFailed(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc.stdout

    def stream_blobs(self, shas: Sequence[str], limit: int | None = None) -> Iterator[bytes | int]:
        """The content of each object of `shas`, in order, as `git cat-file --batch` writes it:
        the caller works on the first while git reads the next. An object over `limit` bytes is
        not kept: its size comes instead. StateError for a missing one."""
        if not shas:
            return
        command, env = self._command(["cat-file", "--batch"], None)
        with tempfile.TemporaryFile() as request, tempfile.TemporaryFile() as errors:
            request.write("".join(f"{sha}\n" for sha in shas).encode())
            request.seek(0)
            proc = subprocess.Popen(command, cwd=self.root, stdin=request, stdout=subprocess.PIPE, stderr=errors,
                                    env=env)
            assert proc.stdout is not None
            try:
                out = proc.stdout
                for sha in shas:
                    header = out.readline().split()
                    if len(header) != 3:
                        errors.seek(0)
                        problem = errors.read().decode("utf-8", "replace").strip()
                        raise StateError(f"cannot read git object {sha}: {problem or 'it is missing'}")
                    size = int(header[2])
                    if limit is not None and size > limit:
                        left = size + 1  # with the newline after the object
                        while left > 0 and (skipped := out.read(min(left, 1 << 20))):
                            left -= len(skipped)
                        if left:
                            raise StateError(f"cannot read git object {sha}: git stopped mid-object")
                        yield size
                        continue
                    content = out.read(size)
                    out.read(1)  # the newline after each object
                    if len(content) != size:
                        raise StateError(f"cannot read git object {sha}: git stopped mid-object")
                    yield content
            finally:
                proc.stdout.close()
                if proc.poll() is None:
                    proc.kill()
                proc.wait()

    def start(self, *args: str) -> GitRun:
        """Start `git ARGS` and return at once; `.result()` waits for its stdout (as `run`)."""
        return GitRun(self, args)

    def text(self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None,
             ok: Collection[int] = (0,)) -> str:
        """`run` decoded, without the trailing newline."""
        return self.run(*args, input=input, env=env, ok=ok).decode("utf-8", "surrogateescape").rstrip("\n")

    def blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """The content of many objects in one `git cat-file --batch`."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        out = self.run("cat-file", "--batch", "--buffer", input="".join(f"{s}\n" for s in wanted).encode())
        found: dict[str, bytes] = {}
        pos = 0
        while pos < len(out):
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            if len(header) != 3:  # `<sha> missing`
                pos = end + 1
                continue
            size = int(header[2])
            found[header[0].decode()] = out[end + 1:end + 1 + size]
            pos = end + 1 + size + 1
        return found


class GitRun:
    """A git command running in the background.

    Its output goes to an unnamed temporary file, not a pipe: git never waits for a reader, and
    no thread is needed to be one (a thread would keep `compiler.parallel` from forking). A run
    whose result is never asked for is stopped and its files closed when it is dropped.
    """

    def __init__(self, git: Git, args: tuple[str, ...]) -> None:
        self.args = args
        command, env = git._command(args, None)
        # Open until `result()` or the finalizer: they outlive this call by design.
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(command, cwd=git.root, stdin=subprocess.DEVNULL, stdout=self._out,
                                          stderr=self._err, env=env)
        except BaseException:
            self._out.close()
            self._err.close()
            raise
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._out, self._err)

    def result(self) -> bytes:
        """Wait for git; its stdout, or GitFailed."""
        try:
            code = self._proc.wait()
            self._err.seek(0)
            if code != 0:
                raise GitFailed(self.args, code, self._err.read().decode("utf-8", "replace"))
            self._out.seek(0)
            return self._out.read()
        finally:
            self._finalizer()


def _stop(proc: subprocess.Popen[bytes], *files: IO[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for file in files:
        file.close()


class TreeEntry(NamedTuple):
    """One entry of a commit's catalog tree (a tuple: a catalog's tree has thousands). Sizes are
    not listed: finding them costs git as much as the whole listing, and reading tells them."""

    mode: str
    kind: str
    sha: str


@dataclass(frozen=True)
class Head:
    """Where HEAD points: a branch (None when detached) and a commit (None before the first)."""

    branch: str | None
    commit: str | None


@dataclass(frozen=True)
class CommitInfo:
    """A commit made by a write."""

    sha: str
    time: datetime


def is_hidden_directory(directory: str) -> bool:
    """Whether DirectorySource skips a catalog directory (`a/.b`, `a/.b/`): it or a parent is `.name`."""
    return directory.startswith(".") or "/." in directory


def in_hidden_directory(rel: str) -> bool:
    """Whether a catalog path lies in a directory that DirectorySource does not walk (`.name`)."""
    return is_hidden_directory(rel.rpartition("/")[0])


def is_catalog_file(rel: str) -> bool:
    """Whether a catalog path is read by the compiler (a `.yaml`/`.yml` file, not hidden)."""
    return rel.lower().endswith((".yaml", ".yml")) and not in_hidden_directory(rel)


def _leaves_catalog(target: str, resolved: str) -> bool:
    """Whether a symlink whose target is `target` (`resolved`: normalised from the catalog's root)
    points outside the catalog."""
    return target.startswith("/") or resolved == ".." or resolved.startswith("../")


class GitSource:
    """A catalog read from a commit's objects: the same `read() -> CatalogFiles` as
    `DirectorySource`, with the same refusals (symlinks that leave the catalog, symlinked
    directories, files over the size cap), without a checkout and without touching the work tree."""

    def __init__(self, state: StateManager, commit: str, display_root: str | None = None) -> None:
        self.state = state
        self.git = state.require_git("read a revision")
        self.commit = commit
        self.display_root = display_root if display_root is not None else state.display
        self._targets: dict[str, bytes] = {}

    def entries(self, rels: Iterable[str] | None = None) -> dict[str, TreeEntry]:
        """Tree entries under the catalog (all of them, or only the named paths that exist)."""
        return self.state.tree_entries(self.commit, rels)

    def read(self, *, defer: bool = False) -> CatalogFiles:
        """The catalog at the commit. With `defer`, files are listed but read only when taken
        (`CatalogFiles.take`), as a stream that overlaps whatever is done with them."""
        entries = self.entries()
        files = CatalogFiles(self.display_root)
        # Every symlink's target in one `cat-file` stream, not one git process per link.
        self._targets.update(self.git.blobs(e.sha for e in entries.values() if e.mode == _SYMLINK_MODE))
        self.fill(files, entries, [rel for rel in entries if is_catalog_file(rel)], entries, defer=defer)
        for rel, entry in entries.items():
            if entry.mode == _SYMLINK_MODE and not rel.endswith((".yaml", ".yml")) and not in_hidden_directory(rel):
                self._directory_link(files, rel, entries)
        return files

    def fill(self, files: CatalogFiles, entries: Mapping[str, TreeEntry], rels: Iterable[str],
             tree: Mapping[str, TreeEntry] | None = None, *, defer: bool = False) -> None:
        """Read `rels` (paths of `entries`) into `files`, refusing what DirectorySource refuses.

        `tree` is the whole catalog listing, needed to follow symlinks; without it the targets are
        looked up on demand. With `defer`, the files are only listed for `files.take`.
        """
        wanted: dict[str, str] = {}
        for rel in rels:
            entry = entries.get(rel)
            if entry is None or entry.kind != "blob":
                continue
            target = self._follow(rel, entry, tree, files) if entry.mode == _SYMLINK_MODE else (rel, entry)
            if target is None:
                continue
            wanted[rel] = target[1].sha
        # Sizes come with the objects: one over the cap is refused as it is met, never held.
        reader = functools.partial(self.git.stream_blobs, limit=MAX_FILE_BYTES)
        if defer:
            files.deferred.update(wanted)
            files.reader = reader
            return
        for rel, raw in zip(wanted, reader(list(wanted.values())), strict=True):
            if isinstance(raw, int):
                files.diagnostics.append(too_large(files.display(rel), raw))
            else:
                files.contents[rel] = raw

    def _lookup(self, rel: str, tree: Mapping[str, TreeEntry] | None) -> TreeEntry | None:
        if tree is not None:
            return tree.get(rel)
        return self.entries([rel]).get(rel)

    def _is_directory(self, rel: str, tree: Mapping[str, TreeEntry] | None) -> bool:
        if tree is not None:
            return any(path.startswith(rel + "/") for path in tree)
        entry = self.entries([rel]).get(rel)
        return entry is not None and entry.kind == "tree"

    def _follow(self, rel: str, entry: TreeEntry, tree: Mapping[str, TreeEntry] | None,
                files: CatalogFiles) -> tuple[str, TreeEntry] | None:
        current, link = rel, entry
        for _ in range(_MAX_SYMLINK_HOPS):
            if link.mode != _SYMLINK_MODE:
                return current, link
            target = self._target(link.sha)
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
            if _leaves_catalog(target, resolved):
                # Named as DirectorySource names it: where the link leads from the catalog on disk.
                shown = os.path.normpath(os.path.join(self.state.catalog.resolve(), posixpath.dirname(current), target))
                files.diagnostics.append(Diagnostic(
                    files.display(rel), 1, 1, "symlink",
                    f"symlink points outside the catalog (to {shown}); replace it with the file itself"))
                return None
            found = self._lookup(resolved, tree)
            if found is None:
                if self._is_directory(resolved, tree):
                    self._report_directory_link(files, rel)
                    return None
                files.diagnostics.append(Diagnostic(files.display(rel), 1, 1, "unreadable",
                                                    "cannot read the file: No such file or directory"))
                return None
            if found.kind == "tree":
                self._report_directory_link(files, rel)
                return None
            current, link = resolved, found
        files.diagnostics.append(Diagnostic(files.display(rel), 1, 1, "unreadable",
                                            "cannot read the file: Too many levels of symbolic links"))
        return None

    def _directory_link(self, files: CatalogFiles, rel: str, tree: Mapping[str, TreeEntry]) -> None:
        target = self._target(tree[rel].sha)
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
        if not _leaves_catalog(target, resolved) and self._is_directory(resolved, tree):
            self._report_directory_link(files, rel)

    def _target(self, sha: str) -> str:
        if sha not in self._targets:
            self._targets.update(self.git.blobs([sha]))
        return self._targets.get(sha, b"").decode("utf-8", "surrogateescape")

    @staticmethod
    def _report_directory_link(files: CatalogFiles, rel: str) -> None:
        files.diagnostics.append(Diagnostic(
            files.display(rel), 1, 1, "symlink",
            "symlinked directories are not read; move the files into the catalog"))


class StateManager:
    """The git repository behind a catalog: reads (work tree or any revision) and writes (commits).

    Opening works outside git too; then only the work tree can be read, and anything that needs
    git raises StateError saying so.
    """

    def __init__(self, catalog: str | os.PathLike[str], *, author: str | None = None,
                 lock_timeout: float = 30.0) -> None:
        self.catalog = Path(catalog)
        self.display = os.fspath(catalog)
        self.lock_timeout = lock_timeout
        self._author = _parse_author(author) if author is not None else None
        self.git: Git | None = None
        self.rel = ""
        self._history: dict[str, GitRun] = {}
        self._versions: dict[str, VersionInfo] = {}
        probe = self.catalog
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        repo = open_repo(probe)
        if repo is None:
            return
        try:
            if repo.bare or repo.working_tree_dir is None:
                return
            root = Path(repo.working_tree_dir).resolve()
            git_dir = Path(repo.git_dir).resolve()
            common_dir = Path(repo.common_dir).resolve()
        finally:
            repo.close()
        try:
            rel = self.catalog.resolve().relative_to(root).as_posix()
        except ValueError:
            return
        self.git = Git(root, git_dir, common_dir)
        self.rel = "" if rel == "." else rel

    # -- reading ---------------------------------------------------------------------------

    @property
    def in_git(self) -> bool:
        return self.git is not None

    def require_git(self, action: str) -> Git:
        """The git runner, or StateError naming what cannot be done outside git."""
        if self.git is None:
            raise StateError(f"{self.display} is not inside a git repository; cannot {action} "
                             "(run `git init` and commit the catalog first)")
        return self.git

    def head(self) -> Head:
        """HEAD's branch and commit; both may be None (detached HEAD, no commit yet)."""
        git = self.require_git("read HEAD")
        branch = git.text("symbolic-ref", "-q", "HEAD", ok=(0, 1)) or None
        commit = git.text("rev-parse", "-q", "--verify", "HEAD^{commit}", ok=(0, 1)) or None
        return Head(branch, commit)

    def resolve(self, rev: str) -> str:
        """The full commit id of a revision (`HEAD~3`, a tag, a short sha); UsageError if unknown."""
        git = self.require_git(f"read revision `{rev}`")
        sha = git.text("rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1))
        if sha:
            return sha
        if self.head().commit is None:
            raise UsageError(f"unknown revision `{rev}`: the repository has no commits yet")
        raise UsageError(f"unknown revision `{rev}`: no such commit, branch or tag")

    def is_shallow(self) -> bool:
        """Whether the repository is a shallow clone: git's own test, the `shallow` file that lists
        its cut-off commits (a look at the disk, not a git process)."""
        git = self.require_git("read history")
        return (git.common_dir / "shallow").is_file()

    def path(self, rel: str) -> str:
        """A catalog-relative path as a path from the repository root."""
        return f"{self.rel}/{rel}" if self.rel else rel

    def tree_entries(self, commit: str, rels: Iterable[str] | None = None, *,
                     recursive: bool = True) -> dict[str, TreeEntry]:
        """The catalog's tree at `commit`: every entry (or only the top level without
        `recursive`), or only the entries named by `rels`."""
        git = self.require_git("read a revision")
        tree = f"{commit}:{self.rel}" if self.rel else f"{commit}^{{tree}}"
        if rels is None:
            args = ["ls-tree", *(["-r"] if recursive else []), "-z", tree]
        else:
            wanted = list(rels)
            if not wanted:
                return {}
            args = ["ls-tree", "-z", tree, "--", *wanted]
        try:
            out = git.run(*args)
        except GitFailed as exc:
            if "Not a valid object name" in exc.stderr or "not a tree object" in exc.stderr:
                raise StateError(f"the catalog {self.display} does not exist at commit {commit[:12]}") from None
            raise
        entries: dict[str, TreeEntry] = {}
        for record in out.decode("utf-8", "surrogateescape").split("\0"):
            if not record:
                continue
            meta, _, path = record.partition("\t")
            mode, kind, sha = meta.split()
            entries[path] = TreeEntry(mode, kind, sha)
        return entries

    def changed_files(self, base: str, commit: str) -> list[tuple[str, str, str, str]]:
        """Catalog files that differ between two commits: (status A/M/D/T, path, old mode, new mode)."""
        git = self.require_git("compare revisions")
        out = git.run("diff-tree", "-r", "-z", "--no-renames", "--raw", base, commit, "--", self.rel or ".")
        prefix = f"{self.rel}/" if self.rel else ""
        records = out.split(b"\0")
        found = []
        for meta, path in zip(records[0::2], records[1::2], strict=False):
            if not meta.startswith(b":"):
                continue
            old_mode, new_mode, _, _, status = meta[1:].decode().split()
            rel = path.decode("utf-8", "surrogateescape")
            if rel.startswith(prefix):
                found.append((status[0], rel[len(prefix):], old_mode, new_mode))
        return found

    def source(self, commit: str | None = None) -> CatalogSource:
        """The catalog's files: the work tree (commit None) or a commit's objects."""
        if commit is None:
            return DirectorySource(self.catalog, self.display)
        return GitSource(self, commit)

    def _history_args(self, revisions: str, paths: Iterable[str] | None = None) -> tuple[str, ...]:
        return ("log", *HISTORY_LOG_OPTIONS, "--diff-filter=AD", "--name-status", "--format=%x01%ct", revisions,
                "--", *(paths if paths is not None else [self.rel or "."]))

    def prefetch_registration_dates(self, commits: Iterable[str]) -> None:
        """Start the history passes of `registration_dates` for `commits` in the background.

        git walks the history on another core while this process reads and parses the catalog;
        `registration_dates` then collects the output instead of starting git itself.
        """
        git = self.require_git("read history")
        for commit in dict.fromkeys(commits):
            if commit not in self._history:
                self._history[commit] = git.start(*self._history_args(commit))

    def registration_dates(self, commit: str, rels: Collection[str] | None = None) -> dict[str, datetime]:
        """Catalog path -> when the file, as it exists at `commit`, was added (every file, or only
        those of `rels`): the committer time (UTC) of the commit that added it to the branch.

        One `git log` over the whole history, newest first, along the first-parent line: the first
        event seen for a path is its latest addition (or its deletion, when it no longer exists).
        A file that came in with a merged branch counts from the merge, the commit that brought it
        onto this branch; a file moved (the catalog directory too) counts from the move.
        """
        git = self.require_git("read history")
        if rels is not None:
            if not rels:
                return {}
            if len(rels) > _PATHSPECS_PER_LOG:
                # git's walk costs more with every path it is given: past a few, one pass over
                # everything is quicker.
                every = self.registration_dates(commit)
                return {rel: every[rel] for rel in rels if rel in every}
            out = git.run(*self._history_args(commit, [self.path(rel) for rel in rels]))
        else:
            pending = self._history.pop(commit, None)
            out = pending.result() if pending is not None else git.run(*self._history_args(commit))
        return {rel: when for rel, when in self._latest_events(out).items() if when is not None}

    def registration_changes(self, base: str, commit: str) -> dict[str, datetime | None] | None:
        """How `registration_dates` of `commit` differ from those of `base`, an earlier commit on
        its first-parent line: path -> its new date, or None when it was deleted since. Paths not
        listed keep their date at `base`. None when `base` is not on that line (its dates say
        nothing about `commit`'s then).

        Only the commits after `base` are read, not the whole history.
        """
        git = self.require_git("read history")
        after = int(git.text("rev-list", "--first-parent", "--count", commit, f"^{base}"))
        if git.text("rev-parse", "--verify", "-q", f"{commit}~{after}^{{commit}}", ok=(0, 1)) != base:
            return None
        return self._latest_events(git.run(*self._history_args(f"{base}..{commit}")))

    def registration_between(self, one: str, other: str) -> tuple[str, dict[str, datetime | None]] | None:
        """When one commit is on the other's first-parent line: the older of the two, and
        `registration_changes` from it to the newer. None when neither is."""
        for older, newer in ((one, other), (other, one)):
            changes = self.registration_changes(older, newer)
            if changes is not None:
                return older, changes
        return None

    def _latest_events(self, log: bytes) -> dict[str, datetime | None]:
        # A history pass's output, newest first: per path, the time of its latest addition, or
        # None when its latest event is a deletion.
        prefix = f"{self.rel}/" if self.rel else ""
        found: dict[str, datetime | None] = {}
        when: datetime | None = None
        for line in log.decode("utf-8", "surrogateescape").splitlines():
            if line.startswith("\x01"):
                when = datetime.fromtimestamp(int(line[1:]), UTC)
                continue
            status, _, path = line.partition("\t")
            if not path or not path.startswith(prefix) or when is None:
                continue  # the blank line after each commit's header
            rel = path[len(prefix):]
            if rel not in found:
                found[rel] = when if status == "A" else None
        return found

    def mentions(self, text: str, commit: str | None = None) -> list[str]:
        """Catalog files containing `text`: in the work tree (untracked files included) or at `commit`."""
        git = self.require_git("search the catalog")
        where = [commit] if commit is not None else ["--untracked"]
        out = git.run("grep", "-l", "-z", "-F", "-e", text, *where, "--", self.rel or ".", ok=(0, 1))
        prefix = (f"{commit}:" if commit is not None else "") + (f"{self.rel}/" if self.rel else "")
        found = []
        for path in out.decode("utf-8", "surrogateescape").split("\0"):
            if path.startswith(prefix):
                found.append(path[len(prefix):])
        return sorted(found)

    def version(self, commit: str | None = None) -> VersionInfo:
        """The version of the catalog at `commit`, or of the work tree (HEAD, and dirty when the
        catalog differs from it); unversioned outside git or before the first commit."""
        if self.git is None:
            return VersionInfo()
        if commit is None:
            head = self.head().commit
            if head is None:
                return VersionInfo()
            return replace(self.version(head), dirty=self.catalog_dirty())
        if commit in self._versions:
            return self._versions[commit]
        shallow = self.is_shallow()
        # In a shallow clone the commit count is only what was fetched: not a version number.
        number = None if shallow else int(self.git.text("rev-list", "--count", commit))
        version = VersionInfo(commit=commit, dirty=False, number=number, history="shallow" if shallow else "full")
        if not shallow:  # final: only a shallow clone's answer changes (on `git fetch --unshallow`)
            self._versions[commit] = version
        return version

    def status(self) -> dict[str, str]:
        """Uncommitted state of the catalog's files: path -> porcelain code (`??` untracked,
        `!!` ignored, ` M` modified...; the source of a staged rename is `D `). Read without taking
        git's index lock."""
        git = self.require_git("read the work tree status")
        out = git.run("--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all",
                      "--ignored=matching", "--", self.rel or ".")
        prefix = f"{self.rel}/" if self.rel else ""
        found: dict[str, str] = {}
        records = out.split(b"\0")
        i = 0
        while i < len(records):
            record = records[i].decode("utf-8", "surrogateescape")
            i += 1
            if not record:
                continue
            code, path = record[:2], record[3:]
            if code[0] in "RC":
                # The source comes next; a renamed file is gone from where it was.
                source = records[i].decode("utf-8", "surrogateescape") if i < len(records) else ""
                i += 1
                if code[0] == "R" and source.startswith(prefix):
                    found.setdefault(source[len(prefix):], "D ")
            if path.startswith(prefix):
                found[path[len(prefix):]] = code
        return found

    def catalog_dirty(self, ignore: Collection[str] = (), status: Mapping[str, str] | None = None) -> bool:
        """Whether reading the work tree gives anything else than HEAD (paths in `ignore` aside).

        Only changes the compiler reads count (a `NOTES.txt` does not), ignored files included.
        `status` is a `status()` already taken.
        """
        for rel in (self.status() if status is None else status):
            if rel in ignore:
                continue
            if rel.endswith("/"):
                # A directory listed whole (ignored, or a nested repository) may hold catalog files.
                if not is_hidden_directory(rel):
                    return True
            elif is_catalog_file(rel):
                return True
        return False

    # -- compiling -------------------------------------------------------------------------

    def compile(self, rev: str | None = None, *, strict: bool = False, allow_shallow: bool = False,
                cache: bool = True) -> Snapshot:
        """Compile the work tree (rev None) or a revision into a snapshot.

        A revision compiles to the same bytes as the work tree did when it was HEAD with a clean
        tree. Raises CatalogInvalid with every diagnostic, StateError for an unknown revision or a
        shallow clone (unless `allow_shallow`: then no registration dates, `history: shallow`).
        Only revisions use the snapshot cache: a work tree that git calls clean may still differ
        from HEAD (`git update-index --skip-worktree`, `--assume-unchanged`).
        """
        from compiler.snapshot_cache import SnapshotCache

        if rev is not None:
            self.require_git(f"compile revision `{rev}`")
            commit: str | None = self.resolve(rev)
            version = self.version(commit)
        else:
            if not self.catalog.is_dir():
                raise UsageError(f"catalog directory not found: {self.display}")
            commit = None
            version = self.version()
        if version.history == "shallow" and not allow_shallow:
            raise StateError(SHALLOW_HINT)
        store = SnapshotCache.for_state(self) if cache and commit is not None and version.history == "full" else None
        if commit is not None and store is not None:
            hit = store.get(commit)
            # Under --strict, warnings fail the compile: compile again to report them.
            if hit is not None and not (strict and hit.warnings):
                return hit
        with collector_paused:
            snapshot = build_snapshot(self._check(commit, version, strict=strict), version)
        if commit is not None and store is not None:
            store.put(commit, snapshot)
        return snapshot

    def compile_document(self, rev: str, *, allow_shallow: bool = False, dates: bool = True) -> dict[str, Any]:
        """The snapshot document of a revision (no `$digest`), as `compile` would seal it, for
        comparing rather than publishing: it is not serialised, hashed nor cached. A cached
        snapshot of the revision is used when there is one. Without `dates`, every model's
        `registered_at` is left None (no pass over the history)."""
        from compiler.snapshot_cache import SnapshotCache

        self.require_git(f"compile revision `{rev}`")
        commit = self.resolve(rev)
        version = self.version(commit)
        if version.history == "shallow" and not allow_shallow:
            raise StateError(SHALLOW_HINT)
        store = SnapshotCache.for_state(self) if version.history == "full" else None
        hit = store.get(commit) if store is not None else None
        if hit is not None:
            return {key: value for key, value in hit.document.items() if key != "$digest"}
        with collector_paused:
            return snapshot_document(self._check(commit, version, dates=dates, warnings=False), version)

    def _check(self, commit: str | None, version: VersionInfo, *, strict: bool = False,
               dates: bool = True, warnings: bool = True) -> CatalogCheck:
        # The checked catalog of the work tree or a commit, with registration dates (unless not
        # `dates`) and warnings about empty pools (unless not `warnings`); CatalogInvalid when it
        # has errors (or warnings, under `strict`).
        dated = version.commit if version.history == "full" and dates else None
        if dated is not None:
            self.prefetch_registration_dates([dated])
        # A revision's files are read as they are checked: git inflates the next while this
        # process parses the last.
        files = DirectorySource(self.catalog, self.display).read() if commit is None else \
            GitSource(self, commit).read(defer=True)
        check = check_catalog(files, pool_warnings=warnings)
        if not check.ok(strict=strict):
            raise CatalogInvalid(check.diagnostics)
        found = self.registration_dates(dated) if dated is not None else {}
        for model in check.models.values():
            model.registered_at = found.get(model.source)
        return check

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[Head]:
        """Hold the repository for a write: the modelreg lock, and no git process at the index.

        The modelreg lock is an advisory `flock` on `.git/modelreg.lock`: the kernel releases it
        when its holder dies, so a crash never leaves it held (the pid in the file is only for the
        message). Git's own `index.lock` is never taken away: `git commit` holds it for as long as
        its editor is open, and nothing tells that apart from the leftover of a crashed git. Waits
        up to `lock_timeout` seconds for both, then raises BusyError. Yields HEAD, which must be on
        a branch with at least one commit, with no merge, cherry-pick, revert or rebase under way.
        """
        git = self.require_git("write to the catalog")
        path = git.common_dir / "modelreg.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + self.lock_timeout
            self._acquire(fd, path, deadline)
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                _remove_leftover_indexes(git)
                self._wait_for_index(git, deadline)
                _refuse_operation_in_progress(git)
                head = self.head()
                if head.commit is None:
                    raise StateError("the repository has no commits yet; commit the catalog first "
                                     f"(git add {self.rel or '.'} && git commit)")
                if head.branch is None:
                    raise StateError(f"HEAD is detached (at {head.commit[:12]}); check out a branch to "
                                     "register or unregister models")
                yield head
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

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
        lock = git.git_dir / "index.lock"
        while True:
            try:
                age = max(0.0, time.time() - lock.stat().st_mtime)
            except FileNotFoundError:
                return
            if time.monotonic() >= deadline:
                raise BusyError(f"busy, retry: another git process holds {lock} (for {age:.0f} s); if no git "
                                f"process is running, one that crashed left it behind: `rm {lock}`")
            time.sleep(0.02)

    def check_writable(self, rels: Iterable[str]) -> None:
        """StateError unless every catalog path in `rels` can be written in place: no symlinked
        directory on the way (it would carry the write out of the catalog) and no symlink at the
        path itself (a write would go through it, a rollback would delete it)."""
        root = self.catalog.resolve()
        for rel in rels:
            parent = self.catalog
            for part in rel.split("/")[:-1]:
                parent = parent / part
                if parent.is_symlink() or not parent.resolve().is_relative_to(root):
                    raise StateError(f"{parent} is a symlink; modelreg writes only inside {self.display}")
            if (self.catalog / rel).is_symlink():
                raise StateError(f"{self.display}/{rel} is a symlink; modelreg does not write through symlinks "
                                 "(replace it with the file itself, or remove it with `git rm`)")

    def commit(self, head: Head, changes: Mapping[str, bytes | None], message: str) -> CommitInfo | None:
        """Write `changes` (catalog path -> new content, None to delete) to the work tree and
        commit exactly those paths on HEAD's branch; None when nothing changed.

        Call inside `write_lock`. The commit is built in a private index, so whatever else is
        staged stays staged and uncommitted. The written paths are staged in the real index just
        before the branch moves (also when no commit is needed), so a crash at any point leaves at
        worst the change staged, never an index that undoes a commit. The branch moves only if
        nobody moved it meanwhile; on any failure before that, the files and the index are put
        back as they were, except paths that the branch now holds as written (a `git commit` run
        in that moment takes in what is staged).
        """
        git = self.require_git("commit")
        assert head.branch is not None and head.commit is not None
        self.check_writable(changes)
        previous: dict[str, bytes | None] = {}
        for rel in changes:
            full = self.catalog / rel
            previous[rel] = full.read_bytes() if full.is_file() else None
        paths = [self.path(rel) for rel in changes]
        staged: dict[str, bytes] | None = None  # the index entries before staging, by path
        try:
            self._put_files(changes)
            info = self._commit_tree(git, head, paths, message)
            entries = _index_records(git.run("ls-files", "--stage", "-z", "--", *paths, env=_LITERAL_PATHS))
            self._on_index(git, "update-index", "--add", "--remove", "--", *paths)
            staged = entries
            if info is not None:
                try:
                    git.run("update-ref", "-m", f"modelreg: {(message.splitlines() or [''])[0]}", head.branch,
                            info.sha, head.commit)
                except GitFailed as exc:
                    raise BusyError(f"busy, retry: {head.branch} moved while committing ({exc.stderr})") from None
        except BaseException:
            self._roll_back(git, head, previous, staged)
            raise
        return info

    def _roll_back(self, git: Git, head: Head, previous: Mapping[str, bytes | None],
                   staged: Mapping[str, bytes] | None) -> None:
        back = dict(previous)
        if staged is not None:
            assert head.branch is not None
            paths = [self.path(rel) for rel in previous]
            now = _index_objects(git.run("ls-files", "--stage", "-z", "--", *paths, env=_LITERAL_PATHS))
            tip = _tree_objects(git.run("ls-tree", "-r", "-z", head.branch, "--", *paths, env=_LITERAL_PATHS))
            # What the branch now holds as written stays, index and file agreeing with it.
            back = {rel: content for rel, content in previous.items()
                    if now.get(self.path(rel)) != tip.get(self.path(rel))}
        self._put_files(back)
        if staged is not None and back:
            self._restore_index(git, [self.path(rel) for rel in back], staged)

    def _commit_tree(self, git: Git, head: Head, paths: list[str], message: str) -> CommitInfo | None:
        assert head.commit is not None
        index = git.git_dir / f"{_PRIVATE_INDEX}.{os.getpid()}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            git.run("read-tree", head.commit, env=env)
            git.run("update-index", "--add", "--remove", "--", *paths, env=env)
            tree = git.text("write-tree", env=env)
        finally:
            with contextlib.suppress(FileNotFoundError):
                index.unlink()
        if tree == git.text("rev-parse", f"{head.commit}^{{tree}}"):
            return None
        try:
            sha = git.text("commit-tree", tree, "-p", head.commit, "-F", "-", input=message.encode(),
                           env=self._identity_env())
        except GitFailed as exc:
            if "identity" in exc.stderr or "tell me who you are" in exc.stderr:
                raise StateError("git does not know who is committing: set user.name and user.email "
                                 "(git config), or give an author (`Name <email>`)") from None
            raise
        committed = git.text("show", "-s", "--format=%ct", sha)
        return CommitInfo(sha, datetime.fromtimestamp(int(committed), UTC))

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
        for rel, content in previous.items():
            full = self.catalog / rel
            if content is None:
                with contextlib.suppress(FileNotFoundError):
                    full.unlink()
            else:
                write_atomic(full, content)

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


def _remove_leftover_indexes(git: Git) -> None:
    # A writer's private index lives only while it holds the modelreg lock; one of a process that
    # is gone was left by a crash.
    for index in git.git_dir.glob(f"{_PRIVATE_INDEX}.*"):
        pid = index.name.rpartition(".")[2]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError):
            index.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


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


def _parse_author(author: str) -> tuple[str, str]:
    match = _AUTHOR.match(author)
    if match is None or not match["name"] or not match["email"]:
        raise UsageError(f"author `{author}` is not in the form `Name <email>`")
    return match["name"], match["email"]
