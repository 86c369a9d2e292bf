"""Resolution: a model file's content plus its provider's defaults becomes a `Model`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelreg.capability_tree import CapabilityTree
from modelreg.models import DEFAULT_PRIORITY, MERGED_FIELDS, Model


def resolve_model(doc: Mapping[str, Any], provider: Mapping[str, Any], tree: CapabilityTree, source: str) -> Model:
    """The Model of a model file's content: provider defaults merged in (the model's values win,
    key by key for mapping fields), capability aliases turned into canonical paths.

    The content must already have passed validation: unknown capabilities raise.
    """
    extensions = {key: value for key, value in doc.items() if key.startswith("x-")}
    return _resolve(doc, extensions, provider, tree, source)


def _resolve(values: Mapping[str, Any], extensions: Mapping[str, Any], provider: Mapping[str, Any],
             tree: CapabilityTree, source: str) -> Model:
    # `values`: the file's fields by name (a missing or None one is unset).
    defaults: Mapping[str, Any] = provider.get("defaults") or {}
    merged: dict[str, dict[str, Any]] = {}
    for field_name in MERGED_FIELDS:
        value = dict(defaults.get(field_name) or {})
        own = values.get(field_name)
        if own:
            value.update(own)
        merged[field_name] = value
    merged["lifecycle"].setdefault("status", "active")
    capabilities = sorted({tree.resolve(c) for c in values["capabilities"]})
    name: str = values["name"]
    provider_name: str = values["provider"]
    return Model(
        name=name,
        provider=provider_name,
        capabilities=capabilities,
        delivery=_pick(values.get("delivery"), defaults.get("delivery"), "sync"),
        batch=_pick(values.get("batch"), defaults.get("batch"), False),
        model_id=values.get("model_id") or name.removeprefix(provider_name + "/"),
        display_name=values.get("display_name"),
        description=values.get("description"),
        priority=_pick(values.get("priority"), defaults.get("priority"), DEFAULT_PRIORITY),
        extensions=dict(extensions),
        source=source,
        features=merged["features"],
        constraints=merged["constraints"],
        limits=merged["limits"],
        modalities=merged["modalities"],
        cost=merged["cost"],
        lifecycle=merged["lifecycle"],
    )


def _pick(own: Any, inherited: Any, fallback: Any) -> Any:
    if own is not None:
        return own
    if inherited is not None:
        return inherited
    return fallback
