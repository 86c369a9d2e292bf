"""What the router costs per call: `python -m benchmarks.router_overhead [--calls 20000] [--json]`.

- Router overhead over calling `invoke` directly, sync and async (targets: at most 10 µs and 20 µs),
  best of several runs of `--calls` calls each, on a five-model pool.
- The same with the Redis health store on a real `redis-server` started on a free loopback port
  (skipped when there is no server binary), and the round trips to Redis per call (target: one).
- 200 concurrent `acall`s with `AsyncOpenAIClient` against a loopback provider that fails every
  other request with a 500: wall time, and that every call was served.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from modelreg.runtime import AsyncOpenAIClient, BreakerPolicy, RetryPolicy, Router, SnapshotModel, SnapshotRegistry
from tests.runtime.conftest import model, registry
from tests.runtime.redis_server import RedisServer

REPEATS = 7


def five_models(base_url: str = "https://api.example.test/v1") -> SnapshotRegistry:
    return registry([model(f"acme/m{i}", priority=i) for i in range(5)], base_url=base_url)


def sync_overhead(router: Router, calls: int) -> float:
    """Seconds per call the router adds over `invoke(model)` (best of REPEATS)."""
    chosen = router.candidates("chat")[0]

    def invoke(picked: SnapshotModel) -> SnapshotModel:
        return picked
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(calls):
            invoke(chosen)
        direct = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(calls):
            router.call("chat", invoke)
        best = min(best, (time.perf_counter() - start - direct) / calls)
    return best


def async_overhead(router: Router, calls: int) -> float:
    chosen = router.candidates("chat")[0]

    async def invoke(picked: SnapshotModel) -> SnapshotModel:
        return picked

    async def measure() -> float:
        best = float("inf")
        for _ in range(REPEATS):
            start = time.perf_counter()
            for _ in range(calls):
                await invoke(chosen)
            direct = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(calls):
                await router.acall("chat", invoke)
            best = min(best, (time.perf_counter() - start - direct) / calls)
        return best
    return asyncio.run(measure())


def redis_figures(calls: int) -> dict[str, Any] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    from modelreg.runtime.redis_store import RedisHealthStore

    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(binary, Path(tmp))
        server.start()
        try:
            store = RedisHealthStore(url=server.url, timeout=1.0)
            trips = [0]
            make_pipeline = store._redis.pipeline

            def counted(*args: Any, **kwargs: Any) -> Any:
                pipe = make_pipeline(*args, **kwargs)
                execute = pipe.execute

                def run(*a: Any, **k: Any) -> Any:
                    trips[0] += 1
                    return execute(*a, **k)
                pipe.execute = run  # type: ignore[method-assign]
                return pipe
            store._redis.pipeline = counted  # type: ignore[method-assign]
            router = Router(five_models(), store=store)
            per_call = sync_overhead(router, max(calls // 10, 500))
            per_call_async = async_overhead(router, max(calls // 10, 500))
            trips[0] = 0
            for _ in range(100):
                router.call("chat", lambda picked: picked)
            # For scale: one bare round trip to the same server with the same client.
            start = time.perf_counter()
            for _ in range(1000):
                store._redis.ping()
            ping = (time.perf_counter() - start) / 1000
            return {"sync_us": per_call * 1e6, "async_us": per_call_async * 1e6,
                    "round_trips_per_call": trips[0] / 100, "ping_us": ping * 1e6}
        finally:
            server.kill()


class _FlakyProvider:
    """An OpenAI-compatible endpoint on asyncio that fails every other request with a 500."""

    def __init__(self) -> None:
        self.count = itertools.count()
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if next(self.count) % 2:
                    body, status = b'{"error": {"message": "boom"}}', b"500 Internal Server Error"
                else:
                    body = json.dumps({"id": "1", "object": "chat.completion", "model": "m", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
                    ).encode()
                    status = b"200 OK"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            writer.close()


def concurrent_flaky(concurrency: int) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        provider = _FlakyProvider()
        url = await provider.start()
        # A breaker that tolerates the provider's 50%: this measures routing under failure, not
        # the breaker (which, at its default rate of 0.5, would rightly take the models out).
        router = Router(five_models(url), policy=RetryPolicy(attempts_per_model=2, backoff_base=0.0),
                        breaker=BreakerPolicy(failure_rate=0.9, consecutive_failures=50))
        client = AsyncOpenAIClient(env={"ACME_API_KEY": "key"})
        try:
            start = time.perf_counter()
            replies = await asyncio.gather(*(router.acall("chat", client.chat([{"role": "user", "content": "Hi"}]))
                                             for _ in range(concurrency)), return_exceptions=True)
            elapsed = time.perf_counter() - start
        finally:
            await client.aclose()
            assert provider.server is not None
            provider.server.close()
        served = sum(1 for reply in replies if isinstance(reply, dict))
        return {"calls": concurrency, "served": served, "seconds": elapsed,
                "requests_sent": next(provider.count)}
    return asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    router = Router(five_models())
    figures: dict[str, Any] = {
        "sync_us": sync_overhead(router, args.calls) * 1e6,
        "async_us": async_overhead(router, args.calls) * 1e6,
        "redis": redis_figures(args.calls),
        "concurrent_flaky": concurrent_flaky(200),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    def show(label: str, value: float, target: float) -> str:
        verdict = "met" if value <= target else "MISSED"
        return f"{label:<34} {value:8.2f} µs   (target at most {target:g} µs: {verdict})"
    print(show("router overhead, sync", figures["sync_us"], 10))
    print(show("router overhead, async", figures["async_us"], 20))
    redis_part = figures["redis"]
    if redis_part is None:
        print("Redis store: skipped (no redis-server binary)")
    else:
        print(f"{'with the Redis store, sync':<34} {redis_part['sync_us']:8.2f} µs")
        print(f"{'with the Redis store, async':<34} {redis_part['async_us']:8.2f} µs")
        print(f"{'Redis round trips per call':<34} {redis_part['round_trips_per_call']:8.2f}     (target at most 1)")
        print(f"{'one bare PING, for scale':<34} {redis_part['ping_us']:8.2f} µs")
    flaky = figures["concurrent_flaky"]
    print(f"200 concurrent acalls, 50% failing: {flaky['served']}/{flaky['calls']} served in "
          f"{flaky['seconds'] * 1000:.0f} ms ({flaky['requests_sent']} requests)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
