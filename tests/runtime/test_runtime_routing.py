"""Router.candidates and Router.explain: pool order, every filter, lifecycle, and the reasons."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from modelreg import snapshot_format
from modelreg.runtime import (
    EventKind,
    NoCandidates,
    Router,
    RouterEvent,
    SnapshotModel,
    SnapshotRegistry,
    UnknownCapability,
    UnknownFeature,
    UnknownProvider,
)
from tests.runtime.conftest import model, registry, snapshot_bytes

MODELS = [
    model("acme/a", features=["tool_calling", "vision"], context=128_000, priority=10, inputs=["text", "image"]),
    model("acme/b", features=["tool_calling"], context=8_192, priority=20),
    model("beta/c", ["generation.text-generation.code-generation"], features=["tool_calling", "json_mode"],
          context=200_000, priority=5),
    model("beta/d", features=["tool_calling", "vision"], context=1_000_000, status="deprecated", priority=1,
          inputs=["text", "image"]),
    model("beta/e", features=["tool_calling", "vision"], status="retired", priority=1),
    model("acme/p", features=["vision"], context=None, status="preview", priority=50, inputs=["text", "image"],
          outputs=["text", "audio"]),
    model("gamma/embed", ["embedding.text-embedding"]),
]


@pytest.fixture
def router() -> Router:
    return Router(registry(MODELS))


def names(models: tuple[SnapshotModel, ...]) -> list[str]:
    return [m.name for m in models]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, ["beta/c", "acme/a", "acme/b", "acme/p", "beta/d"]),
    ({"features": {"tool_calling", "vision"}}, ["acme/a", "beta/d"]),
    ({"features": {"vision": False}}, ["beta/c", "acme/b"]),
    ({"features": {"tool_calling": True, "json_mode": False}}, ["acme/a", "acme/b", "beta/d"]),
    ({"min_context": 100_000}, ["beta/c", "acme/a", "beta/d"]),
    ({"min_context": 100_000, "features": ["vision"]}, ["acme/a", "beta/d"]),
    ({"input_modalities": ["image"]}, ["acme/a", "acme/p", "beta/d"]),
    ({"output_modalities": ["audio"]}, ["acme/p"]),
    ({"providers": ["beta"]}, ["beta/c", "beta/d"]),
    ({"exclude_providers": ["beta"]}, ["acme/a", "acme/b", "acme/p"]),
    ({"exclude_models": ["acme/a", "beta/c"]}, ["acme/b", "acme/p", "beta/d"]),
    ({"include_deprecated": False}, ["beta/c", "acme/a", "acme/b", "acme/p"]),
    ({"include_preview": False}, ["beta/c", "acme/a", "acme/b", "beta/d"]),
    ({"features": ["reasoning"]}, []),
])
def test_candidates_filter_in_pool_order(router: Router, filters: dict[str, Any], expected: list[str]) -> None:
    assert names(router.candidates("chat", **filters)) == expected


def test_limit_returns_the_first_candidates(router: Router) -> None:
    assert names(router.candidates("chat", features=["vision"], limit=1)) == ["acme/a"]
    assert names(router.candidates("chat", features=["vision"], limit=2)) == ["acme/a", "acme/p"]
    # A deprecated model is a candidate only after every other one.
    assert names(router.candidates("chat", features=["vision"], limit=3)) == ["acme/a", "acme/p", "beta/d"]


def test_deprecated_last_and_retired_never_even_when_the_pool_says_otherwise() -> None:
    document = json.loads(snapshot_bytes(MODELS))
    del document["$digest"]
    document["pools"]["generation.text-generation"] = ["beta/d", "beta/e", "acme/a"]
    raw, _ = snapshot_format.encode(document)
    router = Router(SnapshotRegistry.from_bytes(raw))
    assert names(router.candidates("chat")) == ["acme/a", "beta/d"]
    route = router.explain("chat")
    assert [(m.name, why) for m, why in route.excluded] == [("beta/e", "retired")]


def test_explain_gives_a_reason_for_each_excluded_model(router: Router) -> None:
    route = router.explain("chat", features=["vision"], min_context=100_000, exclude_providers=["beta"])
    assert route.capability == "generation.text-generation"
    assert names(route.candidates) == ["acme/a"]
    assert route.pool_size == 5
    assert [(m.name, why) for m, why in route.excluded] == [
        ("beta/c", "lacks feature `vision`"),
        ("acme/b", "lacks feature `vision`"),
        ("acme/p", "context window unknown < 100,000"),
        ("beta/d", "provider `beta` is excluded"),
    ]


def test_explain_and_candidates_agree_on_every_filter_combination(router: Router) -> None:
    choices: list[list[dict[str, Any]]] = [
        [{}, {"features": ["vision"]}, {"features": {"json_mode": False}}, {"features": ["tool_calling", "vision"]}],
        [{}, {"min_context": 100_000}, {"min_context": 500_000}],
        [{}, {"input_modalities": ["image"]}, {"output_modalities": ["audio"]}],
        [{}, {"providers": ["acme"]}, {"exclude_providers": ["acme"]}, {"exclude_models": ["beta/d"]}],
        [{}, {"include_deprecated": False}, {"include_preview": False}],
    ]
    for combination in itertools.product(*choices):
        filters: dict[str, Any] = {k: v for part in combination for k, v in part.items()}
        for capability in ("generation", "chat", "code", "embeddings"):
            route = router.explain(capability, **filters)
            assert route.candidates == router.candidates(capability, **filters)
            assert len(route.candidates) + len(route.excluded) == route.pool_size
            assert all(why != "not selected" for _, why in route.excluded), (capability, filters, route.excluded)


def test_unknown_names_are_errors_not_empty_lists(router: Router) -> None:
    with pytest.raises(UnknownCapability, match=r"did you mean `generation\.text-generation\.code-generation`"):
        router.candidates("generation.text-generation.code-generaton")
    with pytest.raises(UnknownFeature, match="did you mean `tool_calling`"):
        router.candidates("chat", features=["tool_caling"])
    with pytest.raises(UnknownProvider, match="did you mean `acme`"):
        router.candidates("chat", providers=["acm"])
    with pytest.raises(UnknownProvider, match="did you mean `beta`"):
        router.candidates("chat", exclude_providers=["betta"])


def test_a_single_name_is_one_name_not_its_letters(router: Router) -> None:
    assert names(router.candidates("chat", features="vision")) == ["acme/a", "acme/p", "beta/d"]
    assert names(router.candidates("chat", providers="beta")) == ["beta/c", "beta/d"]
    assert names(router.candidates("chat", exclude_providers="beta")) == ["acme/a", "acme/b", "acme/p"]
    assert names(router.candidates("chat", exclude_models="acme/a")) == ["beta/c", "acme/b", "acme/p", "beta/d"]
    assert names(router.candidates("chat", input_modalities="image")) == ["acme/a", "acme/p", "beta/d"]
    assert names(router.candidates("chat", output_modalities="audio")) == ["acme/p"]
    route = router.explain("code", features="vision")
    assert [(m.name, why) for m, why in route.excluded] == [("beta/c", "lacks feature `vision`")]
    with pytest.raises(UnknownFeature, match=r"^unknown feature `visoin`; did you mean `vision`\?$"):
        router.candidates("chat", features="visoin")
    with pytest.raises(UnknownProvider, match=r"^unknown provider `openai`$"):
        router.candidates("chat", providers="openai")


def test_call_without_candidates_says_why() -> None:
    events: list[RouterEvent] = []
    router = Router(registry(MODELS), on_event=events.append)
    with pytest.raises(NoCandidates) as caught:
        router.call("code", lambda m: m.name, features=["vision"])
    assert str(caught.value) == "code: no model can serve this request (beta/c: lacks feature `vision`)"
    assert [(e.kind, e.reason) for e in events] == [(EventKind.GAVE_UP, "no candidates")]
    with pytest.raises(NoCandidates, match=r"^generation.image-generation: no model can serve this request "
                                           r"\(the pool is empty\)$"):
        router.call("generation.image-generation", lambda m: m.name)
