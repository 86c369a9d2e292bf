"""`modelreg export litellm`: a LiteLLM proxy `config.yaml` from a snapshot.

One `model_list` entry per routable model, named by its catalog name, and one more per capability
pool (`pool/<capability>`) that points at the pool's first model, with `router_settings.fallbacks`
sending each pool entry down the rest of its pool in order: a LiteLLM user asks for
`pool/generation.text-generation` and gets the pool with ordered failover. The fallbacks hang on the
pool entries, not on the models, because a model sits in many pools, each with its own order.
Keys are `os.environ/VAR` references, never the keys themselves.

LiteLLM's loader accepts a fallback naming a group that does not exist, and drops a deployment of
an unknown provider without a word; so the export checks its own output: every fallback names a
group it wrote, and a model LiteLLM cannot route is reported, not written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from modelreg.interop.aliases import OWN_BASE, litellm_prefix

POOL_PREFIX = "pool/"
ROUTABLE = frozenset({"active", "preview", "deprecated"})


@dataclass
class Export:
    """An export's text, a one-line summary, and notes on what it left out or had to guess."""

    text: str
    summary: str
    notes: list[str] = field(default_factory=list)


def litellm_params(model: Mapping[str, Any], provider: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """How LiteLLM calls one model: `<prefix>/<model_id>`, the API base, the key's variable."""
    model_id = str(model["model_id"])
    params: dict[str, Any] = {"model": model_id if model_id.startswith(f"{prefix}/") else f"{prefix}/{model_id}"}
    # A native route knows its provider's endpoint (and builds its own paths on it): the catalog's
    # base, often the provider's OpenAI-compatible one, would send it astray.
    generic = prefix in ("openai", "anthropic") and model["provider"] != prefix  # a compatible API, reached there
    if provider.get("api_base") and prefix in OWN_BASE and (generic or prefix not in ("openai", "anthropic")):
        params["api_base"] = provider["api_base"]
    if provider.get("api_key_env"):
        params["api_key"] = f"os.environ/{provider['api_key_env']}"
    return params


def _model_info(model: Mapping[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"modelreg_capabilities": list(model["capabilities"]),
                            "modelreg_features": dict(sorted(model.get("features", {}).items()))}
    limits = model.get("limits") or {}
    if "context_window" in limits:
        info["max_input_tokens"] = limits["context_window"]
    if "max_output_tokens" in limits:
        info["max_output_tokens"] = limits["max_output_tokens"]
    cost = model.get("cost") or {}
    for ours, theirs in (("input_per_mtok", "input_cost_per_token"), ("output_per_mtok", "output_cost_per_token")):
        if isinstance(cost.get(ours), (int, float)) and cost.get("currency", "USD") == "USD":
            info[theirs] = cost[ours] / 1_000_000
    return info


def _unroutable(provider: str, record: Mapping[str, Any], count: int) -> str:
    if record.get("api") in ("openai", "anthropic"):
        why = f"`{provider}` speaks the {record['api']} API but has no `api_base` to reach it at"
    else:
        why = f"LiteLLM has no provider `{provider}`"
    return f"{why}: its {count} model(s) left out"


def litellm_config(document: Mapping[str, Any]) -> Export:
    """The proxy config of a snapshot document."""
    models: Mapping[str, Mapping[str, Any]] = document["models"]
    providers: Mapping[str, Mapping[str, Any]] = document["providers"]
    unknown: dict[str, int] = {}
    params: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    for name in sorted(models):
        model = models[name]
        if model["lifecycle"].get("status", "active") not in ROUTABLE:
            continue
        prefix = litellm_prefix(model["provider"], providers.get(model["provider"]))
        if prefix is None:
            unknown[model["provider"]] = unknown.get(model["provider"], 0) + 1
            continue
        params[name] = litellm_params(model, providers.get(model["provider"], {}), prefix)
        entries.append({"model_name": name, "litellm_params": params[name], "model_info": _model_info(model)})
    fallbacks: list[dict[str, list[str]]] = []
    pools = 0
    for path in sorted(document["pools"]):
        members = [n for n in document["pools"][path] if n in params]
        if not members:
            continue
        group = f"{POOL_PREFIX}{path}"
        entries.append({"model_name": group, "litellm_params": dict(params[members[0]]),
                        "model_info": {"modelreg_pool": path, "modelreg_model": members[0]}})
        pools += 1
        if len(members) > 1:
            fallbacks.append({group: members[1:]})
    written = {entry["model_name"] for entry in entries}
    for chain in fallbacks:
        for group, targets in chain.items():
            missing = [t for t in [group, *targets] if t not in written]
            if missing:  # never: the chains are built from what was written
                raise AssertionError(f"fallback of {group} names groups not written: {missing}")
    notes = [_unroutable(provider, providers.get(provider) or {}, n) for provider, n in sorted(unknown.items())]
    config = {"model_list": entries, "router_settings": {"fallbacks": fallbacks}}
    label = document["version"]["label"]
    text = (f"# LiteLLM proxy config, written by `modelreg export litellm` from snapshot {label}.\n"
            "# Ask for `pool/<capability>` to be routed down that capability's pool in order.\n"
            + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1 << 16))
    return Export(text, f"{len(params)} models, {pools} pool entries, {len(fallbacks)} fallback chains", notes)
