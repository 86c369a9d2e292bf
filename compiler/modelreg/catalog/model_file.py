"""Writing a model file in the catalog's own style (where it lives is `paths.model_path`).

`register` and `new` write through `dump_model_file`, so a written file looks like a hand-written
one: the editor's schema comment first, keys in `models.FILE_KEY_ORDER`, block mappings,
capabilities as a block list, other short lists of scalars in flow style, and strings
double-quoted wherever a plain scalar would read as something else.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from yaml.nodes import ScalarNode

from modelreg.catalog.paths import schema_reference
from modelreg.catalog.yaml_loader import plain_scalar_tag
from modelreg.models import ModelDefinition

MODEL_SCHEMA = "model.schema.json"
# Lists written in flow style must fit on one line with their key; longer ones are block lists.
FLOW_LIST_WIDTH = 80
# Lists that are always block style, one item a line, as reviewers read them in diffs.
BLOCK_LISTS = frozenset({"capabilities"})

_STR = "tag:yaml.org,2002:str"


@dataclass
class CatalogModel:
    """A model file as it is in the catalog: its name, path and own content (before provider
    defaults), for the changes sync and import propose to it."""

    name: str
    rel: str
    data: dict[str, Any]

    @property
    def model_id(self) -> str:
        """The provider's ID for the model: its `model_id`, or the name without the provider."""
        return str(self.data.get("model_id") or self.name.split("/", 1)[1])


def schema_comment(rel_path: str, schema: str = MODEL_SCHEMA) -> str:
    """The `# yaml-language-server: $schema=…` line for a file at `rel_path` in the catalog: the
    schema in the directory beside the catalog (`paths.schema_reference`)."""
    return f"# yaml-language-server: $schema={schema_reference(rel_path, schema)}"


def dump_model_file(definition: ModelDefinition, rel_path: str) -> str:
    """The text of the model file for `definition`, stored at `rel_path` inside the catalog
    (for instance `openai/gpt-4o.yaml`)."""
    return schema_comment(rel_path) + "\n" + dump_yaml(definition.to_document())


def dump_yaml(data: dict[str, Any]) -> str:
    """A mapping as catalog-style YAML (no schema comment); empty text for an empty mapping."""
    if not data:
        return ""
    fast = _fast_dump(data)
    if fast is not None:
        return fast
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16,
                          default_flow_style=False)
    return text


# The common shape of a catalog file (scalars, mappings of scalars, lists of simple scalars), written
# directly: PyYAML's emitter takes milliseconds a file, which an import of thousands of models feels.
# Anything else goes to PyYAML; a test holds the two to the same bytes.
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_SIMPLE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/()+:@-]*(?: [A-Za-z0-9._/()+:@-]+)*$")


def _fast_scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value) if math.isfinite(value) else None
    # Long strings are PyYAML's: it folds them past its width.
    if isinstance(value, str) and len(value) <= 4096 and _SIMPLE.match(value) and ": " not in value:
        if ":" in value or not _plain_string(value):
            return f'"{value}"'
        return value
    return None


_RESOLVER = yaml.resolver.Resolver()


def _plain_string(value: str) -> bool:
    # As `_Dumper.resolve` decides: a plain string must read as one in YAML 1.1 and in the catalog's 1.2.
    tag = _RESOLVER.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == _STR and plain_scalar_tag(value) == _STR)


def _fast_list(key: str, items: list[Any], indent: str) -> list[str] | None:
    scalars = [_fast_scalar(item) for item in items]
    if any(s is None for s in scalars) or not all(isinstance(i, (str, int, float, bool)) for i in items):
        return None
    if not items or (key not in BLOCK_LISTS and len(repr(items)) <= FLOW_LIST_WIDTH):
        return [f"{indent}{key}: [{', '.join(s for s in scalars if s is not None)}]"]
    return [f"{indent}{key}:"] + [f"{indent}  - {s}" for s in scalars]


def _fast_dump(data: dict[str, Any]) -> str | None:
    lines: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str) or not _KEY.match(key) or not _plain_string(key):
            return None
        if isinstance(value, dict):
            if not value:
                return None
            lines.append(f"{key}:")
            for inner, item in value.items():
                if not isinstance(inner, str) or not _KEY.match(inner) or not _plain_string(inner):
                    return None
                if isinstance(item, list):
                    nested = _fast_list(inner, item, "  ")
                    if nested is None:
                        return None
                    lines += nested
                    continue
                scalar = _fast_scalar(item)
                if scalar is None:
                    return None
                lines.append(f"  {inner}: {scalar}")
        elif isinstance(value, list):
            block = _fast_list(key, value, "")
            if block is None:
                return None
            lines += block
        else:
            scalar = _fast_scalar(value)
            if scalar is None:
                return None
            lines.append(f"{key}: {scalar}")
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Block lists under a key are indented (`  - item`), as the bundled files are.
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        # Where a string needs quotes, the catalog uses double quotes (`released: "2024-05-13"`).
        style: str = super().choose_scalar_style()
        return '"' if style == "'" else style

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        # Quote a string if either YAML 1.1 (other tools, editors) or the catalog's YAML 1.2 loader
        # would read it as anything but a string: `yes`, `3.10`, `2024-05-13`, `0o17`.
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is ScalarNode and tag == _STR and implicit[0]:
            return plain_scalar_tag(value)
        return tag


def _represent_str(dumper: _Dumper, data: str) -> yaml.Node:
    # `gemma3:4b`, `amazon.nova-pro-v1:0`: quoted, since `1:10` reads as 70 in YAML 1.1.
    return dumper.represent_scalar(_STR, data, style='"' if ":" in data else None)


def _float_text(value: float) -> str:
    # Prices per second are tiny: write `0.00006` as people do, not `6.0e-05`.
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text if "." in text else text + ".0"


def _represent_float(dumper: _Dumper, data: float) -> yaml.Node:
    if not math.isfinite(data):
        return dumper.represent_float(data)
    return dumper.represent_scalar("tag:yaml.org,2002:float", _float_text(data))


def _represent_list(dumper: _Dumper, data: list[Any]) -> yaml.Node:
    node = dumper.represent_sequence("tag:yaml.org,2002:seq", data)
    scalars = all(isinstance(item, (str, int, float, bool)) or item is None for item in data)
    node.flow_style = scalars and (not data or len(repr(data)) <= FLOW_LIST_WIDTH)
    return node


def _represent_dict(dumper: _Dumper, data: dict[str, Any]) -> yaml.Node:
    node = dumper.represent_mapping("tag:yaml.org,2002:map", data)
    node.flow_style = False
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value in BLOCK_LISTS and value.value:
            value.flow_style = False
    return node


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(float, _represent_float)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)
