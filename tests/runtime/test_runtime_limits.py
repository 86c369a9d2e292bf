"""Request budgets (`limits.rpm`/`limits.tpm`, from the catalog or given at runtime), spreading
calls across models of equal priority, and the `classify=` hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelreg.runtime import (
    BreakerState,
    EventKind,
    Failure,
    FailureKind,
    Limits,
    Router,
    RouterEvent,
    SnapshotModel,
    classify_error,
    load_snapshot,
)
from tests.conftest import CHAT, run_cli, write
from tests.runtime.conftest import FakeClock, model, registry


def named(router: Router, name: str) -> SnapshotModel:
    found = router.registry.get_model(name)
    assert found is not None
    return found


def answer(chosen: SnapshotModel) -> dict[str, Any]:
    return {"model": chosen.name, "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}


def test_a_model_at_its_rpm_is_skipped_until_the_minute_turns(clock: FakeClock) -> None:
    events: list[RouterEvent] = []
    models = [model("acme/a", priority=1, limits={"rpm": 2}), model("acme/b", priority=2)]
    router = Router(registry(models), clock=clock, on_event=events.append)
    clock.now = 6000.0  # the start of a minute
    served = [router.call("chat", answer)["model"] for _ in range(3)]
    assert served == ["acme/a", "acme/a", "acme/b"]
    [skipped] = [e for e in events if e.kind is EventKind.SKIPPED]
    assert (skipped.model, skipped.reason) == ("acme/a", "at its limit of 2 requests a minute")
    route = router.explain("chat")
    assert [(m.name, why) for m, why in route.unavailable] == [("acme/a", "at its limit of 2 requests a minute")]
    assert router.limits(named(router, "acme/a")) == Limits(rpm=2)
    clock.advance(60.0)
    assert router.call("chat", answer)["model"] == "acme/a"
    assert router.explain("chat").unavailable == ()


def test_a_tpm_given_at_runtime_counts_the_tokens_answers_used(clock: FakeClock) -> None:
    models = [model("acme/a", priority=1), model("acme/b", priority=2)]
    router = Router(registry(models), clock=clock, limits={"acme/a": Limits(tpm=10)})
    clock.now = 6000.0
    served = [router.call("chat", answer)["model"] for _ in range(3)]
    assert served == ["acme/a", "acme/a", "acme/b"]  # 6 tokens, 12 tokens: at the limit
    assert router.explain("chat").unavailable[0][1] == "at its limit of 10 tokens a minute"


def test_a_refused_attempt_does_not_spend_the_budget(clock: FakeClock) -> None:
    models = [model("acme/a", priority=1, limits={"rpm": 1}), model("acme/b", priority=2)]
    router = Router(registry(models), clock=clock)
    clock.now = 6000.0

    def fails_a(chosen: SnapshotModel) -> str:
        if chosen.name == "acme/a":
            raise TimeoutError("slow")
        return chosen.name
    # The first call spends a's one request of the minute on a failed try; the retry is refused.
    assert router.call("chat", fails_a) == "acme/b"
    assert router.store.usage("acme/a") == (1, 0)  # type: ignore[attr-defined]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rpm must be a positive integer, not 0"):
        Limits(rpm=0)


def test_spread_takes_models_of_equal_priority_in_turn(clock: FakeClock) -> None:
    models = [model("acme/a", priority=1), model("acme/b", priority=1), model("acme/c", priority=1),
              model("acme/d", priority=2)]
    spread = Router(registry(models), clock=clock, spread=True)
    assert [spread.call("chat", answer)["model"] for _ in range(4)] == ["acme/a", "acme/b", "acme/c", "acme/a"]
    # Failover still walks the whole pool, in the rotated order, then the next priority.
    tried: list[str] = []

    def all_fail_but_d(chosen: SnapshotModel) -> str:
        tried.append(chosen.name)
        if chosen.name != "acme/d":
            raise ValueError("nope")
        return chosen.name
    assert spread.call("chat", all_fail_but_d) == "acme/d"
    assert tried == ["acme/b", "acme/c", "acme/a", "acme/d"]
    plain = Router(registry(models), clock=clock)
    assert [plain.call("chat", answer)["model"] for _ in range(3)] == ["acme/a"] * 3


def test_the_catalog_declares_rpm_and_the_snapshot_carries_it(catalog: Path, tmp_path: Path) -> None:
    write(catalog, "acme/chat-large.yaml", CHAT.replace("  context_window: 128000",
                                                        "  context_window: 128000\n  rpm: 500\n  tpm: 90000"))
    out = tmp_path / "registry.json"
    result = run_cli("compile", str(catalog), "-o", str(out))
    assert result.code == 0, result.err
    router = Router(load_snapshot(out))
    assert router.limits(named(router, "acme/chat-large")) == Limits(rpm=500, tpm=90000)
    write(catalog, "acme/chat-large.yaml", CHAT.replace("  context_window: 128000", "  context_window: 1\n  rpm: 0"))
    result = run_cli("validate", str(catalog))
    assert result.code == 1
    assert "acme/chat-large.yaml:9:" in result.out + result.err


def test_a_classify_hook_decides_and_falls_back_on_the_default(clock: FakeClock) -> None:
    class QuotaExhausted(Exception):
        pass

    def classify(error: BaseException) -> Failure:
        if isinstance(error, QuotaExhausted):  # this team's client: out of quota is this model's problem
            return Failure(FailureKind.FAILOVER, "quota exhausted", counts_for_breaker=False)
        return classify_error(error)
    models = [model("acme/a", priority=1), model("acme/b", priority=2)]
    router = Router(registry(models), clock=clock, classify=classify, sleep=clock.sleep, random=lambda: 0.0)
    tries: list[str] = []

    def invoke(chosen: SnapshotModel) -> str:
        tries.append(chosen.name)
        if chosen.name == "acme/a":
            raise QuotaExhausted() if len(tries) == 1 else TimeoutError("slow")
        return chosen.name
    assert router.call("chat", invoke) == "acme/b"
    assert tries == ["acme/a", "acme/b"]  # failed over at once, no retry
    assert router.breaker_state("acme/a") is BreakerState.CLOSED
    tries.clear()
    tries.append("already")  # the next failure of acme/a is a timeout: the default retries it
    assert router.call("chat", invoke) == "acme/b"
    assert tries == ["already", "acme/a", "acme/a", "acme/b"]
