"""The two sides of a diff: git revisions, the work tree, or compiled snapshot files, each
turned into its snapshot document as cheaply as it can be (a side that needs no compile first,
so the other can be derived from it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelreg.build.compile import compile_worktree
from modelreg.build.registration import fill_registration_dates
from modelreg.build.revision import RevisionCompiler
from modelreg.build.snapshot import Snapshot
from modelreg.catalog.paths import DEFAULT_CATALOG, status_changes_catalog
from modelreg.diff.report import Diff, Side, compare
from modelreg.errors import CatalogInvalid, StateError, UsageError
from modelreg.gc_pause import collector_paused
from modelreg.git.repository import CatalogRepository, not_in_git


def default_base(repo: CatalogRepository) -> str:
    """The merge-base of HEAD with the default branch: in a pull request (`GITHUB_BASE_REF`) its
    target branch, else `origin/HEAD`, `init.defaultBranch`, `main` or `master`. On the default
    branch itself that is HEAD, so the work tree is compared with its own commit.

    UsageError when no such branch exists: comparing HEAD with itself would report "no changes"
    for a branch full of them."""
    git = repo.git
    head = repo.head().commit
    if head is None:
        raise UsageError("the repository has no commits yet: nothing to diff against; give BASE as a snapshot file")
    target = os.environ.get("GITHUB_BASE_REF")
    if target:
        # The pull request names its base; any other branch would be the wrong one.
        candidates = [f"refs/remotes/origin/{target}", f"refs/heads/{target}"]
        hint = f", or fetch origin/{target}"
    else:
        candidates = []
        origin_head = git.text("symbolic-ref", "-q", "refs/remotes/origin/HEAD", ok=(0, 1))
        if origin_head:
            candidates.append(origin_head)
        configured = git.text("config", "--get", "init.defaultBranch", ok=(0, 1))
        for name in dict.fromkeys(n for n in (configured, "main", "master") if n):
            candidates += [f"refs/remotes/origin/{name}", f"refs/heads/{name}"]
        hint = ""
    for ref in candidates:
        if git.text("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", ok=(0, 1)):
            base = git.text("merge-base", head, ref, ok=(0, 1))
            if not base:
                raise StateError(f"HEAD and {ref} have no common history; give BASE explicitly")
            return base
    raise UsageError(f"cannot find the default branch to diff against; give BASE{hint}")


def load_sides(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, base: str | None = None,
               head: str | None = None, *, allow_shallow: bool = False, cache: bool = True) -> tuple[Side, Side]:
    """Resolve BASE and HEAD: snapshot files, revisions, or (HEAD omitted) the work tree. BASE
    omitted is the merge-base with the default branch.

    When both sides are commits compiled here (no snapshot file, nothing cached), their documents
    carry only the `registered_at` dates that can differ between them (of files added or removed
    in between); the others are None on both sides. `cache` False compiles each side afresh,
    without the snapshot or per-file caches.
    """
    repo = CatalogRepository.find(catalog)
    compiler = RevisionCompiler(repo, cache=cache, allow_shallow=allow_shallow) if repo is not None else None
    specs: list[tuple[str, str, str | None]] = []  # (kind, ref, commit)
    for spec, default in ((base, "base"), (head, "head")):
        if spec is not None and Path(spec).is_file():
            specs.append(("snapshot", spec, None))
        elif spec is not None:
            if repo is None:
                raise not_in_git(catalog, f"read revision `{spec}`")
            specs.append(("revision", spec, repo.resolve(spec)))
        elif default == "base":
            if repo is None:
                raise UsageError(f"{os.fspath(catalog)} is not in a git repository: give BASE (and HEAD) as "
                                 "snapshot files")
            specs.append(("revision", "merge-base", default_base(repo)))
        else:
            commit = repo.head().commit if repo is not None else None
            clean = repo is not None and commit is not None and not status_changes_catalog(repo.status())
            specs.append(("worktree", "working tree", commit if clean else None))
    documents: dict[int, Side] = {}
    loaded: list[tuple[str, dict[str, Any]]] = []
    # Sides that need no compile go first, so the others can be derived from them.
    order = sorted(range(2), key=lambda i: _cost(specs[i], compiler))
    # Two commits to compile, and no cached snapshot to derive one from: their dates are needed
    # only where they differ, which the history between them tells, not the whole of it.
    commits = [commit for kind, _, commit in specs if kind != "snapshot" and commit is not None]
    shallow = repo is not None and repo.is_shallow()
    cached = compiler is not None and compiler.has_cached()
    comparable = len(commits) == 2 and not shallow and all(_cost(spec, compiler) == 2 for spec in specs) \
        and not cached
    # Otherwise a first side compiled in full needs the dates of its whole history: git walks it on
    # another core while that side is read and parsed here. A side derived from another (the
    # other side, or a cached commit nearby) reads only the history in between.
    first = specs[order[0]]
    if compiler is not None and not comparable and not cached and _cost(first, compiler) == 2 \
            and first[2] is not None and not shallow:
        compiler.dates.prefetch([first[2]])
    for i in order:
        kind, ref, commit = specs[i]
        if kind == "snapshot":
            snapshot = Snapshot.read(ref)
            # Not a base to derive from: another version of modelreg may have compiled it.
            documents[i] = Side(kind, ref, snapshot.document, snapshot.digest)
            continue
        try:
            if commit is None:  # a work tree with uncommitted changes
                documents[i] = Side(kind, ref, compile_worktree(catalog, allow_shallow=allow_shallow,
                                                                cache=cache).document)
                continue
            assert compiler is not None
            # A diff only compares: the document alone (`compile --rev` is what fills the cache).
            document = compiler.document(commit, dates=not comparable, near=loaded)
        except CatalogInvalid as exc:
            where = f"{ref} ({commit[:12]})" if commit is not None and kind == "revision" else ref
            raise CatalogInvalid(exc.diagnostics, f"{where}: the catalog is invalid there; no diff") from None
        loaded.append((commit, document))
        documents[i] = Side(kind, ref, document)
    if comparable:
        assert compiler is not None
        fill_registration_dates(compiler.dates, loaded)
    return documents[0], documents[1]


def _cost(spec: tuple[str, str, str | None], compiler: RevisionCompiler | None) -> int:
    kind, _, commit = spec
    if kind == "snapshot":
        return 0
    if commit is not None and compiler is not None and compiler.is_cached(commit):
        return 1
    return 2


def diff_catalog(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, base: str | None = None,
                 head: str | None = None, *, allow_shallow: bool = False, cache: bool = True) -> Diff:
    """The diff between two states of a catalog (see `load_sides`)."""
    with collector_paused:  # two whole catalogs are built; the collector would only walk them
        return compare(*load_sides(catalog, base, head, allow_shallow=allow_shallow, cache=cache))
