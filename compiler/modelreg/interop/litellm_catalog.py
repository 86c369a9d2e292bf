"""Reading LiteLLM's `model_prices_and_context_window.json` into catalog entries.

Each key is a model (its exact ID, `anthropic.claude-haiku-4-5@20251001`, behind LiteLLM's routing
prefix where it has one, `gemini/`), with
`litellm_provider`, `mode`, `supports_*` flags, token limits and per-token prices. `sample_spec`
documents the format and `fallback_generalizations` is not a model: both are reported, as is every
entry that cannot be mapped. Fields LiteLLM adds later are ignored until they are mapped here.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from typing import Any

from modelreg.interop.aliases import LITELLM_PREFIX, catalog_provider
from modelreg.interop.entries import Entry, Parsed, ProviderInfo, limit, price, read_json_map

NOT_MODELS = {"sample_spec": "the file's own description of an entry, not a model",
              "fallback_generalizations": "LiteLLM's fallback rules, not a model"}
MODES = {
    "chat": ["generation.text-generation"],
    "responses": ["generation.text-generation"],
    "completion": ["generation.text-completion"],
    "embedding": ["embedding.text-embedding"],
    "image_generation": ["generation.image-generation"],
    "image_edit": ["generation.image-editing"],
    "video_generation": ["generation.video-generation"],
    "audio_transcription": ["audio.speech-to-text"],
    "audio_speech": ["audio.text-to-speech"],
    "realtime": ["audio.realtime"],
    "rerank": ["retrieval.rerank"],
    "search": ["retrieval.web-search"],
    "ocr": ["understanding.document-understanding.ocr"],
    "moderation": ["moderation.text-moderation"],
}
# `supports_*` flag -> feature; true and false are both known, absent is unknown.
FEATURES = {
    "supports_function_calling": "tool_calling",
    "supports_parallel_function_calling": "parallel_tool_calling",
    "supports_tool_choice": "tool_choice",
    "supports_vision": "vision",
    "supports_pdf_input": "pdf_input",
    "supports_audio_input": "audio_input",
    "supports_audio_output": "audio_output",
    "supports_video_input": "video_input",
    "supports_response_schema": "structured_output",
    "supports_system_messages": "system_messages",
    "supports_prompt_caching": "prompt_caching",
    "supports_reasoning": "reasoning",
    "supports_web_search": "web_search",
    "supports_computer_use": "computer_use",
    "supports_assistant_prefill": "assistant_prefill",
    "supports_native_streaming": "streaming",
}
# What a chat model that says it reads images or PDFs can also be asked for.
UNDERSTANDING = {"vision": "understanding.image-understanding", "pdf_input": "understanding.document-understanding"}
# Price field -> (catalog field, scale to the catalog's unit).
PRICES = {
    "input_cost_per_token": ("cost.input_per_mtok", 1_000_000),
    "output_cost_per_token": ("cost.output_per_mtok", 1_000_000),
    "cache_read_input_token_cost": ("cost.cached_input_per_mtok", 1_000_000),
    "output_cost_per_image": ("cost.per_image", 1),
    "output_cost_per_second": ("cost.per_second", 1),
    "input_cost_per_character": ("cost.per_1k_characters", 1000),
    "input_cost_per_query": ("cost.per_request", 1),
}
_UNSAFE = re.compile(r"(^|/)\.\.(/|$)|^/|\\|\x00")


def read_litellm(path: str | os.PathLike[str], *, today: str) -> Parsed:
    """Every entry of LiteLLM's file, mapped or skipped with its reason; `today` (YYYY-MM-DD)
    tells a deprecation that has come from one still ahead. UsageError for a file that is not
    LiteLLM's (not JSON, not an object, over the size cap)."""
    data = read_json_map(path, "a LiteLLM model file")
    parsed = Parsed(os.fspath(path), len(data))
    for key in data:
        entry = data[key]
        why = NOT_MODELS.get(key)
        if why is None:
            try:
                parsed.entries.append(_entry(key, entry, today, parsed))
                continue
            except ValueError as exc:
                why = str(exc)
        parsed.skipped.append((key, why))
    return parsed


def _entry(key: str, entry: Any, today: str, parsed: Parsed) -> Entry:
    if not isinstance(entry, Mapping):
        raise ValueError("not an object")
    if _UNSAFE.search(key):
        raise ValueError("the key would lead out of the catalog directory")
    external = entry.get("litellm_provider")
    if not isinstance(external, str) or not external:
        raise ValueError("no `litellm_provider`")
    provider = catalog_provider(external)
    if provider is None:
        raise ValueError(f"no catalog provider name can be made of `{external}`")
    mode = entry.get("mode")
    if not isinstance(mode, str) and mode is not None:
        raise ValueError(f"`mode` is not a string ({type(mode).__name__})")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}" if mode is not None else "no `mode`")
    facts: dict[str, Any] = {}
    capabilities = list(MODES[mode])
    for flag, feature in FEATURES.items():
        value = entry.get(flag)
        if isinstance(value, bool):
            facts[f"features.{feature}"] = value
            if value and mode in ("chat", "responses") and feature in UNDERSTANDING:
                capabilities.append(UNDERSTANDING[feature])
    facts["capabilities"] = capabilities
    try:
        context = limit(entry.get("max_input_tokens"))
        output = limit(entry.get("max_output_tokens"))
    except ValueError as exc:
        raise ValueError(f"a token limit is {exc}") from None
    if context is not None:
        facts["limits.context_window"] = context
    if output is not None:
        facts["limits.max_output_tokens"] = output
    for name, (dotted, scale) in PRICES.items():
        try:
            amount = price(entry.get(name), scale)
        except ValueError as exc:
            raise ValueError(f"`{name}` is {exc}") from None
        if amount is not None:
            facts[dotted] = amount
    if any(k.startswith("cost.") for k in facts):
        facts["cost.currency"] = "USD"
    deprecation = entry.get("deprecation_date")
    if isinstance(deprecation, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", deprecation):
        _valid_date(deprecation)
        facts["lifecycle.deprecated_at"] = deprecation
        if deprecation <= today:
            facts["lifecycle.status"] = "deprecated"
    if provider not in parsed.providers:
        parsed.providers[provider] = ProviderInfo(external.replace("_", " ").title())
    return Entry(key, provider, model_id_of(key, external, provider), facts)


def model_id_of(key: str, external: str, provider: str) -> str:
    """The provider's own ID in a LiteLLM key: the key as it is, but for LiteLLM's routing prefix
    (`gemini/gemini-2.5-flash` is Google's `gemini-2.5-flash`; `openrouter/anthropic/claude-x` is
    OpenRouter's `anthropic/claude-x`)."""
    head, sep, rest = key.partition("/")
    routes = {external, external.split("-")[0], LITELLM_PREFIX.get(provider, provider), provider}
    return rest if sep and rest and head in routes else key


def _valid_date(text: str) -> None:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"`deprecation_date` {text} is not a date") from None
