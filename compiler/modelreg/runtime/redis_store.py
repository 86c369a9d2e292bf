"""Breaker state and request budgets shared by every replica through Redis (the `redis` extra).

A fleet of routers on one Redis learns once that a model is down and spends one rpm budget. Each
decision is one Lua script, so replicas never race between a read and a write, and an attempt
costs at most one round trip: the outcome of a successful attempt is not sent on its own but
pipelined with the next admission. Failures, which open circuits, go at once.

When Redis is down or slow, routing goes on: every call is bounded by a short socket timeout,
the first failure is logged once, and the store answers from this process's own state until a
retry some time later finds Redis back. `redis` is imported only when this store is made.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .breaker import BreakerPolicy, BreakerState, Transition
from .health import ADMITTED, MINUTE, Admission, Limits, LocalHealthStore
from .log import logger

if TYPE_CHECKING:
    import redis

_BUCKETS = 12
_MAX_PENDING = 1000

# KEYS: open, probe, rpm (this minute), tpm (this minute), tripped
# ARGV: rpm limit, tpm limit (0: none), probe slot ms, rpm key ttl ms
_ADMIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 'circuit open'} end
local probe = 0
if redis.call('EXISTS', KEYS[5]) == 1 then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return {0, 'circuit open'} end
  probe = 1
end
local tpm = tonumber(ARGV[2])
if tpm > 0 and tonumber(redis.call('GET', KEYS[4]) or '0') >= tpm then
  if probe == 1 then redis.call('DEL', KEYS[2]) end
  return {0, 'tpm'}
end
local rpm = tonumber(ARGV[1])
if rpm > 0 then
  local n = redis.call('INCR', KEYS[3])
  if n == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end
  if n > rpm then
    redis.call('DECR', KEYS[3])
    if probe == 1 then redis.call('DEL', KEYS[2]) end
    return {0, 'rpm'}
  end
end
return {1, probe}
"""

# KEYS: stats, run, open, tripped, probe, tpm (this minute)
# ARGV: ok, bucket index, buckets, failure rate, min volume, run limit, open ms, tripped ms,
#       tokens, was the probe, window ms, counts (0: only tokens and the probe slot)
_RECORD = """
local tokens = tonumber(ARGV[9])
if tokens > 0 then
  redis.call('INCRBY', KEYS[6], tokens)
  redis.call('PEXPIRE', KEYS[6], 120000)
end
local ok = ARGV[1] == '1'
if ARGV[10] == '1' then
  redis.call('DEL', KEYS[5])
  if ARGV[12] == '0' then return 'released' end
  if ok then
    redis.call('DEL', KEYS[4], KEYS[1], KEYS[2])
    return 'closed'
  end
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[7])
  return 'reopened'
end
if ARGV[12] == '0' or redis.call('EXISTS', KEYS[3]) == 1 then return 'ignored' end
local index = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 't' .. index, 1)
if not ok then redis.call('HINCRBY', KEYS[1], 'f' .. index, 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[11])
if ok then
  redis.call('SET', KEYS[2], '0', 'PX', ARGV[11])
  return 'ok'
end
local run = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[11])
local fields = redis.call('HGETALL', KEYS[1])
local total, failed, oldest = 0, 0, index - tonumber(ARGV[3]) + 1
for i = 1, #fields, 2 do
  local bucket = tonumber(string.sub(fields[i], 2))
  if bucket < oldest then
    redis.call('HDEL', KEYS[1], fields[i])
  elseif string.sub(fields[i], 1, 1) == 't' then
    total = total + tonumber(fields[i + 1])
  else
    failed = failed + tonumber(fields[i + 1])
  end
end
local volume = tonumber(ARGV[5])
if run >= tonumber(ARGV[6]) or (total >= volume and failed >= math.ceil(tonumber(ARGV[4]) * total - 1e-9)) then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[7])
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[8])
  redis.call('DEL', KEYS[1], KEYS[2])
  return 'opened'
end
return 'ok'
"""

# KEYS: open, tripped, rpm, tpm
_PEEK = """
return {redis.call('EXISTS', KEYS[1]), redis.call('EXISTS', KEYS[2]),
        tonumber(redis.call('GET', KEYS[3]) or '0'), tonumber(redis.call('GET', KEYS[4]) or '0')}
"""

_TRANSITIONS: dict[bytes, Transition] = {
    b"opened": (BreakerState.CLOSED, BreakerState.OPEN),
    b"closed": (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    b"reopened": (BreakerState.HALF_OPEN, BreakerState.OPEN),
}


class RedisHealthStore:
    """A `HealthStore` in Redis, shared by every router that uses the same server and `prefix`.

    Give it a `redis.Redis` client, or a `url`; `timeout` bounds every call to Redis (seconds),
    and after a failure Redis is tried again `retry_interval` seconds later. `clock` is wall
    time, shared by the replicas: it names the minute an rpm budget belongs to.
    """

    def __init__(self, client: redis.Redis | None = None, *, url: str = "redis://127.0.0.1:6379/0",
                 policy: BreakerPolicy | None = None, prefix: str = "modelreg:", timeout: float = 0.05,
                 retry_interval: float = 1.0, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        try:
            import redis
        except ImportError:
            raise ImportError("RedisHealthStore needs redis-py: pip install 'modelreg[redis]'") from None
        if client is None:
            client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._redis = client
        # Looked up once: `_run` is on every attempt's path.
        self._no_script: type[Exception] = redis.exceptions.NoScriptError
        self._unreachable: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError)
        self.policy = policy or BreakerPolicy()
        self._prefix = prefix
        self._clock = clock
        self._monotonic = monotonic
        self._retry_interval = retry_interval
        self._local = LocalHealthStore(self.policy, clock=monotonic)
        self._lock = threading.Lock()
        self._pending: list[tuple[str, bool, int, bool, bool]] = []  # outcomes not sent yet
        self._probing: set[str] = set()
        self._down_until = 0.0
        self._down = False
        self._shas: dict[str, str] = {}
        self._width = self.policy.window / _BUCKETS

    @property
    def available(self) -> bool:
        """Whether the last call to Redis worked."""
        return not self._down

    # -- the HealthStore interface --------------------------------------------------------------

    def admit(self, model: str, limits: Limits | None) -> Admission:
        if self._skip_redis():
            return self._local.admit(model, limits)
        minute = int(self._clock() // MINUTE)
        keys = (self._key("open", model), self._key("probe", model), self._key(f"rpm:{minute}", model),
                self._key(f"tpm:{minute}", model), self._key("tripped", model))
        rpm = limits.rpm if limits and limits.rpm is not None else 0
        tpm = limits.tpm if limits and limits.tpm is not None else 0
        probe_ms = int(max(self.policy.open_for, 5.0) * 1000)
        results = self._run([*self._take_pending(), ("admit", keys, (rpm, tpm, probe_ms, 120_000))])
        if results is None:
            return self._local.admit(model, limits)
        allowed, detail = results[-1]
        if not allowed:
            reason = detail.decode() if isinstance(detail, bytes) else str(detail)
            if reason == "rpm":
                reason = f"at its limit of {rpm:,} requests a minute"
            elif reason == "tpm":
                reason = f"at its limit of {tpm:,} tokens a minute"
            return Admission(False, reason)
        if detail == 1:
            with self._lock:
                self._probing.add(model)
            return Admission(True, "", (BreakerState.OPEN, BreakerState.HALF_OPEN))
        return ADMITTED

    def record(self, model: str, ok: bool, tokens: int | None = None) -> Transition | None:
        local = self._local.record(model, ok, tokens)
        with self._lock:
            probe = model in self._probing
            self._probing.discard(model)
        outcome = (model, ok, tokens or 0, probe, True)
        if ok and not probe:  # the common case: it rides with the next admission
            self._queue(outcome)
            return None
        if self._skip_redis():
            return local
        results = self._run([*self._take_pending(), self._record_call(outcome)])
        if results is None:
            return local
        return _TRANSITIONS.get(results[-1]) if isinstance(results[-1], bytes) else None

    def release(self, model: str, tokens: int | None = None) -> None:
        self._local.release(model, tokens)
        with self._lock:
            probe = model in self._probing
            self._probing.discard(model)
        if probe or tokens:
            self._queue((model, True, tokens or 0, probe, False))

    def state(self, model: str) -> BreakerState:
        peeked = self._peek(model)
        if peeked is None:
            return self._local.state(model)
        is_open, tripped, _, _ = peeked
        if is_open:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN if tripped else BreakerState.CLOSED

    def blocked(self, model: str, limits: Limits | None) -> str:
        peeked = self._peek(model)
        if peeked is None:
            return self._local.blocked(model, limits)
        is_open, _, requests, tokens = peeked
        if is_open:
            return "circuit open"
        if limits and limits.tpm is not None and tokens >= limits.tpm:
            return f"at its limit of {limits.tpm:,} tokens a minute"
        if limits and limits.rpm is not None and requests >= limits.rpm:
            return f"at its limit of {limits.rpm:,} requests a minute"
        return ""

    def flush(self) -> None:
        """Send the outcomes waiting for the next admission now (before a process exits)."""
        pending = self._take_pending()
        if pending and not self._skip_redis():
            self._run(pending)

    # -- Redis ----------------------------------------------------------------------------------

    def _key(self, kind: str, model: str) -> str:
        return f"{self._prefix}{kind}:{model}"

    def _record_call(self, outcome: tuple[str, bool, int, bool, bool]) -> tuple[str, Sequence[str], Sequence[Any]]:
        model, ok, tokens, probe, counts = outcome
        policy = self.policy
        open_ms = int(policy.open_for * 1000)
        window_ms = math.ceil(policy.window * 1000 + self._width * 1000)
        minute = int(self._clock() // MINUTE)
        keys = (self._key("stats", model), self._key("run", model), self._key("open", model),
                self._key("tripped", model), self._key("probe", model), self._key(f"tpm:{minute}", model))
        args = (1 if ok else 0, int(self._clock() // self._width), _BUCKETS, policy.failure_rate, policy.min_volume,
                policy.consecutive_failures, max(open_ms, 1), open_ms + 600_000, tokens, 1 if probe else 0,
                window_ms, 1 if counts else 0)
        return "record", keys, args

    def _queue(self, outcome: tuple[str, bool, int, bool, bool]) -> None:
        with self._lock:
            if len(self._pending) < _MAX_PENDING:
                self._pending.append(outcome)

    def _take_pending(self) -> list[tuple[str, Sequence[str], Sequence[Any]]]:
        with self._lock:
            pending, self._pending = self._pending, []
        return [self._record_call(outcome) for outcome in pending]

    def _peek(self, model: str) -> list[int] | None:
        if self._skip_redis():
            return None
        minute = int(self._clock() // MINUTE)
        keys = (self._key("open", model), self._key("tripped", model), self._key(f"rpm:{minute}", model),
                self._key(f"tpm:{minute}", model))
        results = self._run([("peek", keys, ())])
        return None if results is None else [int(v) for v in results[-1]]

    def _skip_redis(self) -> bool:
        return self._down and self._monotonic() < self._down_until

    def _run(self, calls: Sequence[tuple[str, Sequence[str], Sequence[Any]]]) -> list[Any] | None:
        """Run the scripts in one round trip; None (and local state from then on) when Redis fails."""
        for attempt in (1, 2):
            try:
                if not self._shas:
                    self._load_scripts()
                pipe = self._redis.pipeline(transaction=False)
                for script, keys, args in calls:
                    pipe.execute_command("EVALSHA", self._shas[script], len(keys), *keys, *args)  # type: ignore[no-untyped-call]
                results: list[Any] = pipe.execute()
            except self._no_script:
                self._shas.clear()  # the server restarted, or flushed its scripts: load them again
                if attempt == 2:
                    self._failed("the scripts could not be loaded")
                    return None
                continue
            except self._unreachable as exc:
                self._failed(f"{type(exc).__name__}: {exc}")
                return None
            if self._down:
                self._down = False
                logger.warning("the Redis health store is back; breaker state is shared again")
            return results
        return None

    def _load_scripts(self) -> None:
        for name, source in (("admit", _ADMIT), ("record", _RECORD), ("peek", _PEEK)):
            self._shas[name] = str(self._redis.script_load(source))

    def _failed(self, why: str) -> None:
        self._down_until = self._monotonic() + self._retry_interval
        if not self._down:
            self._down = True
            logger.warning("the Redis health store is unavailable (%s); routing goes on with this process's "
                           "own breaker state", why)
        with self._lock:
            self._pending.clear()
