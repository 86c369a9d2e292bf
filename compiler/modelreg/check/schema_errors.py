"""Schema errors of a catalog file as diagnostics, each at the node it is about, with a message
that says how to fix it."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from modelreg.catalog.yaml_loader import YamlDocument
from modelreg.diagnostics import Diagnostic
from modelreg.errors import did_you_mean
from modelreg.schemas import fast_error, fast_validator, is_valid, validator

if TYPE_CHECKING:
    from jsonschema import ValidationError


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
        found.append(Diagnostic(doc.file, line, column, "schema", fast_error(name, doc.data)))
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
