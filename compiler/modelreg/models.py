"""A model as its file declares it (`ModelDefinition`) and as the registry serves it (`Model`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Key order of a model file as written by `register` and `new`.
FILE_KEY_ORDER = (
    "name", "provider", "model_id", "display_name", "description", "capabilities", "delivery", "batch",
    "features", "constraints", "limits", "modalities", "cost", "lifecycle", "priority",
)
# Mapping-valued fields that provider defaults merge into key by key.
MERGED_FIELDS = ("features", "constraints", "limits", "modalities", "cost", "lifecycle")
STATUS_ORDER = {"active": 0, "preview": 0, "deprecated": 1, "retired": 2, "discovered": 2}
# Statuses that keep a model out of every pool: gone, or found by discovery and not yet placed.
OUT_OF_POOLS = frozenset({"retired", "discovered"})
DEFAULT_PRIORITY = 100


@dataclass
class ModelDefinition:
    """One model as written in `models.d/<provider>/<model>.yaml`.

    Optional fields left as None (or empty) inherit the provider's defaults when resolved.
    """

    name: str
    provider: str
    capabilities: list[str]
    delivery: str | None = None
    batch: bool | None = None
    features: dict[str, bool] = field(default_factory=dict)
    constraints: dict[str, Any] = field(default_factory=dict)
    model_id: str | None = None
    display_name: str | None = None
    description: str | None = None
    limits: dict[str, int] = field(default_factory=dict)
    modalities: dict[str, list[str]] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    lifecycle: dict[str, Any] = field(default_factory=dict)
    priority: int | None = None
    extensions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ModelDefinition:
        """Build a definition from a model file's content (schema-valid)."""
        known = {k: doc[k] for k in FILE_KEY_ORDER if k in doc}
        extensions = {k: v for k, v in doc.items() if k.startswith("x-")}
        return cls(**known, extensions=extensions)

    def to_document(self) -> dict[str, Any]:
        """The content of the model file, in the catalog's key order; unset fields omitted."""
        doc: dict[str, Any] = {}
        for key in FILE_KEY_ORDER:
            value = getattr(self, key)
            if value is None or (isinstance(value, dict) and not value):
                continue
            doc[key] = value
        doc.update(sorted(self.extensions.items()))
        return doc


@dataclass
class Model:
    """A resolved model: provider defaults applied, capabilities canonical, plus derived state."""

    name: str
    provider: str
    capabilities: list[str]
    delivery: str = "sync"
    batch: bool = False
    features: dict[str, bool] = field(default_factory=dict)
    constraints: dict[str, Any] = field(default_factory=dict)
    model_id: str = ""
    display_name: str | None = None
    description: str | None = None
    limits: dict[str, int] = field(default_factory=dict)
    modalities: dict[str, list[str]] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    lifecycle: dict[str, Any] = field(default_factory=lambda: {"status": "active"})
    priority: int = DEFAULT_PRIORITY
    extensions: dict[str, Any] = field(default_factory=dict)
    pools: list[str] = field(default_factory=list)
    registered_at: datetime | None = None
    source: str = ""

    @property
    def status(self) -> str:
        return str(self.lifecycle.get("status", "active"))

    @property
    def in_pools(self) -> bool:
        """Whether the model serves in pools (not retired, not waiting for its capabilities)."""
        return self.status not in OUT_OF_POOLS

    def pool_key(self) -> tuple[int, int, str]:
        """Order within a pool: active and preview, then deprecated; then priority; then name."""
        return (STATUS_ORDER.get(self.status, 0), self.priority, self.name)

    def to_snapshot(self) -> dict[str, Any]:
        """The model as the snapshot stores it."""
        record: dict[str, Any] = {
            "name": self.name,
            "provider": self.provider,
            "model_id": self.model_id,
            "capabilities": list(self.capabilities),
            "delivery": self.delivery,
            "batch": self.batch,
            "features": dict(self.features),
            "constraints": dict(self.constraints),
            "limits": dict(self.limits),
            "modalities": dict(self.modalities),
            "cost": dict(self.cost),
            "lifecycle": dict(self.lifecycle),
            "priority": self.priority,
            "pools": list(self.pools),
            "registered_at": self.registered_at.isoformat() if self.registered_at else None,
            "source": self.source,
        }
        if self.display_name is not None:
            record["display_name"] = self.display_name
        if self.description is not None:
            record["description"] = self.description
        record.update(self.extensions)
        return record

    @classmethod
    def from_snapshot(cls, record: Mapping[str, Any]) -> Model:
        """Rebuild a model from its snapshot record."""
        registered = record.get("registered_at")
        return cls(
            name=record["name"],
            provider=record["provider"],
            capabilities=list(record["capabilities"]),
            delivery=record["delivery"],
            batch=record["batch"],
            features=dict(record["features"]),
            constraints=dict(record["constraints"]),
            model_id=record["model_id"],
            display_name=record.get("display_name"),
            description=record.get("description"),
            limits=dict(record["limits"]),
            modalities=dict(record["modalities"]),
            cost=dict(record["cost"]),
            lifecycle=dict(record["lifecycle"]),
            priority=record["priority"],
            extensions={k: v for k, v in record.items() if k.startswith("x-")},
            pools=list(record["pools"]),
            registered_at=datetime.fromisoformat(registered) if registered else None,
            source=record["source"],
        )
