"""The exception tree of modelreg.

Its root and the errors a snapshot's reader raises are the runtime's (`modelreg.runtime.errors`):
the runtime ships alone, and the compiler stands on it. The library raises these; only the CLI
turns them into exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelreg.runtime.errors import ModelregError, SnapshotError, UnknownCapability, UnknownName, did_you_mean

if TYPE_CHECKING:
    from modelreg.diagnostics import Diagnostic

__all__ = [
    "BusyError", "CatalogInvalid", "CommittedThenFailed", "LimitExceeded", "ListingError", "ModelregError",
    "SnapshotError", "StateError", "UnknownCapability", "UnknownName", "UsageError", "did_you_mean",
]


class UsageError(ModelregError):
    """The caller asked for something that cannot be done as asked (exit code 2)."""


class CatalogInvalid(ModelregError):
    """The catalog has errors; `diagnostics` holds every one of them (exit code 1).

    `summary` is the one-line message; `str()` adds every diagnostic, a line each
    (`path:line:col: error[code]: message`), so an uncaught one says what to fix.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic], message: str | None = None) -> None:
        self.diagnostics = list(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.is_error)
        self.summary = message or f"the catalog is invalid: {errors} error(s)"
        super().__init__(self.summary)

    def __str__(self) -> str:
        return "\n".join([self.summary, *(f"  {d}" for d in self.diagnostics)])


class LimitExceeded(ModelregError):
    """A compile would go past one of its bounds (models, snapshot size); nothing is written."""


class ListingError(ModelregError):
    """A provider's model listing could not be read whole (a failed page, a timeout, a malformed or
    capped body): the sync changes nothing (exit code 1)."""


class StateError(ModelregError):
    """The git-backed state cannot be read or written as asked."""


class BusyError(StateError):
    """Another process holds the repository; retry shortly."""


class CommittedThenFailed(ModelregError):
    """A change was committed, then a later step failed (exit code 3): the commit stands, and the
    message names it."""

    def __init__(self, commit: str, step: str, cause: BaseException) -> None:
        self.commit = commit
        self.cause = cause
        super().__init__(f"committed {commit[:12]}, then failed to {step}: {cause}")
