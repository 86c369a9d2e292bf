"""Every rule about paths in a catalog: which files are read, what each one is, where a model's
file lives, and which paths lead out of the catalog.

Reading a directory, reading a commit, checking a change and writing a file all ask here, so the
work tree and a revision can never disagree about what belongs to the catalog.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath

from modelreg.errors import UsageError

DEFAULT_CATALOG = "models.d"
# Where `compile` writes the snapshot, from the project's root.
DEFAULT_OUTPUT = Path("build") / "registry.json"
CAPABILITIES_FILE = "capabilities.yaml"
PROVIDER_FILE = "provider.yaml"
# Discovery's record of what it wrote, beside the provider's file. Not YAML, so the compiler never
# reads it as a model, and a file of this name is never reported as unexpected.
DISCOVERY_RECORD = "discovery.json"
# The one ending a catalog file may have; the others are read only to be told to rename.
CATALOG_SUFFIX = ".yaml"
_YAML_SUFFIXES = (".yaml", ".yml")
# The directory beside the catalog (`models.d/` and `schemas/` side by side) that holds the schemas
# its files' `$schema` comments name: the source itself in modelreg's repository, copies elsewhere.
SCHEMA_DIR = "schemas"


def is_yaml_name(name: str) -> bool:
    """Whether a file name is read as YAML (`.yaml`, `.yml`, in any case: `x.YAML` is read so
    that it can be told to rename)."""
    return name.lower().endswith(_YAML_SUFFIXES)


def is_hidden_name(name: str) -> bool:
    """Whether a file or directory name is hidden (`.git`, `.cache`): never part of the catalog."""
    return name.startswith(".")


def is_hidden_directory(directory: str) -> bool:
    """Whether a catalog directory (`a/.b`, `a/.b/`) is skipped: it or a parent is `.name`."""
    return directory.startswith(".") or "/." in directory


def in_hidden_directory(rel: str) -> bool:
    """Whether a catalog path lies in a directory that is not read (`.name`)."""
    return is_hidden_directory(rel.rpartition("/")[0])


def is_catalog_file(rel: str) -> bool:
    """Whether a catalog path is read by the compiler (a YAML file, not hidden)."""
    return is_yaml_name(rel) and not in_hidden_directory(rel)


def file_kind(rel: str) -> str:
    """What a catalog file is by its path: `capabilities`, `provider`, `model`, or `unexpected`
    (a file at the top that is not `capabilities.yaml`)."""
    parts = rel.split("/")
    if rel == CAPABILITIES_FILE:
        return "capabilities"
    if len(parts) == 1:
        return "unexpected"
    if len(parts) == 2 and parts[1] == PROVIDER_FILE:
        return "provider"
    return "model"


def is_provider_path(rel: str) -> bool:
    """Whether a catalog path is a provider's file (`<provider>/provider.yaml`)."""
    return file_kind(rel) == "provider"


def is_model_path(rel: str) -> bool:
    """Whether a catalog path is read as a model file (`<provider>/<model>.yaml`, maybe nested)."""
    return (rel.endswith(CATALOG_SUFFIX) and file_kind(rel) == "model" and not in_hidden_directory(rel))


def discovery_record_path(provider: str) -> str:
    """The catalog path of a provider's discovery record (`openai/discovery.json`)."""
    return f"{provider}/{DISCOVERY_RECORD}"


def is_discovery_record(rel: str) -> bool:
    """Whether a catalog path is a provider's discovery record."""
    parts = rel.split("/")
    return len(parts) == 2 and parts[1] == DISCOVERY_RECORD


def schema_reference(rel: str, schema: str) -> str:
    """The path from the catalog file at `rel` to `schema` (`model.schema.json`) in the schemas'
    directory beside the catalog: up one directory per path component, plus one out of the catalog
    (`openai/gpt-4o.yaml` -> `../../schemas/model.schema.json`)."""
    return "../" * len(PurePosixPath(rel).parts) + f"{SCHEMA_DIR}/{schema}"


def schema_dir_beside(catalog: str | os.PathLike[str]) -> Path:
    """The schemas' directory beside a catalog directory."""
    return Path(catalog).absolute().parent / SCHEMA_DIR


def model_path(name: object) -> str:
    """The catalog path of a model's file (`openai/gpt-4o` -> `openai/gpt-4o.yaml`).

    Raises UsageError for anything but a valid model name, so that no name can lead a write (or
    a read) out of the catalog (`../../x`, `/etc/x`, `a\\b`).
    """
    from modelreg.schemas import load_schema  # the name's rule is the schema's; loaded only when asked

    spec = load_schema("model")["$defs"]["model_name"]
    if not isinstance(name, str):
        raise UsageError(f"a model name is a string like `openai/gpt-4o`, not {type(name).__name__}")
    if "\\" in name or name.startswith("/") or ".." in name.split("/") or "\0" in name:
        raise UsageError(f"model name `{name}` leads out of the catalog; write it as <provider>/<model>")
    if not re.fullmatch(spec["pattern"], name) or len(name) > spec["maxLength"]:
        raise UsageError(f"`{name}` is not a valid model name: {spec['description']}")
    return model_rel(name)


def slug_model_name(provider: str, model_id: str) -> str | None:
    """The model name for a provider's model ID that has no file yet: `<provider>/<lowercase
    slug>`, `/` kept for nesting, anything else outside the name's rule made `-`
    (`amazon.nova-pro-v1:0` -> `bedrock/amazon.nova-pro-v1-0`); None when nothing of the ID is
    usable or the name would be too long. `..` and empty segments are dropped, so no ID leads out
    of the catalog."""
    parts = []
    for part in model_id.lower().split("/"):
        part = re.sub(r"[^a-z0-9._-]+", "-", part)
        part = re.sub(r"-{2,}", "-", part).strip("-")
        part = re.sub(r"^[^a-z0-9]+", "", part)
        if part:
            parts.append(part)
    if not parts:
        return None
    name = f"{provider}/{'/'.join(parts)}"
    return name if len(name) <= 190 else None


def model_rel(name: str) -> str:
    """The catalog path a model name stands for, unchecked: for names read from the catalog itself
    (a file's own path, a close match), which need no guard and may not be valid names."""
    return f"{name}{CATALOG_SUFFIX}"


def model_name(rel: str) -> str:
    """The model name a model file's path stands for (`openai/gpt-4o.yaml` -> `openai/gpt-4o`)."""
    return rel.removesuffix(CATALOG_SUFFIX)


def link_target(link: str, target: str) -> str | None:
    """Where a symlink at catalog path `link` with content `target` points, as a catalog path;
    None when it points outside the catalog."""
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        return None
    return resolved


def status_changes_catalog(status: Mapping[str, str], ignore: Collection[str] = ()) -> bool:
    """Whether uncommitted changes (`git status` path -> code, catalog-relative) change what the
    compiler reads (paths in `ignore` aside): a `NOTES.txt` does not, an ignored YAML file does."""
    for rel in status:
        if rel in ignore:
            continue
        if rel.endswith("/"):
            # A directory listed whole (ignored, or a nested repository) may hold catalog files.
            if not is_hidden_directory(rel):
                return True
        elif is_catalog_file(rel):
            return True
    return False
