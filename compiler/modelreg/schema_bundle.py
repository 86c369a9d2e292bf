"""Every schema in `schemas/` usable from its own file, offline: the definitions one schema takes
from another are copied into its own `$defs`.

A schema names another's definition where it is written by that schema's `$id`
(`https://modelreg.dev/schemas/v1/model.schema.json#/$defs/model_name`, or a whole schema by its
`$id` alone). Nothing serves those URLs, so tools that resolve them (check-jsonschema, editors)
would fail. `bundle` turns each such reference into a local one (`#/$defs/model_name`, or
`#/$defs/diff` for the whole diff schema) and copies what it names, and what that names in turn,
into the schema's `$defs`, each copy marked as one. The original definition stays the one source:
a copy is written from it every time, and `stale_files` tells which files differ from that.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.errors import ModelregError

ID_PREFIX = "https://modelreg.dev/schemas/v1/"
SUFFIX = ".schema.json"
# How a copied definition says what it is; a definition whose `$comment` starts so is never an original.
COPY_NOTE = "Copied from "
REGENERATE = "python -m modelreg.cli.bundle_schemas"
_DEFS = "/$defs/"


class SchemaBundleError(ModelregError):
    """The schemas cannot be bundled: a reference to nothing, or one name defined twice."""


@dataclass(frozen=True)
class _Source:
    owner: str  # the schema whose original it is
    pointer: str  # where in the owner: `/$defs/<name>`, or `` for the whole schema
    content: dict[str, Any]


def schema_text(schema: Mapping[str, Any]) -> str:
    """The bytes a schema file holds: two-space JSON, non-ASCII kept, one final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def is_copy(definition: object) -> bool:
    """Whether a `$defs` entry was copied in by `bundle` (and is rewritten by it)."""
    return isinstance(definition, dict) and str(definition.get("$comment", "")).startswith(COPY_NOTE)


def bundle(schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each schema (by name: `model` for `model.schema.json`) with no reference outside itself.

    Raises SchemaBundleError for a reference to a schema or definition that does not exist, and
    for a definition name that two schemas both define (a copy could not tell them apart).
    """
    originals = {name: _original(schema) for name, schema in schemas.items()}
    sources: dict[str, _Source] = {}
    for name, schema in sorted(originals.items()):
        body = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs")}
        entries = [(name, _Source(name, "", body))]
        entries += [(key, _Source(name, f"{_DEFS}{key}", value)) for key, value in schema.get("$defs", {}).items()]
        for key, source in entries:
            if key in sources:
                raise SchemaBundleError(f"`{key}` names a definition in {sources[key].owner}{SUFFIX} and in "
                                        f"{name}{SUFFIX}; rename one of them")
            sources[key] = source
    return {name: _bundle_one(name, schema, sources) for name, schema in originals.items()}


def _original(schema: Mapping[str, Any]) -> dict[str, Any]:
    # The schema as written by hand: without the copies an earlier bundle put in.
    result = copy.deepcopy(dict(schema))
    defs = {key: value for key, value in result.get("$defs", {}).items() if not is_copy(value)}
    if defs:
        result["$defs"] = defs
    else:
        result.pop("$defs", None)
    return result


def _bundle_one(name: str, schema: dict[str, Any], sources: Mapping[str, _Source]) -> dict[str, Any]:
    own = set(schema.get("$defs", {}))
    wanted = list(_localise(schema, name, name))
    copies: dict[str, dict[str, Any]] = {}
    while wanted:
        key = wanted.pop()
        if key in own or key in copies:
            continue
        source = sources.get(key)
        if source is None:
            raise SchemaBundleError(f"{name}{SUFFIX} refers to `#{_DEFS}{key}`, which no schema defines")
        content = copy.deepcopy(source.content)
        wanted += _localise(content, source.owner, name)
        note = f"{COPY_NOTE}{source.owner}{SUFFIX}#{source.pointer}: edit it there, then run `{REGENERATE}`."
        copies[key] = {"$comment": note, **content}
    if copies:
        schema["$defs"] = {**schema.get("$defs", {}), **dict(sorted(copies.items()))}
    return schema


def _localise(node: object, owner: str, into: str) -> Iterator[str]:
    """Rewrite, in place, every `$ref` of `node` (content of schema `owner`, going into schema
    `into`) to a reference inside `into`; yields the `$defs` names the rewritten references need."""
    if isinstance(node, list):
        for item in node:
            yield from _localise(item, owner, into)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            local, needed = _local_ref(value, owner, into)
            node[key] = local
            if needed is not None:
                yield needed
        else:
            yield from _localise(value, owner, into)


def _local_ref(ref: str, owner: str, into: str) -> tuple[str, str | None]:
    target, _, pointer = ref.partition("#")
    if target:
        if not target.startswith(ID_PREFIX) or not target.endswith(SUFFIX):
            raise SchemaBundleError(f"{into}{SUFFIX}: `{ref}` is not a modelreg schema; every reference stays "
                                    "among the schemas in schemas/")
        owner = target[len(ID_PREFIX):-len(SUFFIX)]
    if pointer.startswith(_DEFS):
        key = pointer[len(_DEFS):].split("/", 1)[0]
        return f"#{pointer}", key
    if owner == into:
        return f"#{pointer}", None
    # Anywhere else in another schema: inside that schema's copy as a whole.
    return f"#{_DEFS}{owner}{pointer}", owner


def read_directory(directory: Path) -> dict[str, dict[str, Any]]:
    """Every `*.schema.json` of a directory, by name."""
    return {path.name[:-len(SUFFIX)]: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(directory.glob(f"*{SUFFIX}"))}


def stale_files(directory: Path) -> dict[Path, str]:
    """The schema files of `directory` that differ from their bundled form, with that form's text."""
    bundled = bundle(read_directory(directory))
    stale = {}
    for name, schema in bundled.items():
        path = directory / f"{name}{SUFFIX}"
        text = schema_text(schema)
        if path.read_text(encoding="utf-8") != text:
            stale[path] = text
    return stale
