"""What an importer reads out of another tool's catalog: entries in the catalog's terms, the
entries it could not map (each with the reason), and the providers they belong to."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from modelreg.catalog.dotted import exact_number
from modelreg.errors import UsageError

# Above LiteLLM's file (1.7 MB in July 2026) and models.dev's api.json many times over.
MAX_IMPORT_BYTES = 64 * 1024 * 1024


@dataclass
class Entry:
    """One model of the imported file: the key it had there, its catalog provider and model ID,
    and the facts it states (dotted catalog fields, `capabilities` included). A fact the file does
    not state is absent, never false."""

    key: str
    provider: str
    model_id: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProviderInfo:
    """What the file says of a provider, for a `provider.yaml` the catalog does not have yet."""

    display_name: str
    api_key_env: str | None = None
    api_base: str | None = None
    homepage: str | None = None


@dataclass
class Parsed:
    """An imported file, read: every entry is in `entries` or in `skipped`."""

    source: str
    total: int
    entries: list[Entry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(key, why) for entries that cannot be mapped."""
    providers: dict[str, ProviderInfo] = field(default_factory=dict)


def read_json_map(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """A file's JSON object, or UsageError naming the file and what is wrong with it (missing,
    too large, not JSON, not an object); nothing is read past the size cap."""
    shown = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_IMPORT_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {shown}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if len(raw) > MAX_IMPORT_BYTES:
        raise UsageError(f"{shown}: over the limit of {MAX_IMPORT_BYTES:,} bytes for {what}; nothing imported")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{shown}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg}); nothing imported") from None
    except (UnicodeDecodeError, RecursionError):
        raise UsageError(f"{shown}: not JSON text; nothing imported") from None
    if not isinstance(data, dict):
        raise UsageError(f"{shown}: {what} is a JSON object of entries, not {type(data).__name__}; nothing imported")
    return data


# Bounds past which a number is a mistake, not a model: a context of a trillion tokens, a price of a
# billion dollars for a million tokens.
MAX_LIMIT = 10**12
MAX_PRICE = 10**9


def price(value: Any, scale: int) -> int | float | None:
    """A price scaled exactly (`2.5e-06` per token -> `2.5` per million); None when absent.
    ValueError for a price that is not a non-negative number (a string, a negative)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float)
                                                                          and not math.isfinite(value)):
        raise ValueError(f"not a number ({json.dumps(value) if not isinstance(value, float) else repr(value)})")
    try:
        amount = Decimal(repr(value)) * scale
    except InvalidOperation:
        raise ValueError(f"not a number ({value!r})") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not a non-negative number ({value!r})")
    if amount > MAX_PRICE:
        raise ValueError(f"beyond any real price ({value!r})")
    return exact_number(amount)


def limit(value: Any) -> int | None:
    """A token limit; None when absent. ValueError for 0, a negative or anything but an integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or value <= 0:
        raise ValueError(f"not a positive whole number ({value!r})")
    if value > MAX_LIMIT:
        raise ValueError(f"beyond any real token limit ({value!r})")
    return int(value)
