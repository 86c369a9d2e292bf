"""Runtime speed on a 10,000-model snapshot: `python -m benchmarks.runtime [-n 10000] [--pool 5000]`.

Generates a catalog with `benchmarks.catalog_gen` and compiles it; then reassigns capabilities
(with the compiler's own pool builder) so that `generation.text-generation` holds exactly `--pool`
models, and times, medians over repeated runs:

- load: `SnapshotRegistry.from_bytes` (parse, digest check, every index) against `json.loads` of the
  same bytes (target: at most 1.5x);
- `find_by_capability` (target: under 2 µs);
- the first candidate of the pool with two feature filters (target: under 20 µs);
- the whole ordered candidate list of the pool with two feature filters (target: under 2 ms).

Where LiteLLM is importable it also builds a LiteLLM `Router` with the pool's models as
deployments of one model group and times its construction and `get_available_deployment`,
printing the ratios. LiteLLM is not a dependency; without it that part is skipped.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.catalog_gen import generate_catalog
from modelreg.build.compile import compile_catalog
from modelreg.build.snapshot import Snapshot
from modelreg.models import Model as CompilerModel
from modelreg.resolve.pools import build_pools
from modelreg.runtime import Router, SnapshotRegistry

POOL = "generation.text-generation"
FEATURES = ("tool_calling", "streaming")


def build_snapshot(models: int, pool_size: int, seed: int) -> Snapshot:
    """A compiled `models`-model catalog whose POOL holds exactly `pool_size` models."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "models.d"
        generate_catalog(root, models, seed=seed)
        snapshot = compile_catalog(root)
    tree = snapshot.tree
    under = {POOL, *tree.descendants(POOL)}
    elsewhere = next(p for p in tree.paths() if p not in under and p not in tree.ancestors(POOL)
                     and tree.nodes[p].deprecated is None)
    resolved = [CompilerModel.from_snapshot(rec) for rec in snapshot.document["models"].values()]
    live = [m for m in resolved if m.status != "retired"]
    rng = random.Random(seed)
    members = {m.name for m in rng.sample(live, min(pool_size, len(live)))}
    for m in resolved:
        kept = [c for c in m.capabilities if c not in under]
        if m.name in members:
            m.capabilities = sorted({*kept, POOL})
        else:
            m.capabilities = kept or [elsewhere]
    pools = build_pools(tree, resolved)
    document = {k: v for k, v in snapshot.document.items() if k != "$digest"}
    document["models"] = {m.name: m.to_snapshot() for m in sorted(resolved, key=lambda m: m.name)}
    document["pools"] = {path: pool.names for path, pool in pools.items()}
    return Snapshot.from_document(document)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds for one call; the result is dropped after the clock stops."""
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def per_call(fn: Callable[[], Any], number: int, repeat: int = 7) -> float:
    """Median seconds per call over `repeat` batches of `number` calls."""
    return statistics.median(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def verdict(value: float, limit: float) -> str:
    return "ok" if value <= limit else "OVER TARGET"


def bench_runtime(raw: bytes, repeat: int) -> tuple[SnapshotRegistry, dict[str, float]]:
    # Nothing big is alive while loads are timed, as in a service starting up: a large live heap
    # would slow json.loads (whose collector passes scan it) more than the loader (which pauses them).
    gc.collect()
    parse, paused, load, settled = [], [], [], []
    for _ in range(repeat):  # interleaved, so drift in machine load hits all alike
        parse.append(timed(lambda: json.loads(raw)))
        gc.disable()
        paused.append(timed(lambda: json.loads(raw)))
        gc.enable()
        load.append(timed(lambda: SnapshotRegistry.from_bytes(raw)))
        # The loader pauses the collector; the young-generation pass it defers runs at the caller's
        # next allocation. Count it too, for the whole cost of a load.
        settled.append(timed(lambda: (SnapshotRegistry.from_bytes(raw), gc.collect(0))))
    results = {"json.loads": statistics.median(parse), "json.loads paused": statistics.median(paused),
               "load": statistics.median(load), "load settled": statistics.median(settled)}
    registry = SnapshotRegistry.from_bytes(raw)

    paths = [*registry.tree.paths(), *registry.tree.aliases]
    cycle = iter(paths * 100_000)
    find = registry.find_by_capability
    results["find_by_capability"] = per_call(lambda: find(next(cycle)), number=100_000)

    router = Router(registry)
    pool_size = len(registry.find_by_capability(POOL))
    results["pool"] = pool_size
    results["first"] = per_call(lambda: router.candidates(POOL, features=FEATURES, limit=1), number=20_000)
    results["whole"] = per_call(lambda: router.candidates(POOL, features=FEATURES), number=50)
    results["whole_count"] = len(router.candidates(POOL, features=FEATURES))
    results["whole_unfiltered"] = per_call(lambda: router.candidates(POOL), number=50)
    return registry, results


def bench_litellm(registry: SnapshotRegistry, repeat: int) -> dict[str, float] | None:
    # Read the bundled price map instead of fetching it over the network at import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        from litellm import Router as LiteLLMRouter  # type: ignore[import-not-found,attr-defined,unused-ignore]
    except ImportError:
        return None
    model_list = [
        {"model_name": POOL,
         "litellm_params": {"model": f"openai/{m.model_id}", "api_key": "sk-benchmark",
                            "api_base": (m.endpoint.api_base if m.endpoint else None) or "http://127.0.0.1:9/v1"},
         "model_info": {"id": m.name}}
        for m in registry.find_by_capability(POOL)
    ]
    start = time.perf_counter()
    router = LiteLLMRouter(model_list=model_list)
    construct = time.perf_counter() - start
    messages = [{"role": "user", "content": "hello"}]
    calls = [timed(lambda: router.get_available_deployment(model=POOL, messages=messages))
             for _ in range(max(repeat, 5))]
    return {"construct": construct, "deployments": len(model_list), "get": statistics.median(calls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--models", type=int, default=10_000)
    parser.add_argument("--pool", type=int, default=5_000, help=f"members of {POOL} (default 5000)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM comparison")
    args = parser.parse_args()

    raw = build_snapshot(args.models, args.pool, args.seed).raw
    registry, r = bench_runtime(raw, args.repeat)
    ratio = r["load"] / r["json.loads"]
    print(f"snapshot: {len(registry)} models, {len(raw) / 1e6:.1f} MB, {len(registry.tree)} capability nodes")
    strict = r["load"] / r["json.loads paused"]
    print(f"json.loads of the bytes:            {ms(r['json.loads'])}")
    print(f"load (parse + digest + indexes):    {ms(r['load'])}  ratio {ratio:.2f}  "
          f"(target <= 1.50: {verdict(ratio, 1.5)})")
    # The loader pauses the garbage collector while it parses; against json.loads paused alike:
    print(f"json.loads, collector paused:       {ms(r['json.loads paused'])}  load ratio {strict:.2f}")
    settled = r["load settled"] / r["json.loads"]
    print(f"load + the collection it defers:    {ms(r['load settled'])}  ratio {settled:.2f}")
    print(f"find_by_capability:                 {us(r['find_by_capability'])}  "
          f"(target < 2 µs: {verdict(r['find_by_capability'], 2e-6)})")
    print(f"first candidate, 2 feature filters: {us(r['first'])}  "
          f"(target < 20 µs: {verdict(r['first'], 20e-6)})")
    print(f"whole list of a {int(r['pool']):,}-model pool, 2 feature filters ({int(r['whole_count']):,} "
          f"pass): {ms(r['whole'])}  (target < 2 ms: {verdict(r['whole'], 2e-3)})")
    print(f"whole list of the same pool, unfiltered: {ms(r['whole_unfiltered'])}")

    lite = None if args.no_litellm else bench_litellm(registry, args.repeat)
    if lite is None:
        print("LiteLLM: not installed (or --no-litellm); comparison skipped")
        return
    deployments = int(lite["deployments"])
    print(f"LiteLLM Router({deployments:,} deployments) construction: {lite['construct']:.2f} s  "
          f"vs modelreg load of all {len(registry):,} models {ms(r['load'])}: "
          f"{lite['construct'] / r['load']:,.0f}x faster")
    print(f"LiteLLM get_available_deployment ({deployments:,}-deployment group): {ms(lite['get'])}  "
          f"vs first candidate {us(r['first'])}: {lite['get'] / r['first']:,.0f}x faster; "
          f"vs whole ordered list {ms(r['whole'])}: {lite['get'] / r['whole']:,.0f}x faster")


if __name__ == "__main__":
    main()
