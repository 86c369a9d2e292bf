"""Fixtures of the compiler's tests."""

from __future__ import annotations

from typing import Any

import pytest

import modelreg.check.file_check as file_check


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The catalog files parsed and checked from now on, in this process, in order."""
    seen: list[str] = []
    real = file_check.load_document

    def counting(kind: str, shown: str, raw: bytes | int, diags: list[Any]) -> file_check.Loaded:
        seen.append(shown.rsplit("models.d/", 1)[-1])
        return real(kind, shown, raw, diags)

    monkeypatch.setattr(file_check, "load_document", counting)
    return seen
