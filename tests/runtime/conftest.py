"""Fixtures of the runtime tests: snapshots built by the compiler's own code, a fake clock and
a fake OpenAI-compatible provider on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from modelreg import snapshot_format
from modelreg.build.snapshot import Snapshot
from modelreg.capability_tree import CapabilityTree
from modelreg.models import Model as CompilerModel
from modelreg.resolve.pools import build_pools
from modelreg.runtime import SnapshotRegistry
from tests.runtime.fake_provider import FakeProvider

TREE: dict[str, Any] = {
    "capabilities": {
        "generation": {"description": "Produce content.", "children": {
            "text-generation": {"description": "Chat.", "aliases": ["chat", "text"], "children": {
                "code-generation": {"description": "Code.", "aliases": ["code"]},
            }},
            "image-generation": {"description": "Images."},
        }},
        "embedding": {"description": "Vectors.", "children": {
            "text-embedding": {"description": "Text vectors.", "aliases": ["embeddings"]},
        }},
    },
    "features": {"tool_calling": "Calls tools.", "vision": "Sees.", "streaming": "Streams.",
                 "json_mode": "JSON.", "reasoning": "Thinks."},
}


def model(name: str, capabilities: Sequence[str] = ("generation.text-generation",), *,
          features: Sequence[str] = (), context: int | None = 128_000, status: str = "active",
          priority: int = 100, inputs: Sequence[str] = ("text",), outputs: Sequence[str] = ("text",),
          model_id: str | None = None, limits: dict[str, int] | None = None) -> CompilerModel:
    """A resolved compiler model; the provider is the part of `name` before the slash."""
    provider = name.split("/", 1)[0]
    return CompilerModel(
        name=name, provider=provider, capabilities=list(capabilities), model_id=model_id or name.split("/", 1)[1],
        features={f: True for f in features},
        limits={**({"context_window": context} if context else {}), **(limits or {})},
        modalities={"input": list(inputs), "output": list(outputs)}, lifecycle={"status": status},
        priority=priority, source=f"{name}.yaml")


def snapshot_bytes(models: Sequence[CompilerModel], *, base_url: str = "https://api.example.test/v1",
                   label: str = "1.gabc", providers: Sequence[str] = (), api: str = "openai") -> bytes:
    """A sealed snapshot of `models`, pools computed by the compiler's `build_pools`."""
    tree = CapabilityTree.from_mapping(TREE)
    pools = build_pools(tree, models)
    names = sorted({m.provider for m in models} | set(providers))
    document = {
        "format": {"name": snapshot_format.FORMAT_NAME, "major": snapshot_format.FORMAT_MAJOR, "minor": 0},
        "version": {"commit": None, "dirty": None, "number": None, "label": label, "history": "none"},
        "capabilities": tree.to_snapshot(),
        "aliases": dict(tree.aliases),
        "features": dict(tree.features),
        "providers": {p: {"name": p, "display_name": p.title(), "api": api, "api_base": base_url,
                          "api_key_env": f"{p.upper()}_API_KEY"} for p in names},
        "models": {m.name: m.to_snapshot() for m in sorted(models, key=lambda m: m.name)},
        "pools": {path: pool.names for path, pool in pools.items()},
    }
    return Snapshot.from_document(document).raw


def registry(models: Sequence[CompilerModel], **kwargs: Any) -> SnapshotRegistry:
    return SnapshotRegistry.from_bytes(snapshot_bytes(models, **kwargs))


class FakeClock:
    """A monotonic clock that only moves when told to, or when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    try:
        yield fake
    finally:
        fake.close()
