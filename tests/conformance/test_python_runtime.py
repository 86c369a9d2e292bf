"""The Python runtime against the conformance fixtures that the TypeScript runtime's tests read too.

Every answer here is recorded in `tests/conformance/fixtures/` (see `generate.py`); the TypeScript
suite (`typescript/test/conformance.test.ts`) checks the same files, so the two runtimes give the
same answers or one of them fails.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from modelreg.runtime import (
    BreakerPolicy,
    CircuitBreaker,
    FailureKind,
    ProviderError,
    RetryPolicy,
    Router,
    RouterEvent,
    RoutingError,
    SnapshotError,
    SnapshotModel,
    SnapshotRegistry,
    classify_error,
    load_snapshot,
)
from modelreg.runtime.errors import UnknownName
from tests.conformance.conftest import FIXTURES, fixture, for_python
from tests.conformance.seeded import seeded_snapshot
from tests.runtime.conftest import FakeClock

ANSWERS = fixture("catalog.answers.json")
SEEDED = fixture("seeded.json")
FILES = fixture("snapshot-files.json")
CLASSIFICATION = fixture("classification.json")
FAILOVER = fixture("failover.json")
HTTP = fixture("http.json")
CASES = {case["name"]: case for case in CLASSIFICATION["cases"]}


@pytest.fixture(scope="module")
def registry() -> SnapshotRegistry:
    return load_snapshot(FIXTURES / ANSWERS["snapshot"])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SnapshotRegistry:
    """The 10,000-model snapshot, generated now from the recorded seed and loaded from a file."""
    base = json.loads((FIXTURES / ANSWERS["snapshot"]).read_bytes())
    snapshot = seeded_snapshot(SEEDED["seed"], SEEDED["models"], base)
    path = tmp_path_factory.mktemp("seeded") / "registry.json"
    path.write_bytes(snapshot.raw)
    return load_snapshot(path)


def summary(model: SnapshotModel) -> dict[str, Any]:
    """A model as the fixtures record it."""
    return {
        "provider": model.provider, "model_id": model.model_id, "capabilities": list(model.capabilities),
        "pools": list(model.pools), "features": sorted(model.features), "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens, "input_modalities": sorted(model.input_modalities),
        "output_modalities": sorted(model.output_modalities), "status": model.status, "priority": model.priority,
        "delivery": model.delivery, "batch": model.batch, "display_name": model.display_name,
        "registered_at": model.registered_at,
    }


def error_record(error: UnknownName) -> dict[str, Any]:
    return {"error": type(error).__name__, "name": error.name, "suggestions": error.suggestions,
            "message": str(error)}


def hashed(names: list[str]) -> dict[str, Any]:
    return {"count": len(names), "first": names[:3],
            "sha256": hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()}


def names(models: tuple[SnapshotModel, ...]) -> list[str]:
    return [m.name for m in models]


def test_version_and_digest(registry: SnapshotRegistry) -> None:
    version = registry.version
    assert registry.digest == ANSWERS["digest"]
    assert {"commit": version.commit, "dirty": version.dirty, "number": version.number, "label": version.label,
            "history": version.history, "format_minor": version.format_minor} == ANSWERS["version"]


def test_every_model(registry: SnapshotRegistry) -> None:
    assert names(registry.list_models()) == ANSWERS["list_models"]
    assert {m.name: summary(m) for m in registry.list_models()} == ANSWERS["models"]
    for name in ANSWERS["models"]:
        model = registry.get_model(name)
        assert model is not None and model.name == name
    for name in ANSWERS["missing_models"]:
        assert registry.get_model(name) is None


def test_every_node_and_alias(registry: SnapshotRegistry) -> None:
    for path, expected in ANSWERS["capabilities"].items():
        assert registry.tree.resolve(path) == expected["path"], path
        assert names(registry.find_by_capability(path)) == expected["pool"], path
        assert list(registry.pool(path)) == expected["pool"], path


@pytest.mark.parametrize("typo", sorted(ANSWERS["unknown_capabilities"]))
def test_unknown_capability(registry: SnapshotRegistry, typo: str) -> None:
    for lookup in (registry.find_by_capability, registry.pool):
        with pytest.raises(UnknownName) as caught:
            lookup(typo)
        assert error_record(caught.value) == ANSWERS["unknown_capabilities"][typo]


def test_every_provider(registry: SnapshotRegistry) -> None:
    assert {p: names(registry.find_by_provider(p)) for p in registry.providers} == ANSWERS["providers"]


@pytest.mark.parametrize("typo", sorted(ANSWERS["unknown_providers"]))
def test_unknown_provider(registry: SnapshotRegistry, typo: str) -> None:
    with pytest.raises(UnknownName) as caught:
        registry.find_by_provider(typo)
    assert error_record(caught.value) == ANSWERS["unknown_providers"][typo]


def test_every_model_id(registry: SnapshotRegistry) -> None:
    assert {i: names(registry.find_by_model_id(i)) for i in ANSWERS["model_ids"]} == ANSWERS["model_ids"]


@pytest.mark.parametrize("case", ANSWERS["candidates"], ids=lambda c: f"{c['capability']}:{json.dumps(c['filters'])}")
def test_candidates(registry: SnapshotRegistry, case: dict[str, Any]) -> None:
    router = Router(registry)
    if "error" in case:
        with pytest.raises(UnknownName) as caught:
            router.candidates(case["capability"], limit=case["limit"], **case["filters"])
        assert error_record(caught.value) == case["error"]
        return
    assert names(router.candidates(case["capability"], limit=case["limit"], **case["filters"])) == case["candidates"]


@pytest.mark.parametrize("case", ANSWERS["explain"], ids=lambda c: f"{c['capability']}:{json.dumps(c['filters'])}")
def test_explain(registry: SnapshotRegistry, case: dict[str, Any]) -> None:
    router = Router(registry)
    if "error" in case:
        with pytest.raises(UnknownName) as caught:
            router.explain(case["capability"], **case["filters"])
        assert error_record(caught.value) == case["error"]
        return
    route = router.explain(case["capability"], **case["filters"])
    assert route.capability == case["path"]
    assert names(route.candidates) == case["candidates"]
    assert [[m.name, why] for m, why in route.excluded] == case["excluded"]
    assert route.pool_size == case["pool_size"]
    assert route.unavailable == ()


@pytest.mark.parametrize("case", for_python(FILES), ids=lambda c: Path(c["file"]).stem)
def test_snapshot_file(case: dict[str, Any]) -> None:
    path = FIXTURES / case["file"]
    options = {"max_bytes": case["max_bytes"]} if "max_bytes" in case else {}
    if case["kind"] is None:
        assert len(load_snapshot(path, **options)) > 0
        return
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(path, **options)
    assert caught.value.kind == case["kind"], str(caught.value)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    if "detail" in case:
        assert message == f"{path}: not a valid snapshot: {case['detail']}"


def test_seeded_digest(seeded: SnapshotRegistry) -> None:
    assert seeded.digest == SEEDED["digest"]
    assert len(seeded) == SEEDED["models"]
    assert hashed(names(seeded.list_models())) == SEEDED["list_models"]


def test_seeded_lookups(seeded: SnapshotRegistry) -> None:
    assert {p: hashed(names(seeded.find_by_capability(p))) for p in SEEDED["pools"]} == SEEDED["pools"]
    assert {p: hashed(names(seeded.find_by_provider(p))) for p in SEEDED["providers"]} == SEEDED["providers"]
    assert {i: names(seeded.find_by_model_id(i)) for i in SEEDED["model_ids"]} == SEEDED["model_ids"]
    sample = {}
    for name in SEEDED["models_sample"]:
        model = seeded.get_model(name)
        assert model is not None
        sample[name] = summary(model)
    assert sample == SEEDED["models_sample"]


def test_seeded_candidates(seeded: SnapshotRegistry) -> None:
    router = Router(seeded)
    for case in SEEDED["candidates"]:
        got = names(router.candidates(case["capability"], limit=case["limit"], **case["filters"]))
        assert {**case, **hashed(got)} == case, case


# -- classification, the breaker, routed calls ------------------------------------------------


def build_error(description: dict[str, Any]) -> BaseException:
    """An exception shaped as the Python clients raise the described one."""
    if description["name"] == "ProviderError":
        return ProviderError(description.get("message", "provider error"), FailureKind(description["kind"]),
                             status=description.get("status"), retry_after=description.get("retry_after"),
                             counts_for_breaker=description.get("counts_for_breaker", True))
    base: type[Exception] = Exception
    for name in reversed(description.get("bases", [])):
        base = type(name, (base,), {})
    error: Exception = type(description["name"], (base,), {})(description.get("message", ""))
    response = SimpleNamespace()
    if "status" in description:
        at = description.get("status_at", "status")
        setattr(response if at.startswith("response.") else error, at.removeprefix("response."), description["status"])
    if "headers" in description:
        headers = {name: email.utils.formatdate(time.time() + value["http_date_in"], usegmt=True)
                   if isinstance(value, dict) else value for name, value in description["headers"].items()}
        holder: Any = response if description.get("headers_at") == "response" else error
        holder.headers = headers
    if vars(response):
        error.response = response  # type: ignore[attr-defined]
    if "body" in description:
        error.body = description["body"]  # type: ignore[attr-defined]
    if "code" in description:
        error.code = description["code"]  # type: ignore[attr-defined]
    if "cause" in description:
        error.__cause__ = build_error(description["cause"])
    return error


def test_default_policies() -> None:
    assert asdict(RetryPolicy()) == CLASSIFICATION["defaults"]["retry"]
    assert asdict(BreakerPolicy()) == CLASSIFICATION["defaults"]["breaker"]


@pytest.mark.parametrize("case", for_python(CLASSIFICATION["cases"]), ids=lambda c: c["name"])
def test_classification(case: dict[str, Any]) -> None:
    failure = classify_error(build_error(case["error"]))
    expect = case["expect"]
    assert (failure.kind.value, failure.counts_for_breaker) == (expect["kind"], expect["counts_for_breaker"])
    if "retry_after_near" in expect:
        assert failure.retry_after is not None and abs(failure.retry_after - expect["retry_after_near"]) <= 2
    else:
        assert failure.retry_after == expect["retry_after"]


@pytest.mark.parametrize("scenario", FAILOVER["breaker"], ids=lambda s: s["name"])
def test_breaker(scenario: dict[str, Any]) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerPolicy(**scenario.get("policy", {})), clock)
    for number, step in enumerate(scenario["steps"]):
        clock.now = step["t"]
        transition: Any = None
        if "record" in step:
            transition = breaker.record(step["record"])
        elif "acquire" in step:
            allowed, transition = breaker.acquire()
            assert allowed is step["allowed"], number
        elif "release" in step:
            breaker.release()
        else:
            for i in range(step["count"]):
                clock.now = step["t"] + i * step["every"]
                breaker.record(i % step["fail_each"] != 0)
        if "state" in step:
            assert breaker.state.value == step["state"], number
        if "transition" in step:
            got = None if transition is None else [state.value for state in transition]
            assert got == step["transition"], number


def _event(event: RouterEvent) -> list[Any]:
    detail = None
    if event.breaker_from is not None and event.breaker_to is not None:
        detail = f"{event.breaker_from.value}->{event.breaker_to.value}"
    elif event.failure is not None:
        detail = event.failure.value
    return [event.kind.value, event.model, detail]


@pytest.mark.parametrize("scenario", FAILOVER["routing"], ids=lambda s: s["name"])
def test_routing(registry: SnapshotRegistry, scenario: dict[str, Any]) -> None:
    clock = FakeClock()
    events: list[RouterEvent] = []
    router = Router(registry, policy=RetryPolicy(**scenario.get("retry", {})),
                    breaker=BreakerPolicy(**scenario.get("breaker", {})), clock=clock, sleep=clock.sleep,
                    random=lambda: scenario.get("random", 0.0), on_event=events.append)
    filters = scenario.get("filters", FAILOVER["filters"])
    for number, call in enumerate(scenario["calls"]):
        clock.now += call.get("advance", 0)
        clock.sleeps.clear()
        events.clear()
        outcomes = {name: list(items) for name, items in call["outcomes"].items()}

        def invoke(model: SnapshotModel, outcomes: dict[str, list[Any]] = outcomes) -> str:
            outcome = outcomes[model.name].pop(0)
            if outcome == "ok":
                return model.name
            if isinstance(outcome, str):
                outcome = {"error": outcome}
            clock.now += outcome.get("takes", 0)
            raise build_error(CASES[outcome["error"]]["error"])

        expect = call["expect"]
        if "candidates" in expect:
            assert [m.name for m in router.candidates(FAILOVER["capability"], **filters)] == expect["candidates"]
        if "result" in expect:
            assert router.call(FAILOVER["capability"], invoke, **filters) == expect["result"], number
        else:
            with pytest.raises(RoutingError) as caught:
                router.call(FAILOVER["capability"], invoke, **filters)
            assert type(caught.value).__name__ == expect["error"], number
            assert [[a.model, a.number, a.outcome] for a in caught.value.attempts] == expect["attempts"], number
        assert clock.sleeps == expect["sleeps"], number
        assert [_event(e) for e in events] == expect["events"], number


# -- loading from a URL -----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """Serves `/<case>/<hops left>` as the `http.json` case of that number says."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        _, case, hops = self.path.split("/")
        serve = HTTP["cases"][int(case)]["serve"]
        if int(hops) > 0:
            self._head(302, 0, {"Location": f"/{case}/{int(hops) - 1}"})
            return
        if serve.get("hang"):
            self.server.stop.wait()
            return
        if "status" in serve:
            self._head(serve["status"], 0)
            return
        body = (FIXTURES / serve["body"]).read_bytes()
        if serve.get("no_length"):
            self.close_connection = True
            self._head(200, None, {"Connection": "close"})
        else:
            self._head(200, len(body))
        if "cut_at" in serve:
            self.wfile.write(body[: serve["cut_at"]])
            self.close_connection = True
            return
        if "drip" in serve:
            for byte in body:
                if self.server.stop.wait(serve["drip"]):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client gave up, as it should
                    return
            return
        self.wfile.write(body)

    def _head(self, status: int, length: int | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stop: threading.Event


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.stop = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


def _refused_url() -> str:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/registry.json"


@pytest.mark.parametrize("number", range(len(HTTP["cases"])), ids=[c["name"] for c in HTTP["cases"]])
def test_load_from_url(server: str, number: int) -> None:
    case = HTTP["cases"][number]
    url = _refused_url() if case["serve"].get("refuse") else f"{server}/{number}/{case['serve'].get('redirects', 0)}"
    options: dict[str, Any] = {"timeout": case.get("timeout", 10.0)}
    if "max_bytes" in case:
        options["max_bytes"] = case["max_bytes"]
    if case["kind"] is None:
        served = json.loads((FIXTURES / case["serve"]["body"]).read_bytes())
        assert load_snapshot(url, **options).digest == served["$digest"]
        return
    started = time.monotonic()
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(url, **options)
    assert caught.value.kind == case["kind"], str(caught.value)
    assert str(caught.value).startswith(url)
    assert time.monotonic() - started < options["timeout"] + 5
