"""A large snapshot made from a seed, the same bytes in every language that follows these rules.

The conformance suite checks both runtimes on a 10,000-model snapshot without checking one in:
each test suite generates it at test time from the seed in `fixtures/seeded.json`, checks its
digest against the one recorded there, and then checks the recorded answers. The TypeScript
tests carry a port of this module (`typescript/test/seeded.ts`); the recorded digest holds the
two to the same bytes.

The rules, which a port must follow exactly:
- Random numbers come from xorshift32 (shifts 13, 17, 5) started at the seed; `below(n)` is the
  next number modulo `n`.
- The capability tree (`capabilities`, `aliases`, `features`) is the catalog fixture's.
- Providers `p00`..`p19`. Model `i` (from 0) draws, in this order: its provider, its model ID,
  the number of its capabilities and each of them, a draw per feature of the sorted vocabulary,
  its limits, modalities, status, priority, cost, delivery, batch and registration time (see
  `_model`). Only integers are written: a float's shortest form differs between languages.
- Pools follow the compiler's rule (`modelreg.resolve.pools`), which builds them here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modelreg.build.snapshot import Snapshot
from modelreg.capability_tree import CapabilityTree
from modelreg.models import Model
from modelreg.resolve.pools import build_pools
from modelreg.snapshot_format import FORMAT_MAJOR, FORMAT_NAME

PROVIDERS = 20
_MASK = 0xFFFFFFFF
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_CONTEXT = (8192, 32768, 128000, 200000, 1000000)
_OUTPUT = (4096, 8192, 16384, 65536)
_STATUS = ("retired", "deprecated", "preview", "preview")  # by a draw below 20; `active` above 3


class XorShift32:
    """xorshift32: the one generator every port uses, exact in any language with 32-bit integers."""

    def __init__(self, seed: int) -> None:
        if not 0 < seed <= _MASK:
            raise ValueError("the seed must be a non-zero 32-bit integer")
        self.state = seed

    def next(self) -> int:
        x = self.state
        x ^= (x << 13) & _MASK
        x ^= x >> 17
        x ^= (x << 5) & _MASK
        self.state = x
        return x

    def below(self, n: int) -> int:
        return self.next() % n


def _model(i: int, rng: XorShift32, models: int, nodes: list[str], features: list[str]) -> dict[str, Any]:
    provider = f"p{rng.below(PROVIDERS):02d}"
    model_id = f"m{rng.below(max(1, models // 4)):05d}"
    capabilities: list[str] = []
    for _ in range(1 + rng.below(2)):
        node = nodes[rng.below(len(nodes))]
        if node not in capabilities:
            capabilities.append(node)
    flags: dict[str, bool] = {}
    for name in features:
        draw = rng.below(4)
        if draw:
            flags[name] = draw > 1
    limits: dict[str, int] = {}
    context = rng.below(len(_CONTEXT) + 1)
    if context < len(_CONTEXT):  # one model in six declares no context window
        limits["context_window"] = _CONTEXT[context]
    limits["max_output_tokens"] = _OUTPUT[rng.below(len(_OUTPUT))]
    inputs = ["text"]
    if rng.below(2):
        inputs.append("image")
    if rng.below(4) == 0:
        inputs.append("audio")
    outputs = ["image"] if rng.below(8) == 0 else ["text"]
    draw = rng.below(20)
    status = _STATUS[draw] if draw < len(_STATUS) else "active"
    priority = rng.below(101)
    cost = {"input_per_mtok": rng.below(100), "output_per_mtok": rng.below(400)}
    delivery = "async" if rng.below(10) == 0 else "sync"
    batch = rng.below(5) == 0
    registered = _EPOCH + timedelta(seconds=rng.below(366 * 24 * 3600))
    name = f"{provider}/m{i:05d}"
    return {
        "name": name, "provider": provider, "model_id": model_id, "display_name": f"Model {i}",
        "capabilities": sorted(capabilities), "delivery": delivery, "batch": batch, "features": flags,
        "constraints": {}, "limits": limits, "modalities": {"input": sorted(inputs), "output": outputs},
        "cost": cost, "lifecycle": {"status": status}, "priority": priority, "pools": [],
        "registered_at": registered.isoformat(), "source": f"{name}.yaml",
    }


def seeded_snapshot(seed: int, models: int, base: dict[str, Any]) -> Snapshot:
    """The sealed snapshot of `models` models drawn from `seed`, on the tree of `base` (a snapshot
    document: its `capabilities`, `aliases` and `features`)."""
    rng = XorShift32(seed)
    nodes = sorted(base["capabilities"])
    features = sorted(base["features"])
    records = [_model(i, rng, models, nodes, features) for i in range(models)]
    tree = CapabilityTree.from_snapshot(base["capabilities"], base["aliases"], base["features"])
    resolved = [Model.from_snapshot(record) for record in records]
    pools = build_pools(tree, resolved)
    for record, model in zip(records, resolved, strict=True):
        record["pools"] = list(model.pools)
    providers = {
        f"p{n:02d}": {"name": f"p{n:02d}", "display_name": f"Provider {n}", "api": "openai",
                      "api_base": f"https://api.p{n:02d}.example/v1", "api_key_env": f"P{n:02d}_API_KEY"}
        for n in range(PROVIDERS)
    }
    document = {
        "format": {"name": FORMAT_NAME, "major": FORMAT_MAJOR, "minor": 0},
        "version": {"commit": None, "dirty": None, "number": None, "label": f"seeded-{seed}", "history": "none"},
        "capabilities": base["capabilities"], "aliases": base["aliases"], "features": base["features"],
        "providers": providers,
        "models": {record["name"]: record for record in records},
        "pools": {path: pool.names for path, pool in pools.items()},
    }
    return Snapshot.from_document(document)
