"""Resolution: a model definition plus its provider's defaults becomes a `Model`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compiler.capability_tree import CapabilityTree
from compiler.models import DEFAULT_PRIORITY, MERGED_FIELDS, Model, ModelDefinition


def resolve_model(
    definition: ModelDefinition, provider: Mapping[str, Any], tree: CapabilityTree, source: str
) -> Model:
    """Merge provider defaults into a definition (the model's values win, key by key for
    mapping fields) and turn capability aliases into canonical paths.

    The definition must already have passed validation: unknown capabilities raise.
    """
    defaults: Mapping[str, Any] = provider.get("defaults") or {}
    merged: dict[str, dict[str, Any]] = {}
    for name in MERGED_FIELDS:
        value = dict(defaults.get(name) or {})
        value.update(getattr(definition, name))
        merged[name] = value
    merged["lifecycle"].setdefault("status", "active")
    capabilities = sorted({tree.resolve(c) for c in definition.capabilities})
    prefix = definition.provider + "/"
    return Model(
        name=definition.name,
        provider=definition.provider,
        capabilities=capabilities,
        delivery=_pick(definition.delivery, defaults.get("delivery"), "sync"),
        batch=_pick(definition.batch, defaults.get("batch"), False),
        model_id=definition.model_id or definition.name.removeprefix(prefix),
        display_name=definition.display_name,
        description=definition.description,
        priority=_pick(definition.priority, defaults.get("priority"), DEFAULT_PRIORITY),
        extensions=dict(definition.extensions),
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
