"""What a provider's listing says about one model, in the catalog's terms, and the helpers that
read a listing's JSON strictly: a field the format promises and the body lacks is an error that
names the field and the page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from modelreg.catalog.dotted import exact_number
from modelreg.errors import ListingError

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})([T ].*)?$")


@dataclass
class Listed:
    """One model of a listing: its ID, the facts the listing states (dotted catalog fields:
    `display_name`, `limits.context_window`, `features.vision`, ...) and the capabilities its
    signals imply. A fact the listing does not state is absent, never false."""

    model_id: str
    facts: dict[str, Any] = field(default_factory=dict)
    capabilities: set[str] = field(default_factory=set)

    def state(self, name: str, value: Any) -> None:
        """Record a fact, unless the listing gave no value for it."""
        if value is not None and value != [] and value != "":
            self.facts[name] = value

    def deprecate(self, *, since: str | None = None, retires: str | None = None) -> None:
        """The listing says the model is deprecated (since a date, retiring on one)."""
        self.facts["lifecycle.status"] = "deprecated"
        self.state("lifecycle.deprecated_at", since)
        self.state("lifecycle.retires_at", retires)

    def feature(self, name: str, value: Any) -> None:
        """Record a feature flag the listing states (a boolean; anything else is unknown)."""
        if isinstance(value, bool):
            self.facts[f"features.{name}"] = value


class Page:
    """One page of a listing's JSON, read strictly: `need` fails with the page's name."""

    def __init__(self, body: Any, where: str) -> None:
        self.body = body
        self.where = where

    def fail(self, message: str) -> ListingError:
        return ListingError(f"{self.where}: {message}")

    def need(self, obj: Any, key: str, kind: type | tuple[type, ...], path: str) -> Any:
        """`obj[key]`, which the format promises, of type `kind`; `path` names it in errors."""
        if not isinstance(obj, dict):
            parent = path.rpartition(".")[0]
            raise self.fail(f"`{parent}` is not an object" if parent else "the body is not an object")
        if key not in obj or obj[key] is None:
            raise self.fail(f"the field `{path}` is missing")
        value = obj[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
            raise self.fail(f"the field `{path}` is {type(value).__name__}, not what the format says")
        return value

    def items(self, obj: Any, key: str, path: str) -> list[Any]:
        """The list `obj[key]` (entries of the listing), each an object."""
        entries: list[Any] = self.need(obj, key, list, path)
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise self.fail(f"`{path}[{i}]` is not an object")
        return entries


def optional(obj: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """`obj[key]` when it is of type `kind`, else None (an unknown or odd field is ignored)."""
    value = obj.get(key)
    if isinstance(value, bool) and kind is not bool:
        return None
    return value if isinstance(value, kind) else None


def mapped(values: Any, table: dict[str, str]) -> list[str]:
    """The listing's names (`TEXT`, `file`) as the catalog's, once each and in order; unknown
    names and anything but a list are left out."""
    if not isinstance(values, list):
        return []
    return list(dict.fromkeys(table[v] for v in values if isinstance(v, str) and v in table))


def positive_int(value: Any) -> int | None:
    """A token limit: a positive integer, or None."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def date_of(value: Any) -> str | None:
    """`YYYY-MM-DD` from a date or an ISO date-time; None for anything else."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    return match[1] if match else None


def per_million(value: Any, scale: int = 1_000_000) -> int | float | None:
    """A price per token (a number or a decimal string, as OpenRouter sends it) per million
    tokens, exactly: `"0.000003"` -> 3. None for a missing, negative or malformed price (OpenRouter
    marks variable prices with -1)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        amount = Decimal(str(value)) * scale
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return exact_number(amount)
