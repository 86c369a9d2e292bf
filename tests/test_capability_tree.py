"""CapabilityTree and CapabilityPool as named, tested classes."""

from __future__ import annotations

import pytest

from modelreg import CapabilityPool, CapabilityTree, Model, UnknownCapability
from modelreg.catalog.yaml_loader import load_yaml
from tests.conftest import BUNDLED, CAPABILITIES


@pytest.fixture
def tree() -> CapabilityTree:
    return CapabilityTree.from_mapping(load_yaml("capabilities.yaml", CAPABILITIES.encode()).data)


def test_parse_lookup_ancestors_descendants(tree: CapabilityTree) -> None:
    assert tree.paths() == ["embedding", "embedding.text-embedding", "generation", "generation.text-completion",
                            "generation.text-generation", "generation.text-generation.code-generation"]
    node = tree.lookup("generation.text-generation.code-generation")
    assert (node.name, node.parent, node.depth) == ("code-generation", "generation.text-generation", 2)
    assert tree.ancestors("generation.text-generation.code-generation") == ["generation.text-generation",
                                                                            "generation"]
    assert tree.descendants("generation") == ["generation.text-generation",
                                              "generation.text-generation.code-generation",
                                              "generation.text-completion"]
    assert tree.descendants("embedding.text-embedding") == []
    assert [r.path for r in tree.roots()] == ["generation", "embedding"]
    assert tree.lookup("generation.text-completion").deprecated == {
        "since": "2024-01-04", "replacement": "generation.text-generation"}


def test_aliases_resolve(tree: CapabilityTree) -> None:
    assert tree.resolve("chat") == "generation.text-generation"
    assert tree.ancestors("chat") == ["generation"]
    assert "chat" in tree and "nope" not in tree


def test_unknown_path_suggests(tree: CapabilityTree) -> None:
    with pytest.raises(UnknownCapability) as info:
        tree.resolve("generaton.text-generation")
    assert str(info.value) == ("unknown capability `generaton.text-generation`; "
                               "did you mean `generation.text-generation`?")
    assert tree.suggest("text-generation")[0] == "generation.text-generation"
    assert tree.suggest("embeding")[0] == "embedding"
    with pytest.raises(UnknownCapability, match=r"^unknown capability `zzz`$"):
        tree.lookup("zzz")


def test_snapshot_round_trip(tree: CapabilityTree) -> None:
    again = CapabilityTree.from_snapshot(tree.to_snapshot(), tree.aliases, tree.features)
    assert again == tree


def test_pool_order_and_retired() -> None:
    def m(name: str, status: str = "active", priority: int = 100) -> Model:
        return Model(name=name, provider="p", capabilities=["x"], lifecycle={"status": status}, priority=priority)

    pool = CapabilityPool("x", [m("p/d", "deprecated", 1), m("p/b", priority=5), m("p/a", priority=5),
                                m("p/r", "retired", 0), m("p/pre", "preview", 50)])
    assert pool.names == ["p/a", "p/b", "p/pre", "p/d"]
    assert len(pool) == 4 and "p/r" not in pool and "p/a" in pool


def test_bundled_tree_is_large_and_grouped() -> None:
    doc = load_yaml("capabilities.yaml", (BUNDLED / "capabilities.yaml").read_bytes())
    bundled = CapabilityTree.from_mapping(doc.data)
    assert len(bundled) >= 25
    assert {r.name for r in bundled.roots()} >= {"generation", "understanding", "embedding", "audio",
                                                  "retrieval", "moderation"}
    for mode in ["chat", "completion", "responses", "embedding", "image_generation", "image_edit",
                 "audio_transcription", "audio_speech", "rerank", "moderation", "video_generation", "realtime",
                 "ocr", "search"]:
        assert bundled.resolve(mode) in bundled.nodes  # every LiteLLM mode names a node
