"""When each model was registered, from git: the time of the commit that added its file.

Every question about a file's history reads the log the same way (`registered_at`, `modelreg
history`): along the branch's own line (first parents), a merge showing what it brought onto the
branch (its diff against the first parent), children always before parents whatever the commit
dates say (clocks skew), and a moved file counted as a new one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime

from modelreg.git.repository import CatalogRepository
from modelreg.git.runner import GitRun

SHALLOW_HINT = (
    "registered_at needs the full git history, but this is a shallow clone; run `git fetch --unshallow` "
    "(in GitHub Actions, check out with `fetch-depth: 0`), or accept a snapshot without registration "
    "dates (--allow-shallow), which records history \"shallow\""
)
HISTORY_LOG_OPTIONS = ("--first-parent", "--diff-merges=first-parent", "--topo-order", "--no-renames",
                       "--no-follow")
# Above this many paths, `dates` reads the whole history once instead.
_PATHSPECS_PER_LOG = 8


class RegistrationDates:
    """Registration dates of one catalog's files, at any commit; a history pass can be started
    ahead (`prefetch`) so git walks the history on another core while the catalog is parsed."""

    def __init__(self, repo: CatalogRepository) -> None:
        self.repo = repo
        self._history: dict[str, GitRun] = {}

    def _history_args(self, revisions: str, paths: Iterable[str] | None = None) -> tuple[str, ...]:
        return ("log", *HISTORY_LOG_OPTIONS, "--diff-filter=AD", "--name-status", "--format=%x01%ct", revisions,
                "--", *(paths if paths is not None else [self.repo.rel or "."]))

    def prefetch(self, commits: Iterable[str]) -> None:
        """Start the history passes of `dates` for `commits` in the background.

        git walks the history on another core while this process reads and parses the catalog;
        `dates` then collects the output instead of starting git itself.
        """
        git = self.repo.git
        for commit in dict.fromkeys(commits):
            if commit not in self._history:
                self._history[commit] = git.start(*self._history_args(commit))

    def dates(self, commit: str, rels: Collection[str] | None = None) -> dict[str, datetime]:
        """Catalog path -> when the file, as it exists at `commit`, was added (every file, or only
        those of `rels`): the committer time (UTC) of the commit that added it to the branch.

        One `git log` over the whole history, newest first, along the first-parent line: the first
        event seen for a path is its latest addition (or its deletion, when it no longer exists).
        A file that came in with a merged branch counts from the merge, the commit that brought it
        onto this branch; a file moved (the catalog directory too) counts from the move.
        """
        git = self.repo.git
        if rels is not None:
            if not rels:
                return {}
            if len(rels) > _PATHSPECS_PER_LOG:
                # git's walk costs more with every path it is given: past a few, one pass over
                # everything is quicker.
                every = self.dates(commit)
                return {rel: every[rel] for rel in rels if rel in every}
            out = git.run(*self._history_args(commit, [self.repo.path(rel) for rel in rels]))
        else:
            pending = self._history.pop(commit, None)
            out = pending.result() if pending is not None else git.run(*self._history_args(commit))
        return {rel: when for rel, when in self._latest_events(out).items() if when is not None}

    def changes(self, base: str, commit: str) -> dict[str, datetime | None] | None:
        """How `dates` of `commit` differ from those of `base`, an earlier commit on
        its first-parent line: path -> its new date, or None when it was deleted since. Paths not
        listed keep their date at `base`. None when `base` is not on that line (its dates say
        nothing about `commit`'s then).

        Only the commits after `base` are read, not the whole history.
        """
        if self.repo.first_parent_distance(base, commit) is None:
            return None
        return self._latest_events(self.repo.git.run(*self._history_args(f"{base}..{commit}")))

    def between(self, one: str, other: str) -> tuple[str, dict[str, datetime | None]] | None:
        """When one commit is on the other's first-parent line: the older of the two, and
        `changes` from it to the newer. None when neither is."""
        for older, newer in ((one, other), (other, one)):
            changes = self.changes(older, newer)
            if changes is not None:
                return older, changes
        return None

    def _latest_events(self, log: bytes) -> dict[str, datetime | None]:
        # A history pass's output, newest first: per path, the time of its latest addition, or
        # None when its latest event is a deletion.
        found: dict[str, datetime | None] = {}
        for header, status, rel in log_events(self.repo, log):
            if rel not in found:
                found[rel] = datetime.fromtimestamp(int(header), UTC) if status == "A" else None
        return found


def log_events(repo: CatalogRepository, log: bytes) -> Iterator[tuple[str, str, str]]:
    """The file events of a `git log --name-status` whose commit lines are `\\x01<header>`, in the
    log's order: (the commit's header, the status letter, the catalog path). Paths outside the
    catalog are left out."""
    prefix = f"{repo.rel}/" if repo.rel else ""
    header: str | None = None
    for line in log.decode("utf-8", "surrogateescape").splitlines():
        if line.startswith("\x01"):
            header = line[1:]
            continue
        status, _, path = line.partition("\t")
        if not path or not path.startswith(prefix) or header is None:
            continue  # the blank line after each commit's header
        yield header, status[:1], path[len(prefix):]
