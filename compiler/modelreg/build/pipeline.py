"""One pass of the compiler over a catalog's files: check them, date the models, build the
snapshot. Where the files come from (a directory, a commit) and where the dates come from (git,
or nowhere) are the caller's."""

from __future__ import annotations

from collections.abc import Callable

from modelreg.build.registration import stamp_models
from modelreg.build.snapshot import Snapshot, build_snapshot
from modelreg.build.version import VersionInfo
from modelreg.catalog.files import CatalogFiles
from modelreg.check.catalog_check import CatalogCheck, check_catalog
from modelreg.errors import CatalogInvalid
from modelreg.gc_pause import collector_paused
from modelreg.git.registration_dates import RegistrationDates


def checked_catalog(read: Callable[[], CatalogFiles], version: VersionInfo, dates: RegistrationDates | None, *,
                    strict: bool = False, warnings: bool = True) -> CatalogCheck:
    """The check of the files `read` gives, its models dated from `dates` at the version's commit (when the
    version has the full history; None leaves every date out). Warnings about empty pools are
    left out without `warnings`. CatalogInvalid when the catalog has errors (or warnings, under
    `strict`)."""
    dated = version.commit if dates is not None and version.history == "full" else None
    if dated is not None and dates is not None:
        # git walks the history on another core while this process reads and checks the files.
        dates.prefetch([dated])
    check = check_catalog(read(), pool_warnings=warnings)
    if not check.ok(strict=strict):
        raise CatalogInvalid(check.diagnostics)
    stamp_models(check.models.values(), dates.dates(dated) if dated is not None and dates is not None else {})
    return check


def compile_files(read: Callable[[], CatalogFiles], version: VersionInfo, dates: RegistrationDates | None, *,
                  strict: bool = False) -> Snapshot:
    """The sealed snapshot of the files `read` gives, at `version` (see `checked_catalog`)."""
    with collector_paused:
        return build_snapshot(checked_catalog(read, version, dates, strict=strict), version)
