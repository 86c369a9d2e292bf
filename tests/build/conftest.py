"""Fixtures of the compiler's tests."""

from __future__ import annotations

from typing import Any

import pytest

import modelreg.check.catalog_check as catalog_check
import modelreg.check.file_check as file_check
from modelreg.catalog.directory import DirectorySource


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model files parsed and checked from now on, in this process, in order (the tree and the
    providers, which every check of a model reads, are not counted)."""
    seen: list[str] = []
    real = file_check.load_document

    def counting(kind: str, shown: str, raw: bytes | int, diags: list[Any]) -> file_check.Loaded:
        if kind == "model":
            seen.append(shown.rsplit("models.d/", 1)[-1])
        return real(kind, shown, raw, diags)

    # Wherever it is called from, whichever module was imported first.
    monkeypatch.setattr(file_check, "load_document", counting)
    monkeypatch.setattr(catalog_check, "load_document", counting)
    return seen


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The catalog files read from disk from now on, in this process."""
    reads: list[str] = []
    real = DirectorySource._read

    def counting(files: Any, full: str, rel: str, real_root: str) -> None:
        reads.append(rel)
        real(files, full, rel, real_root)

    monkeypatch.setattr(DirectorySource, "_read", staticmethod(counting))
    return reads
