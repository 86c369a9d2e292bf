"""`modelreg new`: a new model file, written from its provider's defaults and ready to edit.

Without capabilities the scaffold is deliberately invalid (`capabilities: []`): a model that joined
a pool nobody chose would start receiving traffic, so `modelreg validate` points at the line to
fill in until someone decides. With capabilities it is valid as written.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.directory import WorktreeReader
from modelreg.catalog.model_file import dump_model_file, dump_yaml, schema_comment
from modelreg.catalog.paths import CAPABILITIES_FILE, PROVIDER_FILE, model_path
from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml
from modelreg.errors import CatalogInvalid, UsageError
from modelreg.models import FILE_KEY_ORDER, ModelDefinition
from modelreg.schemas import is_valid


@dataclass(frozen=True)
class Scaffold:
    """A model file written by `new_model`."""

    path: Path
    text: str
    complete: bool
    """False when `capabilities` is still empty and must be filled in before the catalog validates."""


def new_model(catalog: str | os.PathLike[str], name: str, capabilities: Sequence[str] = ()) -> Scaffold:
    """Write `<catalog>/<name>.yaml` for a new model of an existing provider.

    Raises UsageError when the catalog or provider does not exist, the name is not a valid model
    name (or would leave the catalog), or the file exists; UnknownCapability for a capability the
    tree does not know; CatalogInvalid when the provider's or the tree's file cannot be read, or
    is one that the compiler refuses to read (a symlink out of the catalog, an oversized file).
    """
    root = Path(catalog)
    if not root.is_dir():
        raise UsageError(f"catalog directory not found: {os.fspath(catalog)}")
    rel = model_path(name)
    target = root / rel
    if not target.parent.resolve().is_relative_to(root.resolve()):
        raise UsageError(f"{target.parent} leads outside the catalog; write the file inside {os.fspath(catalog)}")
    provider = name.split("/", 1)[0]
    defaults = _provider_defaults(root, provider)
    if capabilities:
        tree = _tree(root)
        for capability in capabilities:
            tree.lookup(capability)
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists; edit it instead (or delete it first)")
    text = render_model(name, provider, list(capabilities), defaults, root)
    _create(target, text, "edit it instead (or delete it first)")
    return Scaffold(target, text, complete=bool(capabilities))


def new_provider(catalog: str | os.PathLike[str], name: str) -> Scaffold:
    """Write `<catalog>/<name>/provider.yaml` for a new provider: its name, a display name, the
    variable its key is read from, and defaults to fill in. UsageError when the catalog does not
    exist, the name is not a valid provider name, or the provider exists already."""
    root = Path(catalog)
    if not root.is_dir():
        raise UsageError(f"catalog directory not found: {os.fspath(catalog)}")
    from modelreg.schemas import load_schema

    rule = load_schema("model")["$defs"]["provider_name"]
    if not isinstance(name, str) or not re.fullmatch(rule["pattern"], name) or len(name) > rule["maxLength"]:
        raise UsageError(f"`{name}` is not a valid provider name: lowercase letters, digits, `-` and `_`, "
                         "starting with a letter or digit")
    target = root / name / PROVIDER_FILE
    if os.path.lexists(target):
        raise UsageError(f"{target} already exists; edit it instead")
    rel = f"{name}/{PROVIDER_FILE}"
    data = {"name": name, "display_name": name.replace("-", " ").replace("_", " ").title(),
            "api": "openai", "api_base": f"https://api.{name.replace('_', '-')}.example/v1",
            "api_key_env": re.sub(r"[^A-Z0-9_]", "_", name.upper()) + "_API_KEY",
            "defaults": {"lifecycle": {"status": "active"}}}
    text = "\n".join([
        schema_comment(rel, "provider.schema.json"),
        "# A new provider: set `api` (openai, anthropic, bedrock, vertex or other) and `api_base` to what it",
        "# really serves, then add its models with `modelreg new " + name + "/<model>`.",
        dump_yaml(data).rstrip("\n"),
    ]) + "\n"
    assert is_valid("provider", data)
    _create(target, text, "edit it instead")
    return Scaffold(target, text, complete=True)


def _create(target: Path, text: str, advice: str) -> None:
    # Exclusive creation: a file that appeared since the caller's check is never overwritten.
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise UsageError(f"{target} already exists; {advice}") from None


def render_model(name: str, provider: str, capabilities: list[str], defaults: dict[str, Any],
                 catalog: Path | None = None) -> str:
    """The scaffold's text: the model's own keys, then the provider's defaults as comments."""
    slug = name.split("/", 1)[1]
    definition = ModelDefinition(name=name, provider=provider, capabilities=capabilities, model_id=slug)
    lines = dump_model_file(definition, model_path(name)).splitlines()
    if not capabilities:
        example = _example_capability(catalog) if catalog is not None else None
        hint = [
            "# Which pools serve this model? List capability paths or aliases from capabilities.yaml",
            "# (`modelreg show` prints the tree)" + (f", for example: [{example}]" if example else "."),
        ]
        at = next(i for i, line in enumerate(lines) if line.startswith("capabilities:"))
        lines[at:at] = hint
    inherited = {key: defaults[key] for key in FILE_KEY_ORDER if key in defaults}
    if inherited:
        lines.append(f"# Inherited from {provider}/{PROVIDER_FILE}; uncomment a line to override it here:")
        lines.extend(f"# {line}" for line in dump_yaml(inherited).splitlines())
    return "\n".join(lines) + "\n"


def _provider_defaults(root: Path, provider: str) -> dict[str, Any]:
    rel = f"{provider}/{PROVIDER_FILE}"
    if not os.path.lexists(root / rel):
        known = [path.split("/", 1)[0] for path in WorktreeReader(root).providers()]
        close = difflib.get_close_matches(provider, known, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else f"; add it first: `modelreg new --provider {provider}`"
        raise UsageError(f"unknown provider `{provider}`{hint}")
    data = _read(root, rel)
    defaults = data.get("defaults") if isinstance(data, dict) else None
    return defaults if isinstance(defaults, dict) else {}


def _tree(root: Path) -> CapabilityTree:
    data = _read(root, CAPABILITIES_FILE)
    if not is_valid("capabilities", data):
        raise UsageError(f"{root / CAPABILITIES_FILE} is not a valid capability tree; run `modelreg validate`")
    return CapabilityTree.from_mapping(data)


def _read(root: Path, rel: str) -> Any:
    # Read as a compile reads it, so the scaffold never takes defaults from a file the compiler
    # refuses: a symlink out of the catalog, a symlinked directory, an oversized file.
    files = WorktreeReader(root).read([rel])
    if files.diagnostics:
        raise CatalogInvalid(files.diagnostics, f"cannot read {files.display(rel)}")
    if rel not in files.contents:
        if os.path.lexists(root / rel):
            raise UsageError(f"{root / rel} is in a symlinked directory, which the compiler does not read; "
                             "move the files into the catalog")
        raise UsageError(f"{root / rel} not found; the catalog needs it")
    try:
        return load_yaml(files.display(rel), files.contents[rel]).data
    except YamlLoadError as exc:
        raise CatalogInvalid(exc.diagnostics, f"cannot read {files.display(rel)}") from None


def _example_capability(root: Path) -> str | None:
    try:
        tree = _tree(root)
    except (UsageError, CatalogInvalid):
        return None
    live = [node.path for node in tree if node.deprecated is None]
    # A node one level down reads best as an example: `generation.text-generation`.
    one_down = [path for path in live if path.count(".") == 1]
    candidates = one_down or live
    return candidates[0] if candidates else None
