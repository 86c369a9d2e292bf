"""The git repository that holds a catalog, seen from the catalog's directory: HEAD, revisions,
trees, objects, changes between commits and the work tree's status, all as catalog-relative paths.

It reads git; it knows nothing of what a catalog file means (`modelreg.catalog` does).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from modelreg.errors import StateError, UsageError
from modelreg.git.runner import Git, GitFailed, find_work_tree

# A full commit id (SHA-1 or SHA-256): a name that always means the same commit.
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class TreeEntry(NamedTuple):
    """One entry of a commit's catalog tree (a tuple: a catalog's tree has thousands). Sizes are
    not listed: finding them costs git as much as the whole listing, and reading tells them."""

    mode: str
    kind: str
    sha: str


SYMLINK_MODE = "120000"
REGULAR_MODES = ("100644", "100755")


class NotInCommit(StateError):
    """The catalog's directory does not exist at a commit."""


@dataclass(frozen=True)
class Head:
    """Where HEAD points: a branch (None when detached) and a commit (None before the first)."""

    branch: str | None
    commit: str | None


class CatalogRepository:
    """The repository behind one catalog directory. `find` opens it; the catalog's place in the
    work tree (`rel`) prefixes every path given to git."""

    def __init__(self, git: Git, catalog: str | os.PathLike[str], rel: str) -> None:
        self.git = git
        self.catalog = Path(catalog)
        self.display = os.fspath(catalog)
        self.rel = rel
        self._numbers: dict[str, int] = {}
        self._changes: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
        self._found_head = False

    @classmethod
    def find(cls, catalog: str | os.PathLike[str], *, head: bool = False) -> CatalogRepository | None:
        """The repository whose work tree holds `catalog`, or None when there is none. With
        `head`, the next `head_commit()` is HEAD's commit as finding it saw it: one git process
        fewer for a command that asks at once."""
        git = find_work_tree(catalog, head=head)
        if git is None:
            return None
        try:
            rel = Path(catalog).resolve().relative_to(git.root).as_posix()
        except ValueError:
            return None
        repo = cls(git, catalog, "" if rel == "." else rel)
        repo._found_head = head
        return repo

    @classmethod
    def require(cls, catalog: str | os.PathLike[str], action: str) -> CatalogRepository:
        """The repository of `catalog`, or StateError naming what cannot be done outside git."""
        repo = cls.find(catalog)
        if repo is None:
            raise not_in_git(catalog, action)
        return repo

    def path(self, rel: str) -> str:
        """A catalog-relative path as a path from the repository root."""
        return f"{self.rel}/{rel}" if self.rel else rel

    def _relative(self, path: str) -> str | None:
        # A path from the repository root as a catalog path; None outside the catalog.
        prefix = f"{self.rel}/" if self.rel else ""
        return path[len(prefix):] if path.startswith(prefix) else None

    def head(self) -> Head:
        """HEAD's branch and commit; both may be None (detached HEAD, no commit yet)."""
        branch = self.git.text("symbolic-ref", "-q", "HEAD", ok=(0, 1)) or None
        return Head(branch, self.head_commit())

    def head_commit(self) -> str | None:
        """HEAD's commit; None before the first commit. One git process, where `head` takes two
        (none, the first time after `find(head=True)`)."""
        if self._found_head:
            self._found_head = False
            return self.git.found_head
        return self.git.text("rev-parse", "-q", "--verify", "HEAD^{commit}", ok=(0, 1)) or None

    def resolve(self, rev: str) -> str:
        """The full commit id of a revision (`HEAD~3`, a tag, a short sha); UsageError if unknown."""
        sha = self.git.text("rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1))
        if sha:
            return sha
        if self.head().commit is None:
            raise UsageError(f"unknown revision `{rev}`: the repository has no commits yet")
        raise UsageError(f"unknown revision `{rev}`: no such commit, branch or tag")

    def first_parent(self, commit: str) -> str | None:
        """The first parent of `commit` (the branch's previous commit for a merge), or None for a
        root commit (and, in a shallow clone, for the oldest one it holds)."""
        return self.git.text("rev-parse", "-q", "--verify", f"{commit}^1^{{commit}}", ok=(0, 1)) or None

    def is_shallow(self) -> bool:
        """Whether the repository is a shallow clone: git's own test, the `shallow` file that lists
        its cut-off commits (a look at the disk, not a git process)."""
        return (self.git.common_dir / "shallow").is_file()

    def commit_number(self, commit: str) -> int:
        """How many commits `commit` has in its history (itself included). Remembered: a commit's
        history never changes, except by `git fetch --unshallow`, so callers ask only outside a
        shallow clone."""
        number = self._numbers.get(commit)
        if number is None:
            number = self._numbers[commit] = int(self.git.text("rev-list", "--count", commit))
        return number

    def remember_number(self, commit: str, number: int) -> None:
        """Take `number` as `commit_number(commit)`, known from an earlier run (a compile's memo)."""
        self._numbers[commit] = number

    def first_parent_distance(self, base: str, commit: str) -> int | None:
        """How many first-parent steps lead from `commit` back to `base`; None when `base` is not
        on `commit`'s first-parent line."""
        after = int(self.git.text("rev-list", "--first-parent", "--count", commit, f"^{base}"))
        if self.git.text("rev-parse", "--verify", "-q", f"{commit}~{after}^{{commit}}", ok=(0, 1)) != base:
            return None
        return after

    def tree_entries(self, commit: str, rels: Iterable[str] | None = None, *,
                     recursive: bool = True) -> dict[str, TreeEntry]:
        """The catalog's tree at `commit`: every entry (or only the top level without
        `recursive`), or only the entries named by `rels`."""
        tree = f"{commit}:{self.rel}" if self.rel else f"{commit}^{{tree}}"
        if rels is None:
            args = ["ls-tree", *(["-r"] if recursive else []), "-z", tree]
        else:
            wanted = list(rels)
            if not wanted:
                return {}
            args = ["ls-tree", "-z", tree, "--", *wanted]
        try:
            out = self.git.run(*args)
        except GitFailed as exc:
            if "Not a valid object name" in exc.stderr or "not a tree object" in exc.stderr:
                raise NotInCommit(f"the catalog {self.display} does not exist at commit {commit[:12]}") from None
            raise
        entries: dict[str, TreeEntry] = {}
        for record in out.decode("utf-8", "surrogateescape").split("\0"):
            if not record:
                continue
            meta, _, path = record.partition("\t")
            mode, kind, sha = meta.split()
            entries[path] = TreeEntry(mode, kind, sha)
        return entries

    def blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """The content of many objects, by id."""
        return self.git.blobs(shas)

    def stream_blobs(self, shas: Sequence[str], limit: int | None = None) -> Iterator[bytes | int]:
        """The content of each object of `shas`, in order, as git reads it (see `Git.stream_blobs`)."""
        return self.git.stream_blobs(shas, limit)

    def changed_files(self, base: str, commit: str) -> list[tuple[str, str, str, str]]:
        """Catalog files that differ between two commits: (status A/M/D/T, path, old mode, new mode).
        Remembered for two commit ids: what lies between them never changes."""
        pair = (base, commit)
        known = self._changes.get(pair)
        if known is None:
            known = self._changed_files(base, commit)
            if all(_COMMIT_ID.fullmatch(rev) for rev in pair):
                self._changes[pair] = known
        return list(known)

    def _changed_files(self, base: str, commit: str) -> list[tuple[str, str, str, str]]:
        out = self.git.run("diff-tree", "-r", "-z", "--no-renames", "--raw", base, commit, "--", self.rel or ".")
        records = out.split(b"\0")
        found = []
        for meta, path in zip(records[0::2], records[1::2], strict=False):
            if not meta.startswith(b":"):
                continue
            old_mode, new_mode, _, _, status = meta[1:].decode().split()
            rel = self._relative(path.decode("utf-8", "surrogateescape"))
            if rel is not None:
                found.append((status[0], rel, old_mode, new_mode))
        return found

    def mentions(self, text: str, commit: str | None = None) -> list[str]:
        """Catalog files containing `text`: in the work tree (untracked files included) or at `commit`."""
        where = [commit] if commit is not None else ["--untracked"]
        out = self.git.run("grep", "-l", "-z", "-F", "-e", text, *where, "--", self.rel or ".", ok=(0, 1))
        prefix = f"{commit}:" if commit is not None else ""
        found = []
        for path in out.decode("utf-8", "surrogateescape").split("\0"):
            rel = self._relative(path[len(prefix):]) if path.startswith(prefix) else None
            if rel is not None:
                found.append(rel)
        return sorted(found)

    def status(self) -> dict[str, str]:
        """Uncommitted state of the catalog's files: path -> porcelain code (`??` untracked,
        `!!` ignored, ` M` modified...; the source of a staged rename is `D `). Read without taking
        git's index lock."""
        return self.start_status()()

    def start_status(self) -> Callable[[], dict[str, str]]:
        """`status`, started now in the background: the returned function waits for it."""
        run = self.git.start("--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all",
                             "--ignored=matching", "--", self.rel or ".")
        return lambda: self._parse_status(run.result())

    def _parse_status(self, out: bytes) -> dict[str, str]:
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
                moved = self._relative(source)
                if code[0] == "R" and moved is not None:
                    found.setdefault(moved, "D ")
            rel = self._relative(path)
            if rel is not None:
                found[rel] = code
        return found


def not_in_git(catalog: str | os.PathLike[str], action: str) -> StateError:
    """The error for something that needs the catalog to be in a git repository."""
    return StateError(f"{os.fspath(catalog)} is not inside a git repository; cannot {action} "
                      "(run `git init` and commit the catalog first)")
