"""The compiler's entry points: check a catalog, compile it into a snapshot.

A compile reads a source (the catalog directory, or a revision's objects), checks it and builds
the snapshot; git is asked only for the version and the registration dates.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from modelreg.build.fingerprint import compiler_fingerprint
from modelreg.build.limits import Limits
from modelreg.build.outcome_store import outcomes_for, worktree_memo_for
from modelreg.build.snapshot import Snapshot
from modelreg.build.version import VersionInfo
from modelreg.build.worktree_memo import WorktreeMemo, listed_digests

if TYPE_CHECKING:
    from modelreg.build.worktree_check import Verdict
    from modelreg.check.catalog_check import CatalogCheck
    from modelreg.git.registration_dates import RegistrationDates
from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.paths import DEFAULT_CATALOG
from modelreg.check.outcome_cache import digest
from modelreg.errors import StateError, UsageError


def _catalog_dir(catalog: str | os.PathLike[str]) -> Path:
    root = Path(catalog)
    if not root.is_dir():
        raise UsageError(f"catalog directory not found: {os.fspath(catalog)}")
    return root


def validate_catalog(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, *, cache: bool = True) -> CatalogCheck:
    """Check a catalog directory; the result holds every diagnostic (it does not raise on them).
    Reads the directory alone: no git. `cache` False checks every file again, without reading or
    writing the per-file cache."""
    from modelreg.check.catalog_check import check_catalog

    root = _catalog_dir(catalog)
    outcomes = outcomes_for(root) if cache else None
    return check_catalog(DirectorySource(root, os.fspath(catalog)).read(), outcomes=outcomes)


def check_catalog_dir(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, *, cache: bool = True) -> Verdict:
    """What `validate` reports on a catalog directory: every diagnostic a full check gives, found by
    checking only what changed since the last check or compile when the cache allows (see
    `modelreg.build.worktree_check`). No git. `cache` False checks every file afresh."""
    from modelreg.build.worktree_check import check_worktree

    return check_worktree(_catalog_dir(catalog), os.fspath(catalog), cache=cache)


def compile_catalog(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, *, strict: bool = False,
                    rev: str | None = None, allow_shallow: bool = False, limits: Limits | None = None,
                    cache: bool = True) -> Snapshot:
    """Compile a catalog directory into a snapshot.

    Raises CatalogInvalid (with every diagnostic) when the catalog has errors, or warnings under
    `strict`. Writing the snapshot is the caller's choice: `snapshot.write(path)`.

    `rev` compiles a git revision (`HEAD~3`, a tag, a sha) from git's objects instead of the work
    tree, to the bytes the work tree gave when that revision was HEAD. In git, every model's
    `registered_at` comes from history; a shallow clone raises StateError unless `allow_shallow`.

    `limits` bound the number of models and the snapshot's size (LimitExceeded past them; the
    defaults when None).

    A model file checked before (at any revision) is not checked again: its outcome comes from
    the per-file cache (`modelreg.build.outcome_store`), to the same bytes. `cache` False
    compiles everything afresh and leaves the caches alone.
    """
    if rev is not None:
        from modelreg.git.repository import CatalogRepository, not_in_git

        repo = CatalogRepository.find(catalog)
        if repo is None:
            raise not_in_git(catalog, f"compile revision `{rev}`")
        from modelreg.build.revision import RevisionCompiler

        compiler = RevisionCompiler(repo, cache=cache, allow_shallow=allow_shallow)
        return compiler.snapshot(repo.resolve(rev), strict=strict, limits=limits)
    return compile_worktree(catalog, strict=strict, allow_shallow=allow_shallow, limits=limits, cache=cache)


def compile_worktree(catalog: str | os.PathLike[str], *, strict: bool = False,
                     allow_shallow: bool = False, limits: Limits | None = None, cache: bool = True) -> Snapshot:
    """Compile the catalog directory as it is on disk (see `compile_catalog`). Its snapshot is
    never taken from the snapshot cache (a work tree that git calls clean may still differ from
    HEAD: `git update-index --skip-worktree`, `--assume-unchanged`); its files' outcomes are,
    by their content."""
    # Here, not at the top: `validate`, which reads no git, imports this module too.
    from modelreg.build.version import start_worktree_version
    from modelreg.git.registration_dates import SHALLOW_HINT, RegistrationDates
    from modelreg.git.repository import CatalogRepository

    root = _catalog_dir(catalog)
    repo = CatalogRepository.find(catalog, head=True)
    memo = worktree_memo_for(root) if cache else None
    last = memo.last_version() if memo is not None else None
    if repo is not None and last is not None and last["history"] == "full" and isinstance(last["number"], int):
        # A commit's place in a whole history never changes: one git process fewer.
        repo.remember_number(last["commit"], last["number"])
    known, version_now = start_worktree_version(repo)  # git status runs while the files are listed
    if known.history == "shallow" and not allow_shallow:
        raise StateError(SHALLOW_HINT)
    dates = RegistrationDates(repo) if repo is not None else None
    source = DirectorySource(root, os.fspath(catalog))
    outcomes = outcomes_for(root) if cache else None
    where = os.fspath(catalog)
    if memo is None:
        from modelreg.build.pipeline import compile_files

        return compile_files(source.read, version_now(), dates, strict=strict, limits=limits, where=where,
                             outcomes=outcomes)

    def compile_read(files: CatalogFiles, limits: Limits) -> Snapshot:
        # Here, not at the top: a compile whose snapshot the memo holds loads no checker.
        from modelreg.build.pipeline import compile_files

        return compile_files(lambda: files, version_now(), dates, strict=strict, limits=limits, where=where,
                             outcomes=outcomes, spans=True)
    snapshot = _memoised(memo, source, version_now, dates, limits or Limits(), strict=strict, where=where,
                         compile_read=compile_read)
    snapshot.outputs = memo.outputs
    return snapshot


def _memoised(memo: WorktreeMemo, source: DirectorySource, version_now: Callable[[], VersionInfo],
              dates: RegistrationDates | None, limits: Limits, *, strict: bool, where: str,
              compile_read: Callable[[CatalogFiles, Limits], Snapshot]) -> Snapshot:
    # The memo's snapshot when nothing it depends on changed; else one derived from it when only
    # model files changed; else `compile_read` of the files read afresh. Memoised either way.
    listing = memo.listing(source)
    if listing is None:
        return compile_read(source.read(), limits)
    version = version_now()
    digests = listed_digests(source, listing) if not memo.empty else None
    if digests is not None:
        key = WorktreeMemo.key(compiler_fingerprint(), source.display_root, version, digests)
        hit = memo.get(key, lambda: compile_read(source.read(), limits).raw)
        # Under --strict, warnings fail the compile: compile again to report them.
        if hit is not None and not (strict and hit.warnings):
            limits.check_models(hit.model_count(), where)
            limits.check_snapshot(hit.size(), where)
            return hit
        from modelreg.build.worktree_derive import derive_worktree  # a miss only: it loads the checker

        limits.check_files(digests.keys(), where)
        derived = derive_worktree(memo, source, version, dates, digests)
        if derived is not None and not (strict and derived.warnings):
            limits.check_models(derived.model_count(), where)
            limits.check_snapshot(derived.size(), where)
            memo.put(key, derived, listing, digests)
            return derived
    # Read now: the key is of what was read, should a file have changed since its stat.
    files = source.read()
    digests = {rel: digest(raw) for rel, raw in files.contents.items()}
    snapshot = compile_read(files, limits)
    if not files.diagnostics and not files.oversized and set(files.contents) == set(listing.signatures):
        memo.put(WorktreeMemo.key(compiler_fingerprint(), source.display_root, version, digests), snapshot,
                 listing, digests)
    return snapshot
