"""`modelreg export`: a LiteLLM proxy config that LiteLLM's own loader takes whole, and a models.dev
api.json that satisfies models.dev's schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from modelreg.interop.aliases import LITELLM_PROVIDERS
from modelreg.schemas import first_error
from tests.conftest import run_cli
from tests.interop.conftest import LITELLM_FILE, load_with_litellm


def test_the_litellm_config_has_a_model_per_routable_model_and_a_pool_entry_per_pool(catalog: Path,
                                                                                      tmp_path: Path) -> None:
    out = tmp_path / "config.yaml"
    result = run_cli("export", "litellm", "--catalog", str(catalog), "-o", str(out))
    assert result.code == 0, result.err
    assert result.out == f"wrote {out}: 3 models, 5 pool entries, 2 fallback chains\n"
    config = yaml.safe_load(out.read_text())
    by_name = {entry["model_name"]: entry for entry in config["model_list"]}
    chat = by_name["acme/chat-large"]
    # acme is not a LiteLLM provider, but speaks OpenAI's API: LiteLLM reaches it as `openai/` at its base.
    assert chat["litellm_params"] == {"model": "openai/chat-large:2024", "api_base": "https://api.acme.test/v1",
                                      "api_key": "os.environ/ACME_API_KEY"}
    assert "sk-" not in out.read_text()
    # The pool of generation.text-generation, in routing order: coder (priority 5), then chat-large.
    pool = by_name["pool/generation.text-generation"]
    assert pool["litellm_params"] == by_name["acme/coder"]["litellm_params"]
    assert {"pool/generation.text-generation": ["acme/chat-large"]} in config["router_settings"]["fallbacks"]
    written = set(by_name)
    for chain in config["router_settings"]["fallbacks"]:
        for group, targets in chain.items():
            assert group in written and set(targets) <= written


def test_a_provider_litellm_does_not_route_is_reported_not_written(catalog: Path, tmp_path: Path) -> None:
    provider = catalog / "acme/provider.yaml"
    assert "acme" not in LITELLM_PROVIDERS
    out = tmp_path / "config.yaml"
    result = run_cli("export", "litellm", "--catalog", str(catalog), "-o", str(out))
    assert "modelreg: note: LiteLLM has no provider `acme`" not in result.err  # acme speaks `api: openai`
    provider.write_text(provider.read_text().replace("api: openai\n", "api: other\n"))
    result = run_cli("export", "litellm", "--catalog", str(catalog), "-o", str(out))
    assert result.code == 0
    assert result.err == "modelreg: note: LiteLLM has no provider `acme`: its 3 model(s) left out\n"
    assert yaml.safe_load(out.read_text())["model_list"] == []


@pytest.mark.slow
def test_litellm_round_trip_file_to_catalog_to_config_to_litellms_loader(bundled_copy: Path, tmp_path: Path) -> None:
    # The providers most catalogs start from; the whole file's import is tested in test_import.
    providers = ("openai", "anthropic", "google", "mistral", "groq", "deepseek", "xai", "together", "cohere",
                 "bedrock", "vertex_ai", "openrouter")
    chosen = [arg for p in providers for arg in ("--provider", p)]
    assert run_cli("import", "litellm", str(LITELLM_FILE), "--catalog", str(bundled_copy), *chosen).code == 0
    out = tmp_path / "config.yaml"
    exported = run_cli("export", "litellm", "--catalog", str(bundled_copy), "-o", str(out))
    assert exported.code == 0, exported.err
    config = yaml.safe_load(out.read_text())
    written = [entry["model_name"] for entry in config["model_list"]]
    chains = config["router_settings"]["fallbacks"]
    assert len(written) > 900 and len(chains) >= 25
    loaded = load_with_litellm(out)
    # Every deployment written is one LiteLLM loaded (its loader drops what it cannot route, silently).
    assert loaded["deployments"] == sorted(written)
    assert loaded["fallbacks"] == chains
    # The provider names the exporter routes by are LiteLLM's own.
    assert set(loaded["providers"]) >= LITELLM_PROVIDERS


def test_the_models_dev_export_satisfies_its_schema_and_says_what_it_guessed(bundled_copy: Path,
                                                                              tmp_path: Path) -> None:
    out = tmp_path / "api.json"
    result = run_cli("export", "models-dev", "--catalog", str(bundled_copy), "-o", str(out))
    assert result.code == 0, result.err
    api = json.loads(out.read_text())
    assert first_error("models-dev", api) is None
    sonnet = api["anthropic"]["models"]["claude-sonnet-4-5-20250929"]
    assert sonnet["limit"]["context"] == 200000
    assert sonnet["tool_call"] is True and sonnet["attachment"] is True
    assert api["anthropic"]["npm"] == "@ai-sdk/anthropic" and "api" not in api["anthropic"]
    assert api["togetherai"]["npm"] == "@ai-sdk/togetherai"  # models.dev's name for it
    assert "modelreg: note: open_weights unknown for " in result.err
    # A broken export would be caught by the schema: it holds models.dev's rules.
    broken = dict(api)
    broken["anthropic"] = {**api["anthropic"], "env": []}
    assert first_error("models-dev", broken) is not None


def test_native_litellm_routes_get_no_api_base_and_unreachable_ones_say_why(bundled_copy: Path,
                                                                            tmp_path: Path) -> None:
    out = tmp_path / "config.yaml"
    result = run_cli("export", "litellm", "--catalog", str(bundled_copy), "-o", str(out))
    assert result.code == 0, result.err
    params = {e["model_name"]: e["litellm_params"] for e in yaml.safe_load(out.read_text())["model_list"]}
    # LiteLLM builds Gemini's and Anthropic's URLs itself: the catalog's base would send them astray.
    assert params["google/gemini-2.5-pro"] == {"model": "gemini/gemini-2.5-pro", "api_key": "os.environ/GEMINI_API_KEY"}
    assert "api_base" not in params["anthropic/claude-sonnet-4-5"]
    assert params["ollama/llama3.2-3b"]["api_base"] == "http://localhost:11434/v1"


def test_a_compatible_provider_without_an_api_base_is_reported_with_the_reason(catalog: Path, tmp_path: Path) -> None:
    provider = catalog / "acme/provider.yaml"
    provider.write_text(provider.read_text().replace("api_base: https://api.acme.test/v1\n", ""))
    out = tmp_path / "config.yaml"
    result = run_cli("export", "litellm", "--catalog", str(catalog), "-o", str(out))
    assert result.code == 0
    assert result.err == ("modelreg: note: `acme` speaks the openai API but has no `api_base` to reach it at: its 3 "
                          "model(s) left out\n")
    assert yaml.safe_load(out.read_text())["model_list"] == []
