"""The JSON Schemas in `schemas/`, the single source of truth for every file format: finding,
loading and validating against them (`modelreg.check.schema_errors` locates what they refuse).

Validation has two speeds from the same schema: a compiled validator (jsonschema-rs, in Rust)
accepts a valid document in a couple of microseconds, and only a document it rejects goes through
`jsonschema`, which reports every error with its exact location.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg.data_files import data_path

if TYPE_CHECKING:
    # Imported where used: only a document that fails validation needs jsonschema, and it is a
    # quarter of the command's start-up time; a command that checks nothing needs neither.
    import jsonschema_rs
    from jsonschema import Draft202012Validator


def schema_dir() -> Path:
    """Where the schemas live: beside the package in a checkout, or installed as data files."""
    return data_path("schemas", "schemas")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema `schemas/<name>.schema.json`."""
    with open(schema_dir() / f"{name}.schema.json", encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def validator(name: str) -> Draft202012Validator:
    """A full jsonschema validator for one schema (every error, with its path)."""
    from jsonschema import Draft202012Validator

    # Every schema stands alone (`modelreg.schema_bundle`): no registry of the others is needed.
    return Draft202012Validator(load_schema(name))


@cache
def fast_validator(name: str) -> jsonschema_rs.Validator:
    """A compiled validator for one schema: yes or no, in microseconds."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(load_schema(name))


def is_valid(name: str, instance: Any) -> bool:
    """Fast yes/no validation against a schema."""
    try:
        return fast_validator(name).is_valid(instance)
    except ValueError:  # a value JSON cannot hold (a key that is not a string): the full validator judges
        return next(iter(validator(name).iter_errors(instance)), None) is None


def first_error(name: str, instance: Any) -> str | None:
    """The most relevant schema error of a (non-YAML) document, as `where: message`, or None."""
    if is_valid(name, instance):
        return None
    from jsonschema.exceptions import best_match

    error = best_match(validator(name).iter_errors(instance))
    if error is None:
        return fast_error(name, instance)
    where = ".".join(str(p) for p in error.absolute_path) or "the top level"
    return f"{where}: {error.message}"


def fast_error(name: str, instance: Any) -> str:
    # The two validators disagree (their regular expressions differ at the edges: Python's `$`
    # also matches before a final newline): report what the one that refused saw.
    error = next(iter(fast_validator(name).iter_errors(instance)))
    where = ".".join(str(p) for p in error.instance_path) or "the top level"
    return f"{where}: {error.message}"
