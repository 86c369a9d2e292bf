"""One pass of the compiler over a catalog's files: check them, date the models, build the
snapshot. Where the files come from (a directory, a commit) and where the dates come from (git,
or nowhere) are the caller's."""

from __future__ import annotations

from collections.abc import Callable

from modelreg.build.limits import Limits
from modelreg.build.registration import stamp_models
from modelreg.build.snapshot import Snapshot, build_snapshot
from modelreg.build.version import VersionInfo
from modelreg.catalog.files import CatalogFiles
from modelreg.check.catalog_check import CatalogCheck, check_catalog
from modelreg.check.outcome_cache import OutcomeCache
from modelreg.errors import CatalogInvalid
from modelreg.gc_pause import collector_paused
from modelreg.git.registration_dates import RegistrationDates


def checked_catalog(read: Callable[[], CatalogFiles], version: VersionInfo, dates: RegistrationDates | None, *,
                    strict: bool = False, warnings: bool = True, limits: Limits | None = None,
                    where: str | None = None, outcomes: OutcomeCache | None = None) -> CatalogCheck:
    """The check of the files `read` gives, its models dated from `dates` at the version's commit (when the
    version has the full history; None leaves every date out). Warnings about empty pools are
    left out without `warnings`. CatalogInvalid when the catalog has errors (or warnings, under
    `strict`); LimitExceeded when `limits` are given and the catalog has more model files than they
    allow (before any file is parsed). `outcomes` spares checking the model files it has seen."""
    dated = version.commit if dates is not None and version.history == "full" else None
    if dated is not None and dates is not None:
        # git walks the history on another core while this process reads and checks the files.
        dates.prefetch([dated])
    files = read()
    if limits is not None:
        limits.check_files(files.paths(), where or files.display_root or ".")
    check = check_catalog(files, pool_warnings=warnings, outcomes=outcomes)
    if not check.ok(strict=strict):
        raise CatalogInvalid(check.diagnostics)
    stamp_models(check.models.values(), dates.dates(dated) if dated is not None and dates is not None else {})
    return check


def compile_files(read: Callable[[], CatalogFiles], version: VersionInfo, dates: RegistrationDates | None, *,
                  strict: bool = False, limits: Limits | None = None, where: str = "the catalog",
                  outcomes: OutcomeCache | None = None, spans: bool = False) -> Snapshot:
    """The sealed snapshot of the files `read` gives, at `version` (see `checked_catalog`), within
    `limits` (the defaults when None); `spans` as `build_snapshot` takes it."""
    limits = limits or Limits()
    with collector_paused:
        check = checked_catalog(read, version, dates, strict=strict, limits=limits, where=where, outcomes=outcomes)
        return sealed(check, version, limits, where, spans=spans)


def sealed(check: CatalogCheck, version: VersionInfo, limits: Limits, where: str, *, spans: bool = False) -> Snapshot:
    """The sealed snapshot of a successful check, or LimitExceeded: on an estimate before it is
    built, and on its bytes after."""
    limits.check_estimate(check, where)
    snapshot = build_snapshot(check, version, spans=spans)
    limits.check_snapshot(snapshot.size(), where)
    return snapshot
