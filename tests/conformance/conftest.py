"""The conformance fixtures, read the way every runtime's tests read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> Any:
    """A JSON fixture, parsed."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def for_python(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases that hold for this runtime (a case may name the runtimes it is for)."""
    return [case for case in cases if "python" in case.get("runtimes", ["python"])]
