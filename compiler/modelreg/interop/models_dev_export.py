"""`modelreg export models-dev`: models.dev's `api.json` shape from a snapshot, so any tool that
reads models.dev can read a modelreg catalog, private models included.

Every entry satisfies models.dev's schema (`schemas/models-dev.schema.json`, checked before the
text is returned). Where models.dev requires a field the catalog does not know, the export writes
the conservative value (`false`, a limit of 0, no cost, today's catalog date) and the notes say
which fields, for how many models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelreg.interop.litellm_config import ROUTABLE, Export
from modelreg.schemas import first_error

# Catalog provider -> models.dev's id for it, where they differ.
MODELS_DEV_IDS = {"together": "togetherai", "bedrock": "amazon-bedrock"}
# Catalog provider -> the AI SDK package models.dev names; any other provider is OpenAI-compatible.
NPM = {"anthropic": "@ai-sdk/anthropic", "openai": "@ai-sdk/openai", "google": "@ai-sdk/google",
       "mistral": "@ai-sdk/mistral", "bedrock": "@ai-sdk/amazon-bedrock", "azure": "@ai-sdk/azure",
       "cohere": "@ai-sdk/cohere", "groq": "@ai-sdk/groq", "xai": "@ai-sdk/xai", "deepseek": "@ai-sdk/deepseek",
       "perplexity": "@ai-sdk/perplexity", "together": "@ai-sdk/togetherai"}
COMPATIBLE = "@ai-sdk/openai-compatible"
MODALITIES = ("text", "audio", "image", "video", "pdf")
UNKNOWN_DATE = "1970-01-01"


def _modalities(model: Mapping[str, Any], key: str, defaulted: list[str]) -> list[str]:
    given = [m for m in (model.get("modalities") or {}).get(key, []) if m in MODALITIES]
    if given:
        return given
    defaulted.append(f"modalities.{key}")
    return ["text"]


def _model(model: Mapping[str, Any], defaulted: list[str]) -> dict[str, Any]:
    features = model.get("features") or {}
    limits = model.get("limits") or {}
    lifecycle = model.get("lifecycle") or {}

    def flag(name: str, out: str) -> bool:
        if name in features:
            return bool(features[name])
        defaulted.append(out)
        return False

    inputs = _modalities(model, "input", defaulted)
    released = lifecycle.get("released") or (model.get("registered_at") or "")[:10]
    if not released:
        defaulted.append("release_date")
        released = UNKNOWN_DATE
    entry: dict[str, Any] = {
        "id": model["model_id"],
        "name": model.get("display_name") or model["name"],
        "attachment": "image" in inputs or "pdf" in inputs,
        "reasoning": flag("reasoning", "reasoning"),
        "temperature": False,
        "tool_call": flag("tool_calling", "tool_call"),
        "release_date": released,
        "last_updated": (model.get("registered_at") or "")[:10] or released,
        "modalities": {"input": inputs, "output": _modalities(model, "output", defaulted)},
        "open_weights": False,
        "limit": {"context": limits.get("context_window") or limits.get("max_input_tokens") or 0,
                  "output": limits.get("max_output_tokens") or 0},
    }
    defaulted += ["temperature", "open_weights"]
    if not model.get("registered_at"):
        defaulted.append("last_updated")
    if not entry["limit"]["context"]:
        defaulted.append("limit.context")
    if not entry["limit"]["output"]:
        defaulted.append("limit.output")
    if "structured_output" in features:
        entry["structured_output"] = bool(features["structured_output"])
    cost = model.get("cost") or {}
    if cost.get("currency", "USD") == "USD" and "input_per_mtok" in cost and "output_per_mtok" in cost:
        entry["cost"] = {"input": cost["input_per_mtok"], "output": cost["output_per_mtok"]}
        if "cached_input_per_mtok" in cost:
            entry["cost"]["cache_read"] = cost["cached_input_per_mtok"]
    status = lifecycle.get("status")
    if status == "deprecated":
        entry["status"] = "deprecated"
    elif status == "preview":
        entry["status"] = "beta"
    return entry


def models_dev_api(document: Mapping[str, Any]) -> Export:
    """models.dev's `api.json` of a snapshot document."""
    providers: Mapping[str, Mapping[str, Any]] = document["providers"]
    out: dict[str, Any] = {}
    counts: dict[str, int] = {}
    notes: list[str] = []
    exported = 0
    for name in sorted(document["models"]):
        model = document["models"][name]
        if model["lifecycle"].get("status", "active") not in ROUTABLE:
            continue
        provider = providers.get(model["provider"], {})
        pid = MODELS_DEV_IDS.get(model["provider"], model["provider"])
        if pid not in out:
            npm = NPM.get(model["provider"], COMPATIBLE)
            guessed = [what for what, known in (("env", provider.get("api_key_env")),
                                                 ("doc", provider.get("homepage") or provider.get("api_base")),
                                                 ("api", npm != COMPATIBLE or provider.get("api_base")))
                       if not known]
            if guessed:
                notes.append(f"provider `{pid}`: {', '.join(guessed)} unknown; wrote a placeholder")
            env = provider.get("api_key_env") or f"{pid.upper().replace('-', '_')}_API_KEY"
            block: dict[str, Any] = {
                "id": pid, "name": provider.get("display_name") or pid, "env": [env],
                "npm": npm,
                "doc": provider.get("homepage") or provider.get("api_base") or f"https://models.dev/{pid}",
                "models": {},
            }
            if npm == COMPATIBLE:
                block["api"] = provider.get("api_base") or "http://localhost/v1"
            out[pid] = block
        defaulted: list[str] = []
        out[pid]["models"][model["model_id"]] = _model(model, defaulted)
        exported += 1
        for what in defaulted:
            counts[what] = counts.get(what, 0) + 1
    problem = first_error("models-dev", out)
    if problem is not None:  # never: every field is written to the schema
        raise AssertionError(f"the models.dev export does not satisfy models.dev's schema: {problem}")
    notes += [f"{what} unknown for {n} model(s): wrote the conservative value" for what, n in sorted(counts.items())]
    text = json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return Export(text, f"{exported} models from {len(out)} providers", notes)
