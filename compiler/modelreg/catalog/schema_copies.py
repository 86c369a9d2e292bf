"""Copies of the catalog's schemas beside a catalog, so that the `$schema` comments its files start
with resolve in any repository, offline: `models.d/openai/gpt-4o.yaml` names
`../../schemas/model.schema.json`, which is in modelreg's own repository the schema itself and in
a catalog repository a copy (`modelreg init` writes them, `modelreg validate` keeps them current).

A copy is the installed schema with a `$comment` that says it is one. A file without that comment
is never written over: in modelreg's repository it is the source, elsewhere someone's own file.
The copies are kept only where the directory exists: making it is how a repository asks for them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelreg.atomic_files import write_atomic
from modelreg.catalog.paths import schema_dir_beside
from modelreg.schema_bundle import SUFFIX, schema_text
from modelreg.schemas import load_schema, schema_dir

# The schemas a catalog file's comment names (`catalog/model_file.schema_comment`).
CATALOG_SCHEMAS = ("capabilities", "provider", "model")
COPY_NOTE = ("A copy of modelreg's schema, which `modelreg validate` keeps the same as the installed "
             "modelreg's; edit nothing here.")


def copy_text(name: str) -> str:
    """The text of the copy of schema `name`: the schema, with the note after its `$id`."""
    schema = load_schema(name)
    head: dict[str, Any] = {key: schema[key] for key in ("$schema", "$id") if key in schema}
    rest = {key: value for key, value in schema.items() if key not in head}
    return schema_text({**head, "$comment": COPY_NOTE, **rest})


def is_copy(text: str) -> bool:
    """Whether a schema file's text is a copy that `sync_copies` may write over."""
    return f'"$comment": "{COPY_NOTE}"' in text


def stale_copies(catalog: str | os.PathLike[str]) -> dict[Path, str]:
    """The copies beside `catalog` that are missing or differ from the installed schemas, with the
    text each should have; nothing when the directory does not exist or holds the schemas the
    package itself reads."""
    directory = schema_dir_beside(catalog)
    if not directory.is_dir() or directory.resolve() == schema_dir().resolve():
        return {}
    stale: dict[Path, str] = {}
    for name in CATALOG_SCHEMAS:
        path = directory / f"{name}{SUFFIX}"
        expected = copy_text(name)
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            stale[path] = expected
            continue
        except (OSError, UnicodeDecodeError):
            continue  # not ours to judge
        if current != expected and is_copy(current):
            stale[path] = expected
    return stale


def sync_copies(catalog: str | os.PathLike[str]) -> list[Path]:
    """Write the stale copies beside `catalog` (each atomically); returns the files written."""
    stale = stale_copies(catalog)
    for path, text in sorted(stale.items()):
        write_atomic(path, text.encode("utf-8"))
    return sorted(stale)
