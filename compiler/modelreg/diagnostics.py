"""Diagnostics: every problem found in a catalog, as data.

A diagnostic names the file, line and column (1-based) of the offending node, a severity, a short
code and a message that says how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place. Sorting gives the stable report order: file, line, column, code."""

    file: str
    line: int
    column: int
    code: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        """`path:line:col: error[code]: message`, the text reporter's line."""
        return f"{self.file}:{self.line}:{self.column}: {self.severity.value}[{self.code}]: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }


def has_errors(diagnostics: Iterable[Diagnostic], *, strict: bool = False) -> bool:
    """True when the run fails: any error, or any diagnostic at all under `strict`."""
    return any(strict or d.is_error for d in diagnostics)


class Findings:
    """What a check found (`diagnostics`), and the verdict it gives."""

    diagnostics: list[Diagnostic]

    def ok(self, *, strict: bool = False) -> bool:
        """True when there is no error (and, under `strict`, no warning either)."""
        return not has_errors(self.diagnostics, strict=strict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]
