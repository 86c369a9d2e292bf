"""The JSON Schemas in `schemas/`, the single source of truth for every file format.

Validation has two speeds from the same schema: a compiled validator (jsonschema-rs, in Rust)
accepts a valid document in a couple of microseconds, and only a document it rejects goes through
`jsonschema`, which reports every error with its exact location.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import sysconfig
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from compiler.diagnostics import Diagnostic
from compiler.errors import did_you_mean
from compiler.yaml_loader import YamlDocument

if TYPE_CHECKING:
    # Imported where used: only a document that fails validation needs them, and they are a
    # quarter of the command's start-up time.
    from jsonschema import Draft202012Validator, ValidationError
    from referencing import Registry

SCHEMA_NAMES = ("model", "provider", "capabilities", "snapshot", "diagnostics", "diff")


def schema_dir() -> Path:
    """Where the schemas live: beside the package in a checkout, or installed as data files."""
    here = Path(__file__).resolve().parent.parent / "schemas"
    if here.is_dir():
        return here
    # A wheel installs them as data files under the install scheme's data directory.
    bases = [sys.prefix, sysconfig.get_path("data"), sysconfig.get_path("data", f"{os.name}_user")]
    for base in bases:
        candidate = Path(base) / "share" / "modelreg" / "schemas"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("modelreg's JSON Schemas are not installed (looked beside the package and in "
                            f"{', '.join(bases)} under share/modelreg/schemas)")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema `schemas/<name>.schema.json`."""
    with open(schema_dir() / f"{name}.schema.json", encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def _registry() -> Registry:
    from referencing import Registry, Resource

    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A full jsonschema validator for one schema (every error, with its path)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name), registry=_registry())


@cache
def _fast_registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([(load_schema(n)["$id"], load_schema(n)) for n in _existing()])


@cache
def fast_validator(name: str) -> jsonschema_rs.Validator:
    """A compiled validator for one schema: yes or no, in microseconds."""
    return jsonschema_rs.validator_for(load_schema(name), registry=_fast_registry())


def _existing() -> list[str]:
    return [n for n in SCHEMA_NAMES if (schema_dir() / f"{n}.schema.json").exists()]


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
        return _fast_error(name, instance)
    where = ".".join(str(p) for p in error.absolute_path) or "the top level"
    return f"{where}: {error.message}"


def _fast_error(name: str, instance: Any) -> str:
    # The two validators disagree (their regular expressions differ at the edges: Python's `$`
    # also matches before a final newline): report what the one that refused saw.
    error = next(iter(fast_validator(name).iter_errors(instance)))
    where = ".".join(str(p) for p in error.instance_path) or "the top level"
    return f"{where}: {error.message}"


def schema_diagnostics(name: str, doc: YamlDocument) -> list[Diagnostic]:
    """Every schema error of a loaded document, located at the offending node."""
    if is_valid(name, doc.data):
        return []
    found: list[Diagnostic] = []
    for error in validator(name).iter_errors(doc.data):
        found.extend(_explain(doc, error))
    if not found:
        error = next(iter(fast_validator(name).iter_errors(doc.data)))
        line, column = doc.locate(list(error.instance_path))
        found.append(Diagnostic(doc.file, line, column, "schema", _fast_error(name, doc.data)))
    return sorted(set(found))


_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
    "object": "a mapping", "array": "a list", "null": "null",
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "null"


def _field(path: list[str | int]) -> str:
    return ".".join(str(p) for p in path) or "the document"


def _explain(doc: YamlDocument, error: ValidationError) -> Iterator[Diagnostic]:
    path = list(error.absolute_path)
    kind = error.validator
    where = _field(path)
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    value: Any = error.validator_value

    def at(code: str, message: str, node: list[str | int] = path, *, key: bool = False) -> Diagnostic:
        line, column = doc.locate(node, key=key)
        return Diagnostic(doc.file, line, column, code, message)

    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        for extra in instance:
            if extra in allowed or any(re.search(str(p), extra) for p in patterns):
                continue
            hint = did_you_mean(difflib.get_close_matches(extra, allowed, n=1))
            yield at("unknown-key",
                     f"unknown key `{extra}` in {where}{hint} (put your own data under an `x-` prefixed key)",
                     [*path, extra], key=True)
        return
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else error.message
        yield at("missing-key", f"missing required key `{name}` in {where}")
        return
    if kind == "type":
        expected = value
        expected_list: list[str] = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in expected_list)
        raw = doc.source_text(path)
        if "boolean" in expected_list and isinstance(instance, str) and instance.lower() in {
            "yes", "no", "on", "off", "y", "n"
        }:
            message = f"`{instance}` is not a boolean (YAML 1.2); write `true` or `false`"
        elif "string" in expected_list and not isinstance(instance, (str, list, dict)):
            shown = raw if raw is not None else json.dumps(instance)
            message = (f"{where} must be a string, but `{shown}` reads as {_describe(instance)}; "
                       f"quote the value: \"{shown}\"")
        else:
            message = f"{where} must be {wanted}, not {_describe(instance)}"
        yield at("type", message)
        return
    if kind == "enum":
        options = ", ".join(f"`{o}`" for o in value)
        yield at("enum", f"{where} is `{instance}`; expected one of {options}")
        return
    if kind == "const":
        yield at("enum", f"{where} must be `{value}`")
        return
    if kind == "pattern" and "propertyNames" in error.absolute_schema_path:
        # The bad name is the key itself; point at it.
        yield at("key-name", f"key `{instance}` in {where} is not a valid name (pattern {value})",
                 [*path, instance], key=True)
        return
    if kind == "pattern":
        description = schema.get("description")
        hint = f" ({description})" if description else f" (pattern {value})"
        yield at("pattern", f"{where} `{instance}` is not valid{hint}")
        return
    if kind == "minItems":
        description = schema.get("description")
        hint = f". {description}" if description else ""
        count = "one item" if value == 1 else f"{value} items"
        state = "is empty" if not instance else f"has {len(instance)}"
        yield at("too-few-items", f"{where} {state}; list at least {count}{hint}")
        return
    if kind == "uniqueItems":
        items = list(instance)
        index = next(i for i in range(len(items)) if items[i] in items[:i])
        yield at("duplicate-item", f"{where} lists `{items[index]}` twice; remove the duplicate", [*path, index])
        return
    yield at("schema", f"{where}: {error.message}")
