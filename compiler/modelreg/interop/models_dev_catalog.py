"""Reading models.dev's published `api.json` into catalog entries.

The file maps a provider id to `{id, name, npm, env, doc, api?, models: {id: {...}}}`; a model has
`attachment`, `reasoning`, `tool_call`, `structured_output`, `temperature`, `knowledge`,
`release_date`, `last_updated`, `modalities {input, output}`, `open_weights`, `limit {context,
input?, output}`, `cost {input, output, cache_read, ...}` in USD per million tokens, and `status`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from modelreg.interop.aliases import catalog_provider
from modelreg.interop.entries import Entry, Parsed, ProviderInfo, limit, price, read_json_map

MODALITIES = {"text": "text", "image": "image", "audio": "audio", "video": "video", "pdf": "pdf",
              "file": "pdf", "embeddings": "embedding"}
STATUS = {"alpha": "preview", "beta": "preview", "deprecated": "deprecated"}
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNSAFE = re.compile(r"(^|/)\.\.(/|$)|^/|\\|\x00")


def read_models_dev(path: str | os.PathLike[str]) -> Parsed:
    """Every model of models.dev's `api.json`, mapped or skipped with its reason (keys are
    `<provider>/<model>`). UsageError for a file that is not one."""
    data = read_json_map(path, "a models.dev api.json")
    parsed = Parsed(os.fspath(path), 0)
    for provider_id in data:
        block = data[provider_id]
        models = block.get("models") if isinstance(block, Mapping) else None
        if not isinstance(models, Mapping):
            parsed.total += 1
            parsed.skipped.append((provider_id, "not a provider with `models`"))
            continue
        provider = catalog_provider(provider_id)
        for model_id in models:
            parsed.total += 1
            key = f"{provider_id}/{model_id}"
            try:
                if provider is None:
                    raise ValueError(f"no catalog provider name can be made of `{provider_id}`")
                parsed.entries.append(_entry(key, provider, model_id, models[model_id]))
            except ValueError as exc:
                parsed.skipped.append((key, str(exc)))
                continue
            if provider not in parsed.providers:
                parsed.providers[provider] = _provider(provider_id, block)
    return parsed


def _provider(provider_id: str, block: Mapping[str, Any]) -> ProviderInfo:
    given = block.get("env")
    env = [e for e in (given if isinstance(given, list) else [given]) if isinstance(e, str) and _ENV.match(e)]
    api = block.get("api")
    doc = block.get("doc")
    name = block.get("name")
    return ProviderInfo(name if isinstance(name, str) and name else provider_id, env[0] if env else None,
                        api if isinstance(api, str) and api.startswith(("http://", "https://")) else None,
                        doc if isinstance(doc, str) and doc.startswith(("http://", "https://")) else None)


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("supported"), bool):
        return bool(value["supported"])  # tool_call as an object of finer capabilities
    return None


def _entry(key: str, provider: str, model_id: str, model: Any) -> Entry:
    if not isinstance(model, Mapping):
        raise ValueError("not an object")
    if not model_id or _UNSAFE.search(model_id):
        raise ValueError("the model id would lead out of the catalog directory")
    facts: dict[str, Any] = {}
    name = model.get("name")
    if isinstance(name, str) and name:
        facts["display_name"] = name
    for field, feature in (("reasoning", "reasoning"), ("tool_call", "tool_calling"),
                           ("structured_output", "structured_output")):
        flag = _flag(model.get(field))
        if flag is not None:
            facts[f"features.{feature}"] = flag
    modalities = _mapping(model.get("modalities"))
    inputs = _mapped(modalities.get("input"))
    outputs = _mapped(modalities.get("output"))
    if inputs:
        facts["modalities.input"] = inputs
    if outputs:
        facts["modalities.output"] = outputs
    if "image" in inputs:
        facts["features.vision"] = True
    if "pdf" in inputs:
        facts["features.pdf_input"] = True
    facts["capabilities"] = _capabilities(inputs, outputs)
    limits = _mapping(model.get("limit"))
    for field, dotted in (("context", "limits.context_window"), ("input", "limits.max_input_tokens"),
                          ("output", "limits.max_output_tokens")):
        value = limits.get(field)
        # models.dev writes 0 for a limit it does not know (an embedding model's output).
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            try:
                facts[dotted] = limit(value)
            except ValueError as exc:
                raise ValueError(f"`limit.{field}` is {exc}") from None
    cost = _mapping(model.get("cost"))
    for field, dotted in (("input", "cost.input_per_mtok"), ("output", "cost.output_per_mtok"),
                          ("cache_read", "cost.cached_input_per_mtok")):
        try:
            amount = price(cost.get(field), 1)
        except ValueError as exc:
            raise ValueError(f"`cost.{field}` is {exc}") from None
        if amount is not None:
            facts[dotted] = amount
    if any(k.startswith("cost.") for k in facts):
        facts["cost.currency"] = "USD"
    released = model.get("release_date")
    if isinstance(released, str) and _DATE.match(released):
        facts["lifecycle.released"] = released
    given = model.get("status")
    status = STATUS.get(given) if isinstance(given, str) else None
    if not facts["capabilities"]:
        status = "discovered"  # nothing tells what it is for: in no pool until a person says
    if status is not None:
        facts["lifecycle.status"] = status
    return Entry(key, provider, model_id, facts)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mapped(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return list(dict.fromkeys(MODALITIES[v] for v in values if isinstance(v, str) and v in MODALITIES))


def _capabilities(inputs: list[str], outputs: list[str]) -> list[str]:
    found = []
    if "text" in outputs and "text" in inputs:
        found.append("generation.text-generation")
    if "text" in outputs and "image" in inputs:
        found.append("understanding.image-understanding")
    if "text" in outputs and "pdf" in inputs:
        found.append("understanding.document-understanding")
    if "text" in outputs and "audio" in inputs:
        found.append("understanding.audio-understanding")
    if "image" in outputs:
        found.append("generation.image-generation")
    if "video" in outputs:
        found.append("generation.video-generation")
    if "audio" in outputs and "text" in inputs:
        found.append("audio.text-to-speech")
    if "embedding" in outputs:
        found.append("embedding.multimodal-embedding" if "image" in inputs else "embedding.text-embedding")
    return found
