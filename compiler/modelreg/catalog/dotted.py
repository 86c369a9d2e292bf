"""Dotted fields of a model file's content (`limits.context_window`, `features.vision`): read,
written and compared as the catalog means them. Discovery and import both merge facts through here."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class _Absent:
    """A field that does not exist (not the same as a null value)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def get(doc: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted field, or ABSENT."""
    head, _, rest = dotted.partition(".")
    value = doc.get(head, ABSENT)
    if rest:
        return value.get(rest, ABSENT) if isinstance(value, dict) else ABSENT
    return value


def put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a dotted field (ABSENT removes it, and a mapping it empties)."""
    head, _, rest = dotted.partition(".")
    if not rest:
        if value is ABSENT:
            doc.pop(head, None)
        else:
            doc[head] = value
        return
    inner = doc.get(head)
    if not isinstance(inner, dict):
        if value is ABSENT:
            return
        inner = doc[head] = {}
    if value is ABSENT:
        inner.pop(rest, None)
        if not inner:
            doc.pop(head)
    else:
        inner[rest] = value


def same(a: Any, b: Any) -> bool:
    """Equal as catalog values: `true` is not `1`, `3` is `3.0`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def copy(value: Any) -> Any:
    """A deep copy of a file's content (mappings, lists, scalars)."""
    if isinstance(value, dict):
        return {k: copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy(v) for v in value]
    return value


def exact_number(amount: Decimal) -> int | float:
    """A decimal amount as the catalog writes it: a whole number as an int (`3`), else the
    shortest float (`0.3`, not `0.30000000000000004`)."""
    amount = amount.normalize()
    return int(amount) if amount == amount.to_integral_value() else float(amount)
