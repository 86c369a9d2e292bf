"""The Redis health store against a real `redis-server`: two router processes share breaker
state and one rpm budget, and routing survives Redis dying mid-run."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from modelreg.runtime import BreakerPolicy, BreakerState, RetryPolicy, Router, SnapshotModel, load_snapshot
from modelreg.runtime.redis_store import RedisHealthStore
from tests.conftest import REPO
from tests.runtime.conftest import model, snapshot_bytes
from tests.runtime.redis_server import RedisServer, redis_binary

POLICY = BreakerPolicy(consecutive_failures=3, open_for=30.0)
NOW = 1_000_020.0  # a wall-clock second well inside its minute


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    instance = RedisServer(redis_binary(), tmp_path)
    instance.start()
    try:
        yield instance
    finally:
        instance.kill()


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "registry.json"
    path.write_bytes(snapshot_bytes([model("acme/a", priority=1, limits={"rpm": 5}), model("acme/b", priority=2)]))
    return path


ROUTER = textwrap.dedent("""\
    import json, sys
    from modelreg.runtime import BreakerPolicy, RetryPolicy, Router, load_snapshot
    from modelreg.runtime.redis_store import RedisHealthStore
    snapshot, url, calls, failing = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "fail"
    # Both processes on one fixed wall clock: one minute's rpm budget, whenever the test runs.
    now = float(sys.argv[5])
    store = RedisHealthStore(url=url, policy=BreakerPolicy(consecutive_failures=3, open_for=30.0), timeout=1.0,
                             clock=lambda: now)
    router = Router(load_snapshot(snapshot), store=store, policy=RetryPolicy(attempts_per_model=1))
    tried = []
    def invoke(model):
        tried.append(model.name)
        if failing and model.name == "acme/a":
            raise ConnectionError("refused")
        return model.name
    served = [router.call("chat", invoke) for _ in range(calls)]
    store.flush()
    print(json.dumps({"served": served, "tried": tried, "state": router.breaker_state("acme/a").value}))
""")


def route_in_a_process(snapshot: Path, url: str, calls: int, mode: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", ROUTER, str(snapshot), url, str(calls), mode, str(NOW)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_two_processes_see_each_others_breaker_openings(server: RedisServer, snapshot: Path) -> None:
    first = route_in_a_process(snapshot, server.url, 3, "fail")
    assert first == {"served": ["acme/b"] * 3, "tried": ["acme/a", "acme/b"] * 3, "state": "open"}
    # The second replica never calls acme/a: the first one's failures opened the circuit for both.
    second = route_in_a_process(snapshot, server.url, 2, "ok")
    assert second == {"served": ["acme/b"] * 2, "tried": ["acme/b"] * 2, "state": "open"}


def test_two_processes_share_one_rpm_budget(server: RedisServer, snapshot: Path) -> None:
    first = route_in_a_process(snapshot, server.url, 3, "ok")
    second = route_in_a_process(snapshot, server.url, 3, "ok")
    # rpm 5 across both: three in the first, two in the second, and the third goes on to acme/b.
    assert first["served"] == ["acme/a"] * 3
    assert second["served"] == ["acme/a", "acme/a", "acme/b"]


def test_the_half_open_probe_is_one_for_the_whole_fleet(server: RedisServer, snapshot: Path) -> None:
    now = [1_000_000.0]
    stores = [RedisHealthStore(url=server.url, policy=POLICY, clock=lambda: now[0], timeout=1.0) for _ in range(2)]
    for _ in range(3):
        stores[0].record("acme/a", False)
    assert [s.state("acme/a") for s in stores] == [BreakerState.OPEN] * 2
    redis.Redis.from_url(server.url).delete("modelreg:open:acme/a")  # as if open_for had passed
    first, second = (s.admit("acme/a", None) for s in stores)
    assert (first.allowed, first.transition) == (True, (BreakerState.OPEN, BreakerState.HALF_OPEN))
    assert (second.allowed, second.reason) == (False, "circuit open")
    assert stores[0].record("acme/a", True) == (BreakerState.HALF_OPEN, BreakerState.CLOSED)
    assert stores[1].admit("acme/a", None).allowed
    assert stores[1].state("acme/a") is BreakerState.CLOSED


def test_routing_goes_on_when_redis_dies_mid_run(server: RedisServer, snapshot: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    ticks = [0.0]
    store = RedisHealthStore(url=server.url, policy=POLICY, timeout=0.05, retry_interval=5.0,
                             monotonic=lambda: ticks[0])
    router = Router(load_snapshot(snapshot), store=store, policy=RetryPolicy(attempts_per_model=1))

    def invoke(chosen: SnapshotModel) -> str:
        return chosen.name
    assert router.call("chat", invoke) == "acme/a" and store.available
    server.kill()
    caplog.set_level(logging.WARNING, logger="modelreg.runtime")
    served = [router.call("chat", invoke) for _ in range(20)]
    assert served == ["acme/a"] * 5 + ["acme/b"] * 15  # the local rpm budget still holds
    warnings = [r.getMessage() for r in caplog.records if "Redis health store" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("the Redis health store is unavailable (")
    assert not store.available
    server.start()  # back, empty: the store loads its scripts again
    assert router.call("chat", invoke) == "acme/b"  # not asked again before the retry interval
    ticks[0] += 5.0
    assert router.call("chat", invoke) == "acme/a"
    assert store.available
