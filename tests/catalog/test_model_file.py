"""Model files as editors and commands see them: the schema comment, and the catalog's YAML style."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelreg.catalog.model_file import dump_model_file, dump_yaml, schema_comment
from modelreg.catalog.paths import CAPABILITIES_FILE, PROVIDER_FILE
from modelreg.catalog.yaml_loader import load_yaml, plain_scalar_tag
from modelreg.models import ModelDefinition
from tests.conftest import BUNDLED, REPO

BUNDLED_FILES = sorted(BUNDLED.rglob("*.yaml"))


def _expected_schema(rel: str) -> str:
    if rel == CAPABILITIES_FILE:
        return "capabilities.schema.json"
    return "provider.schema.json" if rel.endswith(f"/{PROVIDER_FILE}") else "model.schema.json"


@pytest.mark.parametrize("path", BUNDLED_FILES, ids=lambda p: p.relative_to(BUNDLED).as_posix())
def test_every_bundled_file_starts_with_its_schema_comment(path: Path) -> None:
    rel = path.relative_to(BUNDLED).as_posix()
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == schema_comment(rel, _expected_schema(rel))
    # The relative path really reaches the schema, so editors find it.
    target = path.parent / first.split("$schema=", 1)[1]
    assert os.path.normpath(target) == os.fspath(REPO / "schemas" / _expected_schema(rel))
    assert target.is_file()


def test_schema_comment_climbs_out_of_the_catalog() -> None:
    assert schema_comment("openai/gpt-4o.yaml") == "# yaml-language-server: $schema=../../schemas/model.schema.json"
    assert schema_comment("acme/team/model.yaml") == (
        "# yaml-language-server: $schema=../../../schemas/model.schema.json")
    assert schema_comment("capabilities.yaml", "capabilities.schema.json") == (
        "# yaml-language-server: $schema=../schemas/capabilities.schema.json")


def test_dump_writes_the_catalogs_style() -> None:
    definition = ModelDefinition(
        name="ollama/qwen3-8b", provider="ollama", model_id="qwen3:8b", display_name="3.10",
        description="Fast: small, local.", capabilities=["generation.text-generation", "chat"],
        features={"tool_calling": True, "vision": False}, constraints={"output_dimensions": [256, 512]},
        limits={"context_window": 40960}, modalities={"input": ["text", "image"], "output": ["text"]},
        cost={"per_second": 0.00006, "input_per_mtok": 0, "x-note": "yes"},
        lifecycle={"status": "active", "released": "2025-04-29"}, priority=20,
        extensions={"x-tags": ["on", "off"], "x-owner": "team-a"})
    assert dump_model_file(definition, "ollama/qwen3-8b.yaml") == """\
# yaml-language-server: $schema=../../schemas/model.schema.json
name: ollama/qwen3-8b
provider: ollama
model_id: "qwen3:8b"
display_name: "3.10"
description: "Fast: small, local."
capabilities:
  - generation.text-generation
  - chat
features:
  tool_calling: true
  vision: false
constraints:
  output_dimensions: [256, 512]
limits:
  context_window: 40960
modalities:
  input: [text, image]
  output: [text]
cost:
  per_second: 0.00006
  input_per_mtok: 0
  x-note: "yes"
lifecycle:
  status: active
  released: "2025-04-29"
priority: 20
x-owner: team-a
x-tags: ["on", "off"]
"""


@pytest.mark.parametrize(("text", "tag", "value"), [
    ("gpt-4o", "str", "gpt-4o"), ("3.10", "float", 3.1), ("0x1F", "int", 31), ("~", "null", None),
    ("False", "bool", False),
])
def test_a_string_is_quoted_exactly_when_the_loader_would_read_it_as_something_else(
        text: str, tag: str, value: object) -> None:
    assert plain_scalar_tag(text) == f"tag:yaml.org,2002:{tag}"
    assert load_yaml("plain.yaml", f"key: {text}\n".encode()).data == {"key": value}
    written = dump_yaml({"key": text})
    assert written == (f"key: {text}\n" if tag == "str" else f'key: "{text}"\n')
    assert load_yaml("written.yaml", written.encode()).data == {"key": text}


def test_long_lists_are_block_lists() -> None:
    regions = [f"region-{i:02d}" for i in range(12)]
    definition = ModelDefinition(name="a/b", provider="a", capabilities=["x"], constraints={"regions": regions})
    text = dump_model_file(definition, "a/b.yaml")
    assert "  regions:\n    - region-00\n" in text


@pytest.mark.parametrize("path", [p for p in BUNDLED_FILES if p.name not in (PROVIDER_FILE, CAPABILITIES_FILE)],
                         ids=lambda p: p.relative_to(BUNDLED).as_posix())
def test_bundled_models_survive_a_round_trip(path: Path) -> None:
    data = load_yaml(str(path), path.read_bytes()).data
    rel = path.relative_to(BUNDLED).as_posix()
    text = dump_model_file(ModelDefinition.from_document(data), rel)
    assert load_yaml(rel, text.encode()).data == data


TRICKY = ["yes", "no", "on", "3.10", "1:10", "2024-05-13", "~", "null", "-x", "a: b", "x #y", "gemma3:4b",
          "amazon.nova-pro-v1:0", " lead", "trail ", "two  spaces", "ünïcode", "0o17", "0x1F", "1e3", "+1",
          ".5", "(beta)", "a,b", "[x]", "{y}", "'q'", '"dq"', "@cf/meta", "back\\slash", "", "True", "NULL"]


@pytest.mark.parametrize("value", TRICKY)
def test_the_direct_writer_writes_what_pyyaml_writes(value: str) -> None:
    import yaml

    from modelreg.catalog import model_file

    for data in ({"name": "a/b", "display_name": value}, {"name": "a/b", "modalities": {"input": [value, "text"]}},
                 {"name": "a/b", "capabilities": [value]}, {"name": "a/b", "capabilities": [], "x": [value] * 30},
                 {"name": "a/b", "lifecycle": {"status": "discovered"}, "modalities": {"input": []}},
                 {"name": "a/b", "features": {"vision": True},
                                                            "cost": {"per_second": 6e-05, "input_per_mtok": 3}}):
        reference = yaml.dump(data, Dumper=model_file._Dumper, sort_keys=False, allow_unicode=True, width=1 << 16,
                              default_flow_style=False)
        fast = model_file._fast_dump(data)
        assert fast is None or fast == reference, (value, data)


@pytest.mark.parametrize(("value", "written"), [("Claude 3.5", "Claude 3.5"), ("yes", '"yes"'), ("3.10", '"3.10"'),
                                                ("2024-05-13", '"2024-05-13"'), ("gemma3:4b", '"gemma3:4b"')])
def test_the_direct_writer_takes_the_catalog_style_and_quotes_what_would_not_read_back(value: str,
                                                                                         written: str) -> None:
    from modelreg.catalog import model_file

    assert model_file._fast_dump({"name": "a/b", "display_name": value}) == f"name: a/b\ndisplay_name: {written}\n"
    assert model_file._fast_dump({"name": "a/b", "display_name": "a: b"}) is None  # PyYAML's to write


def test_every_bundled_file_is_written_the_same_by_either_writer() -> None:
    import yaml

    from modelreg.catalog import model_file
    from modelreg.catalog.yaml_loader import load_yaml

    direct = 0
    for path in sorted(BUNDLED.rglob("*.yaml")):
        data = load_yaml(str(path), path.read_bytes()).data
        fast = model_file._fast_dump(data)
        reference = yaml.dump(data, Dumper=model_file._Dumper, sort_keys=False, allow_unicode=True, width=1 << 16,
                              default_flow_style=False)
        if fast is not None:
            direct += 1
            assert fast == reference, path
    assert direct > 100  # provider files nest deeper: PyYAML writes those
