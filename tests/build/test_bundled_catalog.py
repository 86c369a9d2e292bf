"""The bundled catalog is real, valid under --strict, and serves every live node of the tree."""

from __future__ import annotations

import copy
from pathlib import Path

from modelreg import compile_catalog
from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.yaml_loader import load_yaml
from modelreg.check.catalog_check import check_catalog
from modelreg.models import ModelDefinition
from modelreg.resolve.resolver import resolve_model
from modelreg.schemas import is_valid, validator
from tests.conftest import BUNDLED, run_cli


def test_bundled_catalog_is_valid_strict() -> None:
    result = run_cli("validate", "--catalog", str(BUNDLED), "--strict")
    assert result.code == 0, result.err
    assert result.err == f"{BUNDLED}: valid (0 error(s), 0 warning(s))\n"


def test_bundled_catalog_size_and_coverage() -> None:
    snapshot = compile_catalog(BUNDLED)
    assert len(snapshot.models) >= 60
    assert len(snapshot.providers) >= 8
    expected = {"openai", "anthropic", "google", "mistral", "cohere", "bedrock", "groq", "ollama"}
    assert expected <= set(snapshot.providers)
    live = [path for path, node in snapshot.tree.nodes.items() if node.deprecated is None]
    empty = [path for path in live if not snapshot.pools[path]]
    assert empty == []
    statuses = {m.status for m in snapshot.models.values()}
    assert statuses == {"active", "preview", "deprecated", "retired"}


def test_bundled_compile_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli("compile", "--catalog", str(BUNDLED), "-o", str(first)).code == 0
    assert run_cli("compile", "--catalog", str(BUNDLED), "-o", str(second)).code == 0
    assert first.read_bytes() == second.read_bytes()


def _mutations(doc: dict[str, object]) -> list[dict[str, object]]:
    out = []
    for key in list(doc):
        dropped = copy.deepcopy(doc)
        del dropped[key]
        out.append(dropped)
        replacements: tuple[object, ...] = ("x", 1, 1.5, True, None, [], {})
        for bad in replacements:
            changed = copy.deepcopy(doc)
            changed[key] = bad
            out.append(changed)
        value = doc[key]
        if isinstance(value, dict):
            for inner in list(value):
                inner_replacements: tuple[object, ...] = ("x", -1, 2.5, False, None, ["a"])
                for bad in inner_replacements:
                    changed = copy.deepcopy(doc)
                    changed[key][inner] = bad  # type: ignore[index]
                    out.append(changed)
            extra = copy.deepcopy(doc)
            extra[key]["bogus"] = 1  # type: ignore[index]
            out.append(extra)
    extra = copy.deepcopy(doc)
    extra["bogus"] = 1
    out.append(extra)
    ext = copy.deepcopy(doc)
    ext["x-mine"] = {"anything": [1, 2]}
    out.append(ext)
    return out


def test_fast_validator_agrees_with_jsonschema() -> None:
    """The compiled validator accepts exactly what jsonschema accepts, on real files and mutations."""
    files = DirectorySource(BUNDLED).read()
    checked = 0
    # Every kind of file, a few of each: the mutations, not the count of files, give the coverage.
    chosen = ["capabilities.yaml", "openai/provider.yaml", "ollama/provider.yaml", "openai/gpt-4o.yaml",
              "anthropic/claude-opus-4-1.yaml", "cohere/rerank-v3.5.yaml", "google/gemini-2.5-pro.yaml"]
    for rel, raw in [(rel, files.contents[rel]) for rel in chosen]:
        kind = "model"
        if rel == "capabilities.yaml":
            kind = "capabilities"
        elif rel.endswith("/provider.yaml"):
            kind = "provider"
        doc = load_yaml(rel, raw).data
        for candidate in [doc, *_mutations(doc)]:
            assert is_valid(kind, candidate) == validator(kind).is_valid(candidate), (rel, candidate)
            checked += 1
    assert checked > 300


def test_a_definition_written_back_resolves_as_the_file_did() -> None:
    """What `register` writes from a ModelDefinition (`to_document`) resolves to the Model the
    original file resolved to: fields left empty are as good as absent."""
    check = check_catalog(DirectorySource(BUNDLED).read())
    assert check.tree is not None and len(check.documents) > 150
    compared = 0
    for rel, doc in check.documents.items():
        if rel.count("/") != 1 or rel.endswith("/provider.yaml"):
            continue
        data = doc.data
        # The file as written, and with an extension key, empty mappings and overriding fields.
        for candidate in (data, {**data, "x-team": {"owner": "ml"}, "delivery": "async", "batch": True,
                                 "priority": 3, "lifecycle": {"status": "preview"}, "limits": {}, "cost": {}}):
            provider = check.providers[candidate["provider"]]
            written = ModelDefinition.from_document(candidate).to_document()
            assert resolve_model(written, provider, check.tree, rel) == resolve_model(candidate, provider, check.tree,
                                                                                     rel), rel
            compared += 1
    assert compared > 300
