"""The capability router: ordered candidates for a request, and calls that fail over down the pool.

`Router.candidates` filters a capability's precomputed pool (features by bitmask, context window,
modalities, lifecycle, providers) without walking anything. `Router.call` and `Router.acall` try
the candidates in order; both drive one decision procedure, `Router._plan`, a generator that
yields what to do next (call this model, wait this long) and receives what happened. `_Run` steps
it for both, so the sync and async variants differ only in how they sleep and invoke, and cannot
drift apart. Standard library only.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypedDict, TypeVar, Unpack

from .breaker import BreakerPolicy, BreakerState, Transition
from .classify import Failure, classify_error
from .errors import (
    AllCandidatesFailed,
    Attempt,
    DeadlineExceeded,
    FailureKind,
    NoCandidates,
    RequestRejected,
    RoutingError,
    StreamInterrupted,
)
from .failover import LOG_LEVELS, EventKind, RetryPolicy, RouterEvent, log_event
from .health import HealthStore, Limits, LocalHealthStore, usage_tokens
from .log import logger
from .snapshot_registry import SnapshotModel, SnapshotRegistry

T = TypeVar("T")

_ROUTABLE = frozenset({"active", "preview", "deprecated"})
_DEADLINE: contextvars.ContextVar[tuple[float, Callable[[], float]] | None] = contextvars.ContextVar(
    "modelreg_deadline", default=None)


async def _async_sleep(seconds: float) -> None:
    import asyncio  # here, not at the top: a synchronous service never loads it

    await asyncio.sleep(seconds)


def remaining_time() -> float | None:
    """Seconds left before the deadline of the routed call running now; None outside one.

    Adapters use it to bound their own timeouts, so one slow model cannot eat the whole chain.
    """
    current = _DEADLINE.get()
    if current is None:
        return None
    deadline, clock = current
    return deadline - clock()


class RegistrySource(Protocol):
    """A `SnapshotRegistry`, or a `SnapshotWatcher` whose `current` registry changes on reload."""

    @property
    def current(self) -> SnapshotRegistry: ...


class Filters(TypedDict, total=False):
    """What a request needs from a model; every filter applies to every candidate.

    Where a filter takes names, a single string is one name: `features="vision"` means
    `features={"vision"}`, never the letters of the word.
    """

    features: str | Iterable[str] | Mapping[str, bool]
    """Features the model must have; in a mapping, `False` means it must not have the feature."""
    min_context: int | None
    """Smallest context window, in tokens; a model that does not declare one does not qualify."""
    min_output_tokens: int | None
    input_modalities: str | Iterable[str]
    output_modalities: str | Iterable[str]
    providers: str | Iterable[str] | None
    """Allow list: only these providers."""
    exclude_providers: str | Iterable[str]
    exclude_models: str | Iterable[str]
    include_deprecated: bool
    """Deprecated models come last; False leaves them out."""
    include_preview: bool


@dataclass(frozen=True, slots=True)
class _Request:
    """Filters compiled against one registry."""

    want: int
    refuse: int
    want_names: frozenset[str]
    refuse_names: frozenset[str]
    min_context: int
    min_output: int
    inputs: frozenset[str]
    outputs: frozenset[str]
    allow: frozenset[str] | None
    deny: frozenset[str]
    deny_models: frozenset[str]
    statuses: frozenset[str]


@dataclass(frozen=True, slots=True)
class Route:
    """A routing decision explained: the ordered candidates and why every other pool member is out."""

    capability: str
    """The canonical path (an alias resolved)."""
    candidates: tuple[SnapshotModel, ...]
    excluded: tuple[tuple[SnapshotModel, str], ...]
    pool_size: int
    unavailable: tuple[tuple[SnapshotModel, str], ...] = ()
    """Candidates the router would skip right now, and why: circuit open, or at a limit."""


@dataclass(slots=True)  # made once per attempt: a frozen one costs twice as much to build
class _Invoke:
    model: SnapshotModel
    deadline: float


@dataclass(slots=True)
class _Sleep:
    seconds: float


@dataclass(slots=True)
class _Outcome:
    value: Any = None
    error: Exception | None = None


_Plan = Generator[_Invoke | _Sleep, _Outcome | None, Any]
_NOTHING: Any = object()


class _Run:
    """Drives a `_plan` for `call` and `acall`, which differ only in how they sleep and invoke.

    Iterating yields the plan's next action, after handing it the outcome of the attempt before;
    when the plan is done, `result` holds its value (a failed plan raises from the iteration).
    Use it in a `with` block: leaving early (an exception, a cancelled task) closes the plan, so
    it frees a breaker's probe slot it had taken.
    """

    def __init__(self, plan: _Plan, clock: Callable[[], float]) -> None:
        self._plan = plan
        self.clock = clock
        self.outcome: _Outcome | None = None
        """What the plan gets at the next step: the last attempt's outcome, None after a sleep."""
        self.result: Any = None

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self._plan.close()

    def __iter__(self) -> Iterator[_Invoke | _Sleep]:
        return self

    def __next__(self) -> _Invoke | _Sleep:
        outcome, self.outcome = self.outcome, None
        try:
            return self._plan.send(outcome)
        except StopIteration as done:
            self.result = done.value
            raise StopIteration from None

    def attempt(self, action: _Invoke) -> _Attempting:
        """A `with` block around one invoke: the deadline is visible to `remaining_time()` inside,
        and the block's value, or its exception, becomes the outcome the plan gets next."""
        return _Attempting(self, action.deadline)


class _Attempting:
    __slots__ = ("_run", "_token", "deadline", "value")

    def __init__(self, run: _Run, deadline: float) -> None:
        self._run = run
        self.deadline = deadline
        self.value: Any = None

    def time_left(self) -> float:
        return max(0.0, self.deadline - self._run.clock())

    def __enter__(self) -> _Attempting:
        self._token = _DEADLINE.set((self.deadline, self._run.clock))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        _DEADLINE.reset(self._token)
        if exc is None:
            self._run.outcome = _Outcome(value=self.value)
            return False
        if isinstance(exc, Exception):  # a failed attempt; cancellation and exits pass through
            self._run.outcome = _Outcome(error=exc)
            return True
        return False


class Router:
    """Routes requests for a capability to the models of its pool, failing over in pool order.

    `source` is a `SnapshotRegistry` or a `SnapshotWatcher` (each call reads its current registry once, so
    a reload never splits a call between two snapshots). Circuit breakers are per model name and
    survive reloads; they live in `store`, this process's memory by default, or Redis
    (`modelreg.runtime.redis_store.RedisHealthStore`) to share them across replicas.

    `classify(error)` decides what a failure means (default `classify_error`). `limits` maps model
    names to `Limits` (requests and tokens per minute), over the `limits.rpm`/`limits.tpm` the
    catalog declares; a model at its limit is skipped as if its circuit were open. `tokens(result)`
    reads the tokens a call used, for `tpm` (default: the result's `usage`). `spread=True` takes
    models of equal priority in turn instead of always the first; the default is pool order.
    `clock`, `sleep`, `async_sleep` and `random` are injectable for tests.
    """

    def __init__(
        self,
        source: RegistrySource,
        *,
        policy: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        classify: Callable[[BaseException], Failure] = classify_error,
        on_event: Callable[[RouterEvent], None] | None = None,
        store: HealthStore | None = None,
        limits: Mapping[str, Limits] | None = None,
        tokens: Callable[[Any], int | None] = usage_tokens,
        spread: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = _async_sleep,
        random: Callable[[], float] = random.random,
    ) -> None:
        self._source = source
        self.policy = policy or RetryPolicy()
        self.breaker_policy = breaker or BreakerPolicy()
        self._classify = classify
        self._on_event = on_event
        self._clock = clock
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._random = random
        self._store: HealthStore = store if store is not None else LocalHealthStore(self.breaker_policy, clock=clock)
        self._limit_overrides = dict(limits or {})
        self._limits_fn: tuple[SnapshotRegistry | None, Callable[[SnapshotModel], Limits | None]] = (
            None, lambda model: None)
        self._tokens = tokens
        self._spread = spread
        self._turns: dict[tuple[str, int], int] = {}
        self._turns_lock = threading.Lock()
        self._plain: tuple[SnapshotRegistry | None, dict[str, tuple[SnapshotModel, ...]]] = (None, {})

    @property
    def store(self) -> HealthStore:
        """Where breaker state and request budgets live."""
        return self._store

    @property
    def registry(self) -> SnapshotRegistry:
        """The registry that the next call will use."""
        return self._source.current

    # -- candidates -------------------------------------------------------------------------

    def candidates(self, capability: str, *, limit: int | None = None,
                   **filters: Unpack[Filters]) -> tuple[SnapshotModel, ...]:
        """The models that can serve `capability` (path or alias) under `filters`, in the order the
        router tries them: pool order, deprecated models last, retired never.

        Raises UnknownCapability, UnknownFeature or UnknownProvider for names the snapshot lacks.
        """
        registry = self._source.current
        return self._select(registry.find_by_capability(capability), self._compile(registry, filters), limit)

    def explain(self, capability: str, **filters: Unpack[Filters]) -> Route:
        """The candidates plus, for every other member of the pool, the reason it is out."""
        registry = self._source.current
        pool = registry.find_by_capability(capability)
        request = self._compile(registry, filters)
        chosen = self._select(pool, request, None)
        picked = set(chosen)
        excluded = tuple((m, _why_not(m, request) or "not selected") for m in pool if m not in picked)
        limits = self._limits_for(registry)
        unavailable = tuple((m, why) for m in chosen if (why := self._store.blocked(m.name, limits(m))))
        return Route(registry.tree.resolve(capability), chosen, excluded, len(pool), unavailable)

    def breaker_state(self, model: str) -> BreakerState:
        """The circuit state of one model (closed if it was never called)."""
        return self._store.state(model)

    def limits(self, model: SnapshotModel) -> Limits | None:
        """The request budget the router holds `model` to: the catalog's, or the one given."""
        return self._limits_for(self._source.current)(model)

    def _limits_for(self, registry: SnapshotRegistry) -> Callable[[SnapshotModel], Limits | None]:
        found = self._limits_fn
        if found[0] is registry:
            return found[1]
        # A new snapshot (a reload): the catalog's limits may have changed.
        cache: dict[str, Limits | None] = {}
        overrides = self._limit_overrides

        def limits_of(model: SnapshotModel) -> Limits | None:
            name = model.name
            try:
                return cache[name]
            except KeyError:
                pass
            limits = overrides.get(name)
            if limits is None:
                declared = model.limits
                rpm, tpm = declared.get("rpm"), declared.get("tpm")
                limits = Limits(rpm, tpm) if rpm is not None or tpm is not None else None
            cache[name] = limits
            return limits
        self._limits_fn = (registry, limits_of)
        return limits_of

    @staticmethod
    def _compile(registry: SnapshotRegistry, filters: Filters) -> _Request:
        features = filters.get("features")
        if isinstance(features, Mapping):
            want_names = frozenset(name for name, on in features.items() if on)
            refuse_names = frozenset(name for name, on in features.items() if not on)
        else:
            want_names, refuse_names = _names(features), frozenset()
        allow = filters.get("providers")
        deny = _names(filters.get("exclude_providers"))
        allow_set = None if allow is None else _names(allow)
        for name in (allow_set or frozenset()) | deny:
            registry.find_by_provider(name)  # raises UnknownProvider with a suggestion
        statuses = _ROUTABLE
        if not filters.get("include_deprecated", True):
            statuses = statuses - {"deprecated"}
        if not filters.get("include_preview", True):
            statuses = statuses - {"preview"}
        return _Request(
            want=registry.feature_mask(want_names), refuse=registry.feature_mask(refuse_names),
            want_names=want_names, refuse_names=refuse_names,
            min_context=filters.get("min_context") or 0, min_output=filters.get("min_output_tokens") or 0,
            inputs=_names(filters.get("input_modalities")), outputs=_names(filters.get("output_modalities")),
            allow=allow_set, deny=deny, deny_models=_names(filters.get("exclude_models")),
            statuses=statuses,
        )

    @staticmethod
    def _select(pool: tuple[SnapshotModel, ...], request: _Request, limit: int | None) -> tuple[SnapshotModel, ...]:
        want, refuse = request.want, request.refuse
        min_context, min_output = request.min_context, request.min_output
        inputs, outputs = request.inputs, request.outputs
        allow, deny, deny_models = request.allow, request.deny, request.deny_models
        statuses = request.statuses
        chosen: list[SnapshotModel] = []
        late: list[SnapshotModel] = []
        for model in pool:
            mask = model.feature_mask
            if mask & want != want or mask & refuse:
                continue
            if min_context and (model.context_window or 0) < min_context:
                continue
            if min_output and (model.max_output_tokens or 0) < min_output:
                continue
            if inputs and not inputs <= model.input_modalities:
                continue
            if outputs and not outputs <= model.output_modalities:
                continue
            if allow is not None and model.provider not in allow:
                continue
            if deny and model.provider in deny:
                continue
            if deny_models and model.name in deny_models:
                continue
            status = model.status
            if status not in statuses:
                continue
            if status == "deprecated":
                late.append(model)
                continue
            chosen.append(model)
            if limit is not None and len(chosen) >= limit:
                break
        if late and (limit is None or len(chosen) < limit):
            chosen += late
        return tuple(chosen if limit is None else chosen[:limit])

    # -- calls ------------------------------------------------------------------------------

    def call(self, capability: str, invoke: Callable[[SnapshotModel], T], *, policy: RetryPolicy | None = None,
             deadline: float | None = None, **filters: Unpack[Filters]) -> T:
        """Call `invoke(model)` on the candidates in order until one succeeds; return its result.

        Failures are classified (see `classify_error`): transient ones retry the same model with
        backoff, model-specific ones fail over at once, an invalid request stops at once
        (`RequestRejected`). Raises `NoCandidates` when no model passes the filters,
        `DeadlineExceeded` or `AllCandidatesFailed` (listing every attempt) when none succeeds.
        During `invoke`, `remaining_time()` gives the seconds left before the deadline.
        """
        run = _Run(self._start(capability, policy, deadline, filters), self._clock)
        with run:
            for action in run:
                if isinstance(action, _Sleep):
                    self._sleep(action.seconds)
                    continue
                with run.attempt(action) as attempt:
                    attempt.value = invoke(action.model)
        result: T = run.result
        return result

    async def acall(self, capability: str, invoke: Callable[[SnapshotModel], Awaitable[T]], *,
                    policy: RetryPolicy | None = None, deadline: float | None = None,
                    **filters: Unpack[Filters]) -> T:
        """The async `call`: same decisions, awaiting `invoke(model)`; the deadline cancels a
        running attempt (it counts as a timeout)."""
        run = _Run(self._start(capability, policy, deadline, filters), self._clock)
        with run:
            for action in run:
                if isinstance(action, _Sleep):
                    await self._async_sleep(action.seconds)
                    continue
                with run.attempt(action) as attempt:
                    attempt.value = await _within(invoke(action.model), attempt.time_left())
        result: T = run.result
        return result

    def stream(self, capability: str, open_stream: Callable[[SnapshotModel], Iterable[T]], *,
               policy: RetryPolicy | None = None, deadline: float | None = None,
               **filters: Unpack[Filters]) -> RoutedStream[T]:
        """Open a stream with failover up to its first chunk, and none after it.

        `open_stream(model)` returns an iterable of chunks. Failures while opening it or before its
        first chunk fail over as in `call`; the returned stream has delivered nothing yet at that
        point. A failure after the first chunk raises `StreamInterrupted` from the stream.
        """
        def first_chunk(model: SnapshotModel) -> tuple[SnapshotModel, Any, Iterator[T]]:
            chunks = iter(open_stream(model))
            try:
                head = next(chunks)
            except StopIteration:
                return model, _NOTHING, chunks
            except BaseException:
                _close(chunks)
                raise
            return model, head, chunks

        model, head, rest = self.call(capability, first_chunk, policy=policy, deadline=deadline, **filters)
        return RoutedStream(model, head, rest)

    async def astream(self, capability: str, open_stream: Callable[[SnapshotModel], AsyncIterable[T]], *,
                      policy: RetryPolicy | None = None, deadline: float | None = None,
                      **filters: Unpack[Filters]) -> AsyncRoutedStream[T]:
        """The async `stream`: `open_stream(model)` returns an async iterable of chunks; failures
        before its first chunk fail over, one after it raises `StreamInterrupted`."""
        async def first_chunk(model: SnapshotModel) -> tuple[SnapshotModel, Any, AsyncIterator[T]]:
            chunks = aiter(open_stream(model))
            try:
                head = await anext(chunks)
            except StopAsyncIteration:
                return model, _NOTHING, chunks
            except BaseException:
                await _aclose(chunks)
                raise
            return model, head, chunks

        model, head, rest = await self.acall(capability, first_chunk, policy=policy, deadline=deadline, **filters)
        return AsyncRoutedStream(model, head, rest)

    def _start(self, capability: str, policy: RetryPolicy | None, deadline: float | None,
               filters: Filters) -> _Plan:
        chosen = policy or self.policy
        if deadline is not None:
            chosen = replace(chosen, deadline=deadline)
        registry = self._source.current
        if filters:
            pool = registry.find_by_capability(capability)
            request = self._compile(registry, filters)
            candidates = self._select(pool, request, None)
        else:
            candidates = self._unfiltered(registry, capability)
        if not candidates:
            pool = registry.find_by_capability(capability)
            request = self._compile(registry, filters)
            error = NoCandidates(capability, [(m.name, _why_not(m, request) or "not selected") for m in pool])
            self._emit(RouterEvent(EventKind.GAVE_UP, capability, None, 0, 0.0, reason="no candidates"))
            raise error
        if self._spread and len(candidates) > 1:
            candidates = self._take_turns(capability, candidates)
        return self._plan(capability, candidates, chosen, self._limits_for(registry))

    def _unfiltered(self, registry: SnapshotRegistry, capability: str) -> tuple[SnapshotModel, ...]:
        """The candidates of a request without filters: the same for every call on one snapshot."""
        cache = self._plain
        if cache[0] is not registry:
            cache = self._plain = (registry, {})
        found = cache[1].get(capability)
        if found is None:
            found = self._select(registry.find_by_capability(capability), self._compile(registry, {}), None)
            cache[1][capability] = found
        return found

    def _take_turns(self, capability: str, candidates: tuple[SnapshotModel, ...]) -> tuple[SnapshotModel, ...]:
        """Rotate each run of equal priority by one more place on every call."""
        ordered: list[SnapshotModel] = []
        start = 0
        while start < len(candidates):
            end = start + 1
            key = (candidates[start].priority, candidates[start].status == "deprecated")
            while end < len(candidates) and (candidates[end].priority,
                                             candidates[end].status == "deprecated") == key:
                end += 1
            run = candidates[start:end]
            if len(run) > 1:
                with self._turns_lock:
                    turn = self._turns.get((capability, start), 0)
                    self._turns[(capability, start)] = turn + 1
                shift = turn % len(run)
                run = run[shift:] + run[:shift]
            ordered += run
            start = end
        return tuple(ordered)

    def _emit(self, event: RouterEvent) -> None:
        log_event(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a broken metrics hook must not fail the request
                logger.warning("router event callback failed", exc_info=True)

    def _plan(self, capability: str, candidates: tuple[SnapshotModel, ...], policy: RetryPolicy,
              limits_of: Callable[[SnapshotModel], Limits | None]) -> _Plan:
        """The decision procedure of `call` and `acall`: yields `_Invoke` and `_Sleep` actions,
        receives each invoke's `_Outcome`, returns the successful value or raises RoutingError."""
        clock = self._clock
        store = self._store
        start = clock()
        deadline = start + policy.deadline
        attempts: list[Attempt] = []
        made = 0
        last_error: Exception | None = None
        on_event = self._on_event
        enabled = logger.isEnabledFor
        # Attempts and successes are debug events: most calls report nothing, and pay nothing for it.
        chatty = on_event is not None or enabled(logging.DEBUG)

        def emit(kind: EventKind, model: str | None = None, **details: Any) -> None:
            if on_event is not None or enabled(LOG_LEVELS[kind]):
                self._emit(RouterEvent(kind, capability, model, made, clock() - start, **details))

        def breaker_moved(model: str, transition: Transition | None) -> None:
            if transition is not None:
                emit(EventKind.BREAKER, model, breaker_from=transition[0], breaker_to=transition[1])

        def give_up(error_type: type[RoutingError], message: str) -> RoutingError:
            emit(EventKind.GAVE_UP, reason=message)
            error = error_type(capability, message, attempts)
            error.__cause__ = last_error
            return error

        for position, model in enumerate(candidates):
            name = model.name
            limits = limits_of(model)
            tries = 0
            while True:
                if clock() >= deadline:
                    raise give_up(DeadlineExceeded, f"deadline of {policy.deadline:g}s expired after "
                                                    f"{made} attempt(s)")
                if made >= policy.max_attempts:
                    raise give_up(AllCandidatesFailed, f"gave up after {made} attempt(s) (max_attempts)")
                admission = store.admit(name, limits)
                if admission.transition is not None:
                    breaker_moved(name, admission.transition)
                if not admission.allowed:
                    attempts.append(Attempt(name, None, "skipped", admission.reason, clock() - start))
                    emit(EventKind.SKIPPED, name, reason=admission.reason)
                    break
                made += 1
                tries += 1
                if chatty:
                    emit(EventKind.ATTEMPT, name)
                try:
                    outcome = yield _Invoke(model, deadline)
                except GeneratorExit:  # the caller was cancelled mid-attempt: free a probe slot
                    store.release(name)
                    raise
                assert outcome is not None
                if outcome.error is None:
                    used = self._tokens(outcome.value) if limits is not None and limits.tpm is not None else None
                    transition = store.record(name, True, used)
                    if transition is not None:
                        breaker_moved(name, transition)
                    if chatty:
                        emit(EventKind.SUCCESS, name)
                    return outcome.value
                last_error = outcome.error
                failure = self._classify(outcome.error)
                if failure.counts_for_breaker:
                    # An invalid request shows the model answering: it is no strike against it.
                    breaker_moved(name, store.record(name, failure.kind is FailureKind.STOP))
                else:
                    store.release(name)
                attempts.append(Attempt(name, made, failure.kind.value, failure.reason, clock() - start))
                emit(EventKind.FAILURE, name, failure=failure.kind, reason=failure.reason)
                if failure.kind is FailureKind.STOP:
                    raise give_up(RequestRejected, f"{name} rejected the request as invalid; "
                                                   "no other model is tried")
                if failure.kind is FailureKind.RETRY and tries < policy.attempts_per_model:
                    wait = failure.retry_after or 0.0
                    delay = max(policy.backoff(tries, self._random()), wait)
                    if wait <= policy.max_retry_after and clock() + delay < deadline:
                        emit(EventKind.RETRY, name, failure=failure.kind, delay=delay)
                        if delay > 0:
                            yield _Sleep(delay)
                        continue
                if position + 1 < len(candidates):
                    emit(EventKind.FAILOVER, name, failure=failure.kind,
                         reason=f"to {candidates[position + 1].name}")
                break
        raise give_up(AllCandidatesFailed, f"all {len(candidates)} candidate(s) failed")


class RoutedStream(Generic[T]):
    """The chunks of a stream that `Router.stream` opened on `model`. Close it (or use `with`)
    when abandoning it early; it closes itself at the end."""

    def __init__(self, model: SnapshotModel, head: Any, rest: Iterator[T]) -> None:
        self.model = model
        self._head = head
        self._rest = rest

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._head is not _NOTHING:
            head: T = self._head
            self._head = _NOTHING
            return head
        try:
            return next(self._rest)
        except StopIteration:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise StreamInterrupted(self.model.name, exc) from exc

    def close(self) -> None:
        self._head = _NOTHING
        _close(self._rest)

    def __enter__(self) -> RoutedStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _within(awaitable: Awaitable[T], seconds: float) -> T:
    """`await awaitable`, cancelled with TimeoutError after `seconds`: what `asyncio.timeout` does,
    with one timer handle and no more, for the router's per-call overhead."""
    import asyncio  # here, not at the top: a synchronous service never loads it

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()
    handle = loop.call_at(loop.time() + seconds, expire)
    try:
        return await awaitable
    except asyncio.CancelledError:
        if expired and task.uncancel() == 0:
            raise TimeoutError(f"no answer within {seconds:.3g}s") from None
        raise
    finally:
        handle.cancel()


class AsyncRoutedStream(Generic[T]):
    """The chunks of a stream that `Router.astream` opened on `model`. Close it (`aclose`, or use
    `async with`) when abandoning it early; it closes itself at the end."""

    def __init__(self, model: SnapshotModel, head: Any, rest: AsyncIterator[T]) -> None:
        self.model = model
        self._head = head
        self._rest = rest

    def __aiter__(self) -> AsyncRoutedStream[T]:
        return self

    async def __anext__(self) -> T:
        if self._head is not _NOTHING:
            head: T = self._head
            self._head = _NOTHING
            return head
        try:
            return await anext(self._rest)
        except StopAsyncIteration:
            await self.aclose()
            raise
        except Exception as exc:
            await self.aclose()
            raise StreamInterrupted(self.model.name, exc) from exc

    async def aclose(self) -> None:
        self._head = _NOTHING
        await _aclose(self._rest)

    async def __aenter__(self) -> AsyncRoutedStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _aclose(iterator: object) -> None:
    close = getattr(iterator, "aclose", None)
    if callable(close):
        await close()


def _close(iterator: object) -> None:
    close = getattr(iterator, "close", None)
    if callable(close):
        close()


def _names(value: str | Iterable[str] | None) -> frozenset[str]:
    """The names a filter gives; a bare string is one name, not a collection of its characters."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


def _why_not(model: SnapshotModel, request: _Request) -> str | None:
    """Why `model` fails `request`, in words; None if it passes. The slow twin of `Router._select`."""
    if model.status not in request.statuses:
        return f"{model.status} models are excluded" if model.status != "retired" else "retired"
    missing = request.want_names - model.features
    if missing:
        return f"lacks feature {', '.join(f'`{f}`' for f in sorted(missing))}"
    unwanted = request.refuse_names & model.features
    if unwanted:
        return f"has unwanted feature {', '.join(f'`{f}`' for f in sorted(unwanted))}"
    if request.min_context and (model.context_window or 0) < request.min_context:
        have = "unknown" if model.context_window is None else f"{model.context_window:,}"
        return f"context window {have} < {request.min_context:,}"
    if request.min_output and (model.max_output_tokens or 0) < request.min_output:
        have = "unknown" if model.max_output_tokens is None else f"{model.max_output_tokens:,}"
        return f"max output tokens {have} < {request.min_output:,}"
    lacking = request.inputs - model.input_modalities
    if lacking:
        return f"no input modality {', '.join(sorted(lacking))}"
    lacking = request.outputs - model.output_modalities
    if lacking:
        return f"no output modality {', '.join(sorted(lacking))}"
    if request.allow is not None and model.provider not in request.allow:
        return f"provider `{model.provider}` is not in the allow list"
    if model.provider in request.deny:
        return f"provider `{model.provider}` is excluded"
    if model.name in request.deny_models:
        return "excluded by name"
    return None


__all__ = ["AsyncRoutedStream", "Filters", "RegistrySource", "Route", "RoutedStream", "Router", "remaining_time"]
