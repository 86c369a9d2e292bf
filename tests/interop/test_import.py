"""`modelreg import`: LiteLLM's model file and models.dev's api.json into a catalog, every entry
accounted for, nothing overwritten that the catalog sets, and nothing written on bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from modelreg.interop.litellm_catalog import read_litellm
from tests.conftest import CAPABILITIES, PROVIDER, run_cli, write
from tests.git_helpers import commit_all, git, init_repo
from tests.interop.conftest import LITELLM_FILE, MODELS_DEV_FILE


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_whole_litellm_file_imports_and_the_catalog_compiles(bundled_copy: Path, tmp_path: Path) -> None:
    result = run_cli("import", "litellm", str(LITELLM_FILE), "--catalog", str(bundled_copy))
    assert result.code == 0, result.err
    summary = result.out.splitlines()[0]
    counts = dict((kind, int(n)) for n, kind in re.findall(r"(\d+) (entries|imported|merged|skipped)", summary))
    total, imported, merged, skipped = (counts[k] for k in ("entries", "imported", "merged", "skipped"))
    assert total == len(json.loads(LITELLM_FILE.read_text())) == 2984
    assert imported + merged + skipped == total
    assert imported > 2500 and merged > 150
    assert "sample_spec: the file's own description of an entry, not a model" in result.out
    assert "fallback_generalizations: LiteLLM's fallback rules, not a model" in result.out
    assert run_cli("validate", "--catalog", str(bundled_copy)).code == 0
    compiled = run_cli("compile", "--catalog", str(bundled_copy), "-o", str(tmp_path / "registry.json"))
    assert compiled.code == 0, compiled.err
    snapshot = json.loads((tmp_path / "registry.json").read_text())
    assert len(snapshot["models"]) >= 2500
    # The bundled file was merged into, only where it was silent.
    sonnet = yaml.safe_load((bundled_copy / "anthropic/claude-3-5-sonnet.yaml").read_text())
    assert sonnet["limits"]["context_window"] == 200000 and sonnet["priority"] == 900
    # Keys keep their exact ID; names are path-safe.
    claude = yaml.safe_load((bundled_copy / "bedrock/anthropic.claude-haiku-4-5-20251001-v1-0.yaml").read_text())
    assert claude["model_id"] == "anthropic.claude-haiku-4-5-20251001-v1:0"
    llama = yaml.safe_load((bundled_copy / "cloudflare/cf/meta/llama-2-7b-chat-fp16.yaml").read_text())
    assert llama["model_id"] == "@cf/meta/llama-2-7b-chat-fp16"
    # Written directly or by PyYAML, a file is the same bytes (a sample of the written files).
    from modelreg.catalog import model_file

    written = sorted((bundled_copy / "openrouter").rglob("*.yaml"))
    for path in written:
        data = yaml.safe_load(path.read_text())
        reference = yaml.dump(data, Dumper=model_file._Dumper, sort_keys=False, allow_unicode=True, width=1 << 16,
                              default_flow_style=False)
        assert path.read_text().split("\n", 1)[1] == reference, path


SMALL = {
    "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers", "mode": "one of: chat"},
    "gpt-9": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 200000, "max_output_tokens": 32000,
              "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "supports_vision": True,
              "supports_function_calling": True, "supports_reasoning": False},
    "gpt-4o": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 128000, "max_output_tokens": 16384,
               "supports_prompt_caching": True},
    "gemini/gemini-9-flash": {"litellm_provider": "gemini", "mode": "chat", "max_input_tokens": 1048576,
                              "deprecation_date": "2025-01-01"},
    "acme-embed": {"litellm_provider": "acme_ai", "mode": "embedding", "input_cost_per_token": 1e-07},
    "weird-mode": {"litellm_provider": "openai", "mode": "vector_store"},
    "string-cost": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": "0.000001"},
    "zero-limit": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 0},
    "../../../etc/passwd": {"litellm_provider": "openai", "mode": "chat"},
    "GPT-9": {"litellm_provider": "openai", "mode": "chat"},
    "newer": {"litellm_provider": "openai", "mode": "chat", "supports_teleportation": True, "new_cost_field": 1},
}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "litellm.json"
    path.write_text(json.dumps(SMALL))
    return path


def test_every_entry_is_imported_merged_or_skipped_with_its_reason(bundled_copy: Path, small: Path) -> None:
    result = run_cli("import", "litellm", str(small), "--catalog", str(bundled_copy))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"import {small}: 11 entries: 4 imported, 1 merged into a model already there, "
                               "6 skipped (")
    skipped = {line.strip().split(": ", 1)[0]: line.strip().split(": ", 1)[1] for line in lines
               if line.startswith("    ")}
    assert skipped == {
        "sample_spec": "the file's own description of an entry, not a model",
        "weird-mode": "unknown mode 'vector_store'",
        "string-cost": '`input_cost_per_token` is not a number ("0.000001")',
        "zero-limit": "a token limit is not a positive whole number (0)",
        "../../../etc/passwd": "the key would lead out of the catalog directory",
        "GPT-9": "name collision: `openai/gpt-9` is already `gpt-9`",
    }
    assert "new providers: acme_ai" in result.out
    gpt9 = yaml.safe_load((bundled_copy / "openai/gpt-9.yaml").read_text())
    assert gpt9["capabilities"] == ["generation.text-generation", "understanding.image-understanding"]
    assert gpt9["features"] == {"reasoning": False, "tool_calling": True, "vision": True}
    assert gpt9["limits"] == {"context_window": 200000, "max_output_tokens": 32000}
    assert gpt9["cost"] == {"input_per_mtok": 2.5, "output_per_mtok": 10}
    # The routing prefix is LiteLLM's, not Google's: the model ID is Google's own.
    gemini = yaml.safe_load((bundled_copy / "google/gemini-9-flash.yaml").read_text())
    assert gemini["model_id"] == "gemini-9-flash"
    assert gemini["lifecycle"] == {"deprecated_at": "2025-01-01", "status": "deprecated"}
    assert (bundled_copy / "acme_ai/provider.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../../schemas/provider.schema.json\nname: acme_ai\ndisplay_name: Acme Ai\n")
    # Newer fields are ignored, not fatal; nothing lands outside the catalog.
    assert (bundled_copy / "openai/newer.yaml").is_file()
    assert not (bundled_copy.parent / "etc").exists() and not (bundled_copy / "openai/etc").exists()


def test_a_name_collision_with_a_catalog_model_is_reported_by_key(bundled_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "collide.json"
    # The bundled openai/gpt-4o has model_id gpt-4o; this key slugs to its name with another ID.
    path.write_text(json.dumps({"GPT-4o": {"litellm_provider": "openai", "mode": "chat"}}))
    result = run_cli("import", "litellm", str(path), "--catalog", str(bundled_copy))
    assert result.code == 0
    assert "    GPT-4o: name collision: `openai/gpt-4o` is already `gpt-4o`\n" in result.out


def test_an_existing_model_gains_only_what_it_lacks_unless_overwrite(bundled_copy: Path, small: Path) -> None:
    path = bundled_copy / "openai/gpt-4o.yaml"
    before = yaml.safe_load(path.read_text())
    assert run_cli("import", "litellm", str(small), "--catalog", str(bundled_copy)).code == 0
    after = yaml.safe_load(path.read_text())
    assert after["limits"] == before["limits"]  # set by the catalog: kept
    assert after["features"]["prompt_caching"] is True
    assert after["capabilities"] == before["capabilities"]
    assert run_cli("import", "litellm", str(small), "--catalog", str(bundled_copy), "--overwrite").code == 0
    replaced = yaml.safe_load(path.read_text())
    assert replaced["limits"] == {**before["limits"], "context_window": 128000, "max_output_tokens": 16384}
    assert replaced["capabilities"] == ["generation.text-generation"]


def test_provider_selects_entries_and_the_counts_still_add_up(bundled_copy: Path, small: Path) -> None:
    result = run_cli("import", "litellm", str(small), "--catalog", str(bundled_copy), "--provider", "google")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith(f"import {small}: 11 entries: 1 imported, 0 merged into a model "
                                                 "already there, 10 skipped (5 provider `…` not selected; ")
    assert "    gpt-9: provider `openai` not selected (--provider)\n" in result.out
    # The file's own name for a provider selects it too; a name nobody has is a usage error.
    same = run_cli("import", "litellm", str(small), "--catalog", str(bundled_copy), "--provider", "gemini",
                   "--dry-run")
    assert same.code == 0 and "11 entries: 0 imported, 1 merged" in same.out.splitlines()[0]
    nope = run_cli("import", "litellm", str(small), "--catalog", str(bundled_copy), "--provider", "nope")
    assert (nope.code, nope.err) == (2, f"modelreg: error: --provider nope: neither the catalog nor {small} has "
                                        "that provider\n")


def test_dry_run_writes_nothing_and_commit_makes_one_commit(catalog: Path, small: Path) -> None:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog")
    before = _files(catalog)
    dry = run_cli("import", "litellm", str(small), "--catalog", str(catalog), "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.endswith("dry run: nothing written\n")
    assert _files(catalog) == before
    head = git(root, "rev-parse", "HEAD")
    done = run_cli("import", "litellm", str(small), "--catalog", str(catalog), "--commit")
    assert done.code == 0, done.err
    assert git(root, "rev-parse", "HEAD~1") == head
    assert git(root, "log", "-1", "--format=%s") == "import 5 models from litellm.json"
    assert git(root, "status", "--porcelain") == ""


@pytest.mark.parametrize(("content", "message"), [
    ('{"gpt-4o": {"litellm_provider": "openai",', "litellm.json:1:42: not JSON (Expecting property name enclosed "
                                                 "in double quotes); nothing imported"),
    ('[{"gpt-4o": {}}]', "litellm.json: a LiteLLM model file is a JSON object of entries, not list; nothing "
                         "imported"),
])
def test_a_bad_file_is_refused_with_nothing_written(bundled_copy: Path, tmp_path: Path, content: str,
                                                    message: str) -> None:
    path = tmp_path / "litellm.json"
    path.write_text(content)
    before = _files(bundled_copy)
    result = run_cli("import", "litellm", str(path), "--catalog", str(bundled_copy))
    assert result.code == 2
    assert result.err == f"modelreg: error: {tmp_path}/{message}\n"
    assert _files(bundled_copy) == before


def test_a_100_mb_file_is_refused_before_it_is_read(bundled_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    before = _files(bundled_copy)
    result = run_cli("import", "litellm", str(path), "--catalog", str(bundled_copy))
    assert result.code == 2
    assert result.err == (f"modelreg: error: {path}: over the limit of 67,108,864 bytes for a LiteLLM model file; "
                          "nothing imported\n")
    assert _files(bundled_copy) == before


def test_a_result_that_would_not_validate_writes_nothing(catalog: Path, tmp_path: Path) -> None:
    # The catalog's tree has no `understanding`: the entry's vision capability is dropped, but a
    # replacement naming a model that does not exist makes the result invalid.
    write(catalog, "acme/old.yaml", "name: acme/old\nprovider: acme\ncapabilities: [chat]\n"
                                    "lifecycle:\n  status: deprecated\n  replacement: acme/nope\n")
    before = _files(catalog)
    path = tmp_path / "litellm.json"
    path.write_text(json.dumps({"gpt-9": SMALL["gpt-9"]}))
    result = run_cli("import", "litellm", str(path), "--catalog", str(catalog))
    assert result.code == 1
    assert "error[unknown-replacement]" in result.err
    assert "the catalog is invalid before the import" in result.err
    assert _files(catalog) == before


def test_models_dev_imports_and_merges_with_litellm(catalog: Path, tmp_path: Path) -> None:
    write(catalog, "capabilities.yaml", CAPABILITIES + "  reasoning: Thinks.\n  pdf_input: Reads PDFs.\n")
    write(catalog, "acme/provider.yaml", PROVIDER)
    result = run_cli("import", "models-dev", str(MODELS_DEV_FILE), "--catalog", str(catalog))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (f"import {MODELS_DEV_FILE}: 6 entries: 5 imported, 0 merged into a model "
                                          "already there, 1 skipped (1 `…` is not a number)")
    assert '    moonshotai/kimi-k2-thinking: `cost.input` is not a number ("0.6")\n' in result.out
    sonnet = yaml.safe_load((catalog / "anthropic/claude-sonnet-4-5-20250929.yaml").read_text())
    assert sonnet["display_name"] == "Claude Sonnet 4.5"
    assert sonnet["cost"] == {"cached_input_per_mtok": 0.3, "currency": "USD", "input_per_mtok": 3,
                              "output_per_mtok": 15}
    assert sonnet["limits"] == {"context_window": 200000, "max_output_tokens": 64000}
    # `structured_output` is not in this catalog's vocabulary: left out, not guessed.
    assert sonnet["features"] == {"pdf_input": True, "reasoning": True, "tool_calling": True, "vision": True}
    haiku = yaml.safe_load((catalog / "anthropic/claude-3-haiku-20240307.yaml").read_text())
    assert haiku["lifecycle"] == {"released": "2024-03-13", "status": "deprecated"}
    # models.dev's `google-vertex` is the catalog's `google`; an embedding model is told by its output.
    embed = yaml.safe_load((catalog / "google/text-embedding-005.yaml").read_text())
    assert embed["capabilities"] == ["embedding.text-embedding"]
    provider = yaml.safe_load((catalog / "moonshotai/provider.yaml").read_text())
    assert provider == {"name": "moonshotai", "display_name": "Moonshot AI",
                        "homepage": "https://platform.moonshot.ai/docs/api/chat",
                        "api_base": "https://api.moonshot.ai/v1", "api_key_env": "MOONSHOT_API_KEY"}
    assert run_cli("validate", "--catalog", str(catalog)).code == 0
    # LiteLLM's file meets the same models: merged, not duplicated.
    litellm = tmp_path / "litellm.json"
    litellm.write_text(json.dumps({
        "claude-sonnet-4-5-20250929": {"litellm_provider": "anthropic", "mode": "chat", "supports_computer_use": True,
                                       "max_input_tokens": 1, "input_cost_per_token": 9e-06},
        "vertex_ai/gemini-2.5-pro": {"litellm_provider": "vertex_ai-language-models", "mode": "chat",
                                     "supports_web_search": True}}))
    merged = run_cli("import", "litellm", str(litellm), "--catalog", str(catalog))
    assert merged.code == 0, merged.err
    assert merged.out.splitlines()[0] == (f"import {litellm}: 2 entries: 0 imported, 2 merged into a model already "
                                          "there, 0 skipped")
    again = yaml.safe_load((catalog / "anthropic/claude-sonnet-4-5-20250929.yaml").read_text())
    assert again["limits"]["context_window"] == 200000 and again["cost"]["input_per_mtok"] == 3
    assert sorted(p.name for p in (catalog / "google").iterdir()) == ["gemini-2.5-pro.yaml", "provider.yaml",
                                                                       "text-embedding-005.yaml"]


def test_a_litellm_key_keeps_its_exact_id(tmp_path: Path) -> None:
    path = tmp_path / "litellm.json"
    path.write_text(json.dumps({"cloudflare/@cf/meta/llama-2-7b-chat-fp16": {"litellm_provider": "cloudflare",
                                                                            "mode": "chat"},
                                "anthropic.claude-haiku-4-5@20251001": {
                                    "litellm_provider": "vertex_ai-anthropic_models", "mode": "chat"}}))
    parsed = read_litellm(path, today="2026-01-01")
    assert [(e.provider, e.model_id) for e in parsed.entries] == [
        ("cloudflare", "@cf/meta/llama-2-7b-chat-fp16"),
        ("vertex_ai", "anthropic.claude-haiku-4-5@20251001")]  # Vertex's own, not Google's Gemini API


def test_odd_entries_are_skipped_with_a_reason_not_a_traceback(bundled_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({
        "list-mode": {"litellm_provider": "openai", "mode": ["chat"]},
        "huge-limit": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 1e300},
        "huge-price": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e300},
        "bool-price": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": True},
        "not-an-object": ["chat"],
        "provider": {"litellm_provider": "openai", "mode": "chat"},
        "line\nbreak": {"litellm_provider": "openai", "mode": "vector_store"},
        "fine": {"litellm_provider": "openai", "mode": "chat"},
    }).replace("1e+300", "1e400", 1))
    result = run_cli("import", "litellm", str(path), "--catalog", str(bundled_copy))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith(f"import {path}: 8 entries: 1 imported, 0 merged into a model "
                                                 "already there, 7 skipped")
    skipped = result.out.split("  skipped:\n")[1]
    assert "    list-mode: `mode` is not a string (list)\n" in skipped
    assert "    huge-limit: a token limit is not a positive whole number (inf)\n" in skipped
    assert "    huge-price: `input_cost_per_token` is beyond any real price (1e+300)\n" in skipped
    assert "    bool-price: `input_cost_per_token` is not a number (true)\n" in skipped
    assert "    not-an-object: not an object\n" in skipped
    assert "    provider: name collision: `openai/provider.yaml` is the provider's own file\n" in skipped
    assert '    "line\\nbreak": unknown mode' in skipped
    assert yaml.safe_load((bundled_copy / "openai/provider.yaml").read_text())["name"] == "openai"
