"""Each listing format read as the provider serves it: paging, the key's header, the fields that
become catalog facts, and the providers' own sample bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelreg.errors import ListingError
from modelreg.sync.formats import load_format, read_saved
from modelreg.sync.listing import Listed, Page
from tests.conftest import REPO, run_cli, write
from tests.git_helpers import commit_all
from tests.sync.conftest import Synced
from tests.sync.listing_server import entry

SAMPLES = REPO / "tests" / "data" / "listings"
PAGED = {"anthropic": ("limit=1000", "after_id=chat-small"), "gemini": ("pageSize=1000", "pageToken=2"),
         "cohere": ("page_size=1000", "page_token=2")}


def _dry_run(synced: Synced) -> dict[str, Any]:
    result = synced.sync("--dry-run", "--format", "json")
    assert result.code == 0, result.err
    report: dict[str, Any] = json.loads(result.out)["providers"][0]
    return report


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "gemini", "mistral", "openrouter", "ollama", "cohere"])
def test_every_network_format_is_read_whole_from_its_server(make_synced, fmt: str) -> None:
    entries = [entry(fmt, "chat-large-2024", context=200000), entry(fmt, "chat-small"), entry(fmt, "chat-mini")]
    for item in entries:
        item["x_unknown_field"] = {"ignored": True}  # fields we do not know are ignored
    extra = '  rules:\n    - match: "chat-*"\n      capabilities: [generation.text-generation]\n' \
        if fmt == "openai" else ""
    synced: Synced = make_synced(fmt, entries, page_size=2, extra=extra)
    report = _dry_run(synced)
    assert report["listed"] == 3
    assert report["added"] == ["acme/chat-mini", "acme/chat-small"]
    added = report["diff"]["models"]["added"]
    assert {a["name"]: a["pools"] for a in added} == {
        "acme/chat-mini": ["generation", "generation.text-generation"],
        "acme/chat-small": ["generation", "generation.text-generation"]}
    paths = [seen.path for seen in synced.server.seen]
    if fmt in PAGED:
        first, cursor = PAGED[fmt]
        assert len(paths) == 2 and first in paths[0] and first in paths[1] and cursor in paths[1]
    elif fmt == "ollama":
        assert paths == ["/api/tags", "/api/show", "/api/show", "/api/show"]
        assert [seen.body for seen in synced.server.seen[1:]] == [
            {"model": "chat-large-2024"}, {"model": "chat-small"}, {"model": "chat-mini"}]
    else:
        assert len(paths) == 1


def test_a_bare_list_is_read_as_together_serves_it(make_synced) -> None:
    entries = [{"id": "meta/llama-3", "type": "chat", "display_name": "Llama 3", "context_length": 8192,
                "pricing": {"input": 0.88, "output": 0.88}},
               {"id": "BAAI/bge-large", "type": "embedding", "pricing": {"input": 0.02, "output": 0}}]
    synced: Synced = make_synced("openai", entries, bare_list=True, hand=False)
    assert synced.sync("--commit").code == 0
    llama = (synced.catalog / "acme/meta/llama-3.yaml").read_text()
    assert "model_id: meta/llama-3\n" in llama
    assert "cost:\n  input_per_mtok: 0.88\n  output_per_mtok: 0.88\n" in llama
    assert "capabilities:\n  - embedding.text-embedding\n" in (synced.catalog / "acme/baai/bge-large.yaml").read_text()


def test_mistral_aliases_are_one_model(make_synced) -> None:
    base = {"object": "model", "name": "m-2503", "capabilities": {"completion_chat": True}, "max_context_length": 4096}
    entries = [{**base, "id": "m-latest", "aliases": ["m-2503"]}, {**base, "id": "m-2503", "aliases": ["m-latest"]}]
    synced: Synced = make_synced("mistral", entries, hand=False)
    report = _dry_run(synced)
    assert (report["listed"], report["added"]) == (1, ["acme/m-2503"])


def test_a_missing_field_names_the_field_and_the_page(make_synced) -> None:
    entries = [entry("gemini", "a"), entry("gemini", "b"), {"displayName": "no name"}]
    synced: Synced = make_synced("gemini", entries, page_size=2)
    result = synced.sync("--dry-run")
    assert result.code == 1
    assert result.err.endswith(f"{synced.server.url}: page 2: the field `models[0].name` is missing\n")


def _sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def _read(fmt: str, body: Any) -> tuple[list[Listed], str | None]:
    return load_format(fmt).read_page(Page(body, fmt))


def test_the_providers_sample_bodies() -> None:
    models, cursor = _read("anthropic", _sample("anthropic-v1-models.page1.json"))
    assert cursor == "claude-sonnet-4-5-20250929"
    opus = models[0]
    assert opus.model_id == "claude-opus-4-6"
    assert opus.facts["limits.context_window"] == 1000000
    assert opus.facts["limits.max_output_tokens"] == 128000
    assert opus.facts["features.vision"] is True and opus.facts["features.reasoning"] is True
    assert "understanding.image-understanding" in opus.capabilities

    models, cursor = _read("gemini", _sample("gemini-models.list.page1.json"))
    assert cursor == "Ch5tb2RlbHMvZ2VtaW5pLTIuMC1mbGFzaC1saXRl"
    assert models[0].model_id == "gemini-2.5-flash"
    assert models[0].facts["features.reasoning"] is True
    assert models[0].capabilities == {"generation.text-generation"}

    models, cursor = _read("cohere", _sample("cohere-v1-models.page1.json"))
    assert cursor == "page2"
    assert {m.model_id: m.capabilities for m in models} == {
        "command-a-03-2025": {"generation.text-generation"}, "embed-v4.0": {"embedding.text-embedding"}}
    assert models[0].facts["features.structured_output"] is True

    models, _ = _read("mistral", _sample("mistral-v1-models.json"))
    assert [m.model_id for m in models] == ["mistral-ocr-latest"]  # its alias has no entry of its own here
    assert models[0].capabilities == set()  # the listing marks nothing: rules decide

    models, _ = _read("openrouter", _sample("openrouter-api-v1-models.sample.json"))
    fast = models[0]
    assert fast.facts["cost.input_per_mtok"] == 30
    assert fast.facts["cost.output_per_mtok"] == 150
    assert fast.facts["cost.cached_input_per_mtok"] == 3
    assert fast.facts["modalities.input"] == ["text", "image", "pdf"]
    assert fast.facts["features.tool_calling"] is True
    free = next(m for m in models if m.model_id == "inclusionai/ring-2.6-1t:free")
    assert free.facts["cost.input_per_mtok"] == 0

    models, _ = _read("openai", _sample("openai-v1-models.spec-example.json"))
    assert [m.model_id for m in models] == ["model-id-0", "model-id-1", "model-id-2"]
    assert models[2].facts == {"lifecycle.status": "deprecated", "lifecycle.retires_at": "2026-10-23"}
    models, _ = _read("openai", _sample("together-v1-models.json"))
    assert {m.model_id: sorted(m.capabilities) for m in models}["Salesforce/Llama-Rank-V1"] == ["retrieval.rerank"]

    models, _ = _read("ollama", _sample("ollama-api-tags.json"))
    assert [m.model_id for m in models] == ["deepseek-r1:latest", "llama3.2:latest"]
    from modelreg.sync.formats.ollama import read_show

    read_show(models[1], Page(_sample("ollama-api-show.json"), "show"))
    assert models[1].facts["limits.context_window"] == 8192


def test_a_saved_page_of_a_longer_listing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ListingError, match="this is one page of a longer listing"):
        read_saved(load_format("anthropic"), _sample("anthropic-v1-models.page1.json"), "saved.json")


def test_bedrock_is_read_from_the_aws_cli_output(make_synced, tmp_path: Path) -> None:
    synced: Synced = make_synced("openai", hand=False)
    provider = synced.catalog / "acme/provider.yaml"
    text = provider.read_text()
    provider.write_text(text[:text.index("discovery:")] + "discovery:\n  format: bedrock\n" +
                        text[text.index("defaults:"):])
    write(synced.catalog, "acme/nova.yaml", """\
name: acme/nova
provider: acme
model_id: amazon.nova-pro-v1:0
capabilities: [generation.text-generation]
""")
    commit_all(synced.root, "bedrock")
    saved = tmp_path / "bedrock.json"
    saved.write_text(json.dumps({"modelSummaries": [
        {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
         "modelId": "amazon.nova-pro-v1:0", "modelName": "Nova Pro", "providerName": "Amazon",
         "inputModalities": ["TEXT", "IMAGE", "VIDEO"], "outputModalities": ["TEXT"],
         "responseStreamingSupported": True, "customizationsSupported": [], "inferenceTypesSupported": ["ON_DEMAND"],
         "modelLifecycle": {"status": "ACTIVE"}},
        {"modelId": "amazon.titan-embed-text-v2:0", "modelName": "Titan Text Embeddings V2",
         "inputModalities": ["TEXT"], "outputModalities": ["EMBEDDING"], "modelLifecycle": {"status": "LEGACY"}},
    ]}))
    network = run_cli("sync", "acme", "--catalog", str(synced.catalog), "--dry-run")
    assert network.code == 2
    assert "the bedrock listing is read from a saved file; give it with --listing FILE" in network.err
    result = run_cli("sync", "acme", "--catalog", str(synced.catalog), "--listing", str(saved), "--commit")
    assert result.code == 0, result.err
    titan = (synced.catalog / "acme/amazon.titan-embed-text-v2-0.yaml").read_text()
    assert 'model_id: "amazon.titan-embed-text-v2:0"' in titan
    assert "  - embedding.text-embedding\n" in titan
    assert "lifecycle:\n  status: deprecated\n" in titan
    nova = (synced.catalog / "acme/nova.yaml").read_text()
    assert "display_name: Nova Pro\n" in nova
    assert "input: [text, image, video]" in nova
