"""The runtime loader: verification, immutable indexes, lookups, agreement with the compiler, and
an import that needs nothing outside the standard library."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelreg.build.compile import compile_catalog
from modelreg.build.snapshot import Snapshot
from modelreg.runtime import (
    SnapshotError,
    SnapshotModel,
    SnapshotRegistry,
    UnknownCapability,
    UnknownFeature,
    UnknownProvider,
    load_snapshot,
    snapshot_format,
)
from tests.conftest import BUNDLED, REPO
from tests.runtime.conftest import model, snapshot_bytes
from tests.runtime.fake_provider import FakeProvider

MODELS = [
    model("acme/chat-large", features=["tool_calling", "vision"], priority=10),
    model("acme/coder", ["generation.text-generation.code-generation"], priority=5),
    model("acme/old", status="deprecated", priority=1),
    model("acme/gone", status="retired"),
    model("beta/embed", ["embedding.text-embedding"], context=None),
]


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    path = tmp_path / "registry.json"
    path.write_bytes(snapshot_bytes(MODELS, label="7.gabcdef"))
    return path


def names(models: tuple[SnapshotModel, ...]) -> list[str]:
    return [m.name for m in models]


def test_loads_a_file_and_answers_every_query(snapshot_file: Path) -> None:
    registry = load_snapshot(snapshot_file)

    assert registry.version.label == "7.gabcdef"
    assert registry.version.digest == json.loads(snapshot_file.read_bytes())["$digest"]
    assert names(registry.list_models()) == ["acme/chat-large", "acme/coder", "acme/gone", "acme/old", "beta/embed"]
    assert len(registry) == 5 and "acme/coder" in registry
    # A node's pool holds the models of every descendant; deprecated last, retired never.
    assert names(registry.find_by_capability("generation")) == ["acme/coder", "acme/chat-large", "acme/old"]
    assert names(registry.find_by_capability("generation.text-generation.code-generation")) == ["acme/coder"]
    assert names(registry.find_by_capability("chat")) == ["acme/coder", "acme/chat-large", "acme/old"]
    assert registry.find_by_capability("chat") == registry.find_by_capability("generation.text-generation")
    assert registry.find_by_capability("generation.image-generation") == ()
    assert registry.pool("code") == ("acme/coder",)
    assert names(registry.find_by_provider("acme")) == ["acme/chat-large", "acme/coder", "acme/gone", "acme/old"]
    chat = registry.get_model("acme/chat-large")
    assert chat is not None and registry.get_model("acme/nope") is None
    assert chat.features == frozenset({"tool_calling", "vision"})
    assert (chat.context_window, chat.status, chat.priority, chat.model_id) == (128_000, "active", 10, "chat-large")
    assert chat.pools == ("generation", "generation.text-generation")
    assert chat.endpoint is not None and chat.endpoint.api_key_env == "ACME_API_KEY"
    assert chat.input_modalities == frozenset({"text"})
    assert chat.lifecycle == {"status": "active"}


def test_lookups_return_the_precomputed_tuples(snapshot_file: Path) -> None:
    registry = load_snapshot(snapshot_file)
    assert registry.find_by_capability("chat") is registry.find_by_capability("generation.text-generation")
    assert registry.find_by_provider("beta") is registry.find_by_provider("beta")


def test_an_unknown_capability_is_an_error_with_a_suggestion(snapshot_file: Path) -> None:
    registry = load_snapshot(snapshot_file)
    with pytest.raises(UnknownCapability) as caught:
        registry.find_by_capability("generation.text-generaton")
    assert str(caught.value) == ("unknown capability `generation.text-generaton`; "
                                 "did you mean `generation.text-generation`?")
    with pytest.raises(UnknownCapability, match=r"did you mean `generation\.text-generation\.code-generation`"):
        registry.pool("code-generation")
    with pytest.raises(UnknownProvider, match=r"^unknown provider `acne`; did you mean `acme`\?$"):
        registry.find_by_provider("acne")
    with pytest.raises(UnknownFeature, match=r"^unknown feature `visoin`; did you mean `vision`\?$"):
        registry.feature_mask(["visoin"])


def test_everything_is_read_only(snapshot_file: Path) -> None:
    registry = load_snapshot(snapshot_file)
    chat = registry.get_model("acme/chat-large")
    assert chat is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        chat.priority = 1  # type: ignore[misc]
    # Python 3.11's frozen slots dataclasses raise TypeError here (a CPython bug), later ones AttributeError.
    with pytest.raises((AttributeError, TypeError)):
        chat.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        chat.limits["context_window"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        registry.version = None  # type: ignore[misc,assignment]
    with pytest.raises(TypeError):
        registry.providers["acme"] = None  # type: ignore[index]
    assert not hasattr(chat, "__dict__")
    assert type(chat) is SnapshotModel and dataclasses.replace(chat) == chat  # the fast loader builds true Models
    # Equal records make equal, hashable models, across loads.
    again = load_snapshot(snapshot_file).get_model("acme/chat-large")
    assert again == chat and hash(again) == hash(chat) and again is not chat


def test_refuses_an_unknown_major_version(tmp_path: Path) -> None:
    document = json.loads(snapshot_bytes(MODELS))
    del document["$digest"]
    document["format"]["major"] = 2
    raw, _ = snapshot_format.encode(document)
    path = tmp_path / "future.json"
    path.write_bytes(raw)
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(path)
    assert str(caught.value) == (f"{path}: snapshot format major version 2 is not supported; this version of "
                                 "modelreg reads major version 1")


def test_refuses_a_truncated_or_tampered_file(tmp_path: Path) -> None:
    raw = snapshot_bytes(MODELS)
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SnapshotError, match="not a JSON snapshot \\(truncated or corrupt\\?\\)"):
        load_snapshot(truncated)
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(raw.replace(b'"priority":10', b'"priority":99', 1))
    with pytest.raises(SnapshotError, match=r"digest mismatch .*it was modified or truncated"):
        load_snapshot(tampered)


def sealed(change: Callable[[dict[str, Any]], object]) -> bytes:
    """The test snapshot with `change` applied to its document, sealed again: its digest holds."""
    document = json.loads(snapshot_bytes(MODELS))
    del document["$digest"]
    change(document)
    return Snapshot.from_document(document).raw


def cycle(document: dict[str, Any]) -> None:
    document["capabilities"]["embedding"]["parent"] = "embedding.text-embedding"
    document["capabilities"]["embedding.text-embedding"]["children"] = ["embedding"]


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d["pools"].pop("generation.image-generation"), "no pool for capability `generation.image-generation`"),
    (lambda d: d["pools"].update({"generation.video": []}),
     "pool for `generation.video`, which is not in the capability tree"),
    (lambda d: d["capabilities"]["generation"]["children"].append("generation.audio"),
     "capability `generation`: its child `generation.audio` is not in the tree"),
    (lambda d: d["capabilities"]["embedding.text-embedding"].update(parent="embeddings"),
     "capability `embedding.text-embedding`: its parent `embeddings` is not in the tree"),
    (lambda d: d["capabilities"]["generation.image-generation"].update(parent="embedding"),
     "capability `generation.image-generation`: its parent `embedding` does not list it as a child"),
    (lambda d: d["capabilities"]["embedding"]["children"].append("generation.image-generation"),
     'capability `embedding`: its child `generation.image-generation` names another parent, "generation"'),
    (cycle, "capability `embedding`: its ancestors form a cycle"),
    (lambda d: d["aliases"].update(chat="generation.chat"),
     'alias `chat` points to "generation.chat", which is not in the tree'),
    (lambda d: d["models"].pop("acme/coder"), 'pool `generation` names "acme/coder", which is not in `models`'),
    (lambda d: d["pools"].update({"generation.image-generation": "acme/coder"}),
     'pool `generation.image-generation` must be an array, not "acme/coder"'),
    (lambda d: d["models"]["acme/chat-large"]["limits"].update(context_window="big"),
     'model `acme/chat-large`: `limits.context_window` must be an integer or null, not "big"'),
    (lambda d: d["models"]["acme/chat-large"]["features"].update(vision="no"),
     'model `acme/chat-large`: `features.vision` must be true or false, not "no"'),
    (lambda d: d["models"]["acme/chat-large"]["modalities"].update(input="text"),
     'model `acme/chat-large`: `modalities.input` must be an array, not "text"'),
    (lambda d: d["models"]["acme/old"]["lifecycle"].update(status=["deprecated"]),
     'model `acme/old`: `lifecycle.status` must be a string, not ["deprecated"]'),
    (lambda d: d["models"]["acme/coder"].update(priority=True), "model `acme/coder`: `priority` must be an integer, "
                                                                "not true"),
    (lambda d: d["models"]["acme/coder"].update(capabilities="generation"),
     'model `acme/coder`: `capabilities` must be an array, not "generation"'),
    (lambda d: d["models"]["acme/old"].pop("limits"), "model `acme/old`: `limits` is missing"),
    (lambda d: d["models"].update({"acme/coder": ["not", "a", "record"]}),
     'model `acme/coder`: the record must be an object, not ["not", "a", "record"]'),
    (lambda d: d["providers"].pop("beta"), "model `beta/embed`: its provider `beta` is not in `providers`"),
    (lambda d: d["providers"]["acme"].update(api_base=8080), "provider `acme`: `api_base` must be a string or null, "
                                                              "not 8080"),
    (lambda d: d["version"].update(label=7), "`version`: `label` must be a string, not 7"),
    (lambda d: d.pop("pools"), "`pools` is missing"),
])
def test_refuses_a_sealed_snapshot_that_contradicts_itself(change: Callable[[dict[str, Any]], object],
                                                           problem: str, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_bytes(sealed(change))
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(path)
    assert str(caught.value) == f"{path}: not a valid snapshot: {problem}"


def test_a_long_value_is_shortened_in_the_message() -> None:
    raw = sealed(lambda d: d["models"]["acme/coder"]["limits"].update(context_window="9" * 100))
    with pytest.raises(SnapshotError) as caught:
        SnapshotRegistry.from_bytes(raw)
    assert str(caught.value) == ("snapshot: not a valid snapshot: model `acme/coder`: `limits.context_window` must be "
                                 f'an integer or null, not "{"9" * 58}…')


def deep_but_sealed() -> bytes:
    """A document nested far deeper than any parser allows, with a correct digest."""
    body = b'"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    digest = hashlib.sha256(b"{" + body).hexdigest().encode()
    return b'{"$digest":"sha256:' + digest + b'",' + body


@pytest.mark.parametrize(("raw", "problem"), [
    (b"[" * 100_000, "not a JSON snapshot (truncated or corrupt?): nested too deeply"),
    (b'{"a":' * 100_000, "not a JSON snapshot (truncated or corrupt?): nested too deeply"),
    (deep_but_sealed(), "not a JSON snapshot (truncated or corrupt?): nested too deeply"),
    (b"<html>502 Bad Gateway</html>", "not a JSON snapshot (truncated or corrupt?): Expecting value: line 1 column 1 "
                                      "(char 0)"),
    (b'{"a": "\xff"}', "not a JSON snapshot (truncated or corrupt?): 'utf-8' codec can't decode byte 0xff in "
                        "position 7: invalid start byte"),
    (b"[1, 2]", "not a snapshot: the top level is not an object"),
    (b'{"models": {}}', "not a modelreg snapshot (no `format` marker `modelreg-registry`)"),
    (json.dumps({"format": {"name": "modelreg-registry", "major": 1, "minor": 0}}).encode(),
     "not in canonical form; the file must start with its `$digest` field"),
])
def test_refuses_garbage_without_escaping_the_error_handling(raw: bytes, problem: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        SnapshotRegistry.from_bytes(raw)
    assert str(caught.value) == f"snapshot: {problem}"


@pytest.mark.parametrize(("major", "shown"), [(2, "2"), ("1", "'1'"), (True, "True"), (1.0, "1.0"), (None, "None")])
def test_refuses_a_major_version_it_does_not_read(major: object, shown: str) -> None:
    raw = sealed(lambda d: d["format"].update(major=major))
    with pytest.raises(SnapshotError) as caught:
        SnapshotRegistry.from_bytes(raw)
    assert str(caught.value) == (f"snapshot: snapshot format major version {shown} is not supported; this version of "
                                 "modelreg reads major version 1")


def test_names_a_future_major_version_even_when_it_seals_itself_differently() -> None:
    # A later format may drop the leading `$digest`: the version is still what the reader is told.
    raw = json.dumps({"format": {"major": 2, "minor": 0, "name": "modelreg-registry"},
                      "signature": "ed25519:c2lnbmVk", "models": {}}, indent=2).encode()
    with pytest.raises(SnapshotError) as caught:
        SnapshotRegistry.from_bytes(raw)
    assert str(caught.value) == ("snapshot: snapshot format major version 2 is not supported; this version of "
                                 "modelreg reads major version 1")


def test_a_good_snapshot_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []
    loads = json.loads

    def counting(raw: bytes) -> Any:
        parsed.append(len(raw))
        return loads(raw)

    monkeypatch.setattr(json, "loads", counting)
    raw = snapshot_bytes(MODELS)
    SnapshotRegistry.from_bytes(raw)
    assert parsed == [len(raw)]


def test_a_large_snapshot_is_hashed_beside_the_parse_with_the_same_verdicts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Every body counts as large: the digest is computed in a second thread.
    monkeypatch.setattr(snapshot_format, "_HASH_IN_THREAD_FROM", 0)
    started = threading.active_count()
    raw = snapshot_bytes(MODELS)
    assert names(SnapshotRegistry.from_bytes(raw).list_models())[0] == "acme/chat-large"
    with pytest.raises(SnapshotError, match=r"^snapshot: digest mismatch .*it was modified or truncated$"):
        SnapshotRegistry.from_bytes(raw.replace(b'"priority":10', b'"priority":99', 1))
    with pytest.raises(SnapshotError, match=r"^snapshot: not a JSON snapshot \(truncated or corrupt\?\)"):
        SnapshotRegistry.from_bytes(raw[: len(raw) // 2])
    future = json.loads(raw)
    future["format"]["major"] = 2
    with pytest.raises(SnapshotError, match="major version 2 is not supported"):
        # Still sealed with the old digest: the version is named before the broken seal.
        SnapshotRegistry.from_bytes(raw[:snapshot_format._BODY_START] + json.dumps(
            {k: v for k, v in future.items() if k != "$digest"}, sort_keys=True,
            separators=(",", ":")).encode()[1:])
    for thread in threading.enumerate():
        if thread.name == "snapshot-digest":
            thread.join()
    assert threading.active_count() == started


def test_a_snapshot_cut_short_over_http_is_refused(provider: FakeProvider) -> None:
    raw = snapshot_bytes(MODELS)
    provider.document = (raw[:1000], '"v1"')
    provider.document_length = len(raw)
    url = provider.root + "/registry.json"
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(url)
    assert str(caught.value) == (f"{url}: the snapshot was not received whole: "
                                 f"IncompleteRead(1000 bytes read, {len(raw) - 1000} more expected)")


def test_record_views_are_made_once_and_are_read_only_throughout() -> None:
    raw = sealed(lambda d: d["models"]["acme/chat-large"].update({"x-team": {"owner": "ml", "tags": ["a"]}}))
    chat = SnapshotRegistry.from_bytes(raw).get_model("acme/chat-large")
    assert chat is not None
    assert chat.record is chat.record
    assert chat.limits is chat.limits is chat.record["limits"]
    assert chat.lifecycle is chat.record["lifecycle"] and chat.cost is chat.record["cost"]
    assert chat.constraints is chat.record["constraints"]
    assert chat.extensions is chat.extensions
    assert chat.extensions == {"x-team": {"owner": "ml", "tags": ("a",)}}
    assert chat.extensions["x-team"] is chat.record["x-team"]
    with pytest.raises(TypeError):
        chat.extensions["x-team"]["owner"] = "web"  # type: ignore[index]
    with pytest.raises(TypeError):
        chat.record["modalities"]["input"] = ["image"]  # type: ignore[index]
    assert chat.record["modalities"]["input"] == ("text",)


@pytest.mark.parametrize("enabled", [True, False], ids=["collector-on", "collector-off"])
@pytest.mark.parametrize("finishes_first", ["one", "two"])
def test_overlapping_loads_leave_the_collector_as_it_was(monkeypatch: pytest.MonkeyPatch, enabled: bool,
                                                         finishes_first: str) -> None:
    raw = snapshot_bytes(MODELS)
    entered = {"one": threading.Event(), "two": threading.Event()}
    release = {"one": threading.Event(), "two": threading.Event()}
    loaded: dict[str, SnapshotRegistry] = {}
    decode = snapshot_format.decode

    def held(data: bytes, *, source: str = "snapshot", body_digest: str | None = None) -> dict[str, Any]:
        entered[source].set()
        assert release[source].wait(10)
        return decode(data, source=source, body_digest=body_digest)

    def load(source: str) -> None:
        loaded[source] = SnapshotRegistry.from_bytes(raw, source=source)

    monkeypatch.setattr(snapshot_format, "decode", held)
    was = gc.isenabled()
    if enabled:
        gc.enable()
    else:
        gc.disable()
    threads = {name: threading.Thread(target=load, args=(name,)) for name in entered}
    try:
        for name, thread in threads.items():
            thread.start()
            assert entered[name].wait(10)
        assert not gc.isenabled()
        finishes_last = "two" if finishes_first == "one" else "one"
        release[finishes_first].set()
        threads[finishes_first].join(10)
        assert finishes_first in loaded
        assert not gc.isenabled(), "the collector stays paused while a load still runs"
        release[finishes_last].set()
        threads[finishes_last].join(10)
        assert set(loaded) == {"one", "two"}
        assert gc.isenabled() is enabled
    finally:
        for event in release.values():
            event.set()
        for thread in threads.values():
            thread.join(10)
        if was:
            gc.enable()
        else:
            gc.disable()


def test_loads_over_http(provider: FakeProvider) -> None:
    raw = snapshot_bytes(MODELS)
    provider.document = (raw, '"v1"')
    registry = load_snapshot(provider.root + "/registry.json")
    assert registry.source == provider.root + "/registry.json"
    assert names(registry.find_by_capability("code")) == ["acme/coder"]


def test_answers_equal_the_compilers_on_the_bundled_catalog() -> None:
    snapshot = compile_catalog(BUNDLED)
    registry = SnapshotRegistry.from_bytes(snapshot.raw)
    tree = snapshot.tree
    assert tree.paths(), "the bundled catalog has a capability tree"
    for path in tree.paths():
        expected = snapshot.pools[path]
        assert names(registry.find_by_capability(path)) == expected, path
        assert list(registry.pool(path)) == expected
        # The pool is the node and all its descendants (the compiler's tree walk), without retired models.
        walked = {name for name, m in snapshot.models.items() if m.status != "retired"
                  and any(c == path or c.startswith(path + ".") for c in m.capabilities)}
        assert set(expected) == walked, path
    for alias, target in tree.aliases.items():
        assert registry.find_by_capability(alias) == registry.find_by_capability(target)
    for name in snapshot.providers:
        expected_names = sorted(n for n, m in snapshot.models.items() if m.provider == name)
        assert names(registry.find_by_provider(name)) == expected_names
    for name, compiled in snapshot.models.items():
        loaded = registry.get_model(name)
        assert loaded is not None
        assert loaded.features == {f for f, on in compiled.features.items() if on}
        assert loaded.context_window == compiled.limits.get("context_window")
        assert (loaded.status, loaded.priority) == (compiled.status, compiled.priority)
        assert list(loaded.pools) == compiled.pools


def test_answers_equal_model_registry_on_the_bundled_catalog() -> None:
    from modelreg.registry import ModelRegistry

    registry = SnapshotRegistry.from_bytes(compile_catalog(BUNDLED).raw)
    compiled = ModelRegistry(BUNDLED, allow_shallow=True)
    assert [m.name for m in compiled.list_models()] == names(registry.list_models())
    for path in [*compiled.tree.paths(), *compiled.tree.aliases]:
        assert names(registry.find_by_capability(path)) == [m.name for m in compiled.find_by_capability(path)], path
    for provider in registry.providers:
        assert names(registry.find_by_provider(provider)) == [m.name for m in compiled.find_by_provider(provider)]
    # By the provider's own ID, as a LiteLLM user thinks of a model: both registries agree.
    for model_id in {m.model_id for m in compiled.list_models()}:
        assert names(registry.find_by_model_id(model_id)) == [m.name for m in compiled.find_by_model_id(model_id)]
    assert names(registry.find_by_model_id("claude-3-5-sonnet-20241022")) == ["anthropic/claude-3-5-sonnet"]
    assert registry.find_by_model_id("nope") == () and compiled.find_by_model_id("nope") == []
    for original in compiled.list_models():
        loaded = registry.get_model(original.name)
        assert loaded is not None and list(loaded.pools) == original.pools and loaded.status == original.status


ISOLATED = r'''
import importlib.abc, os, sys, sysconfig
BLOCKED = {"pydantic", "yaml", "jsonschema", "jsonschema_rs", "git"}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked import of {name}")
        return None

sys.meta_path.insert(0, Blocker())
before = set(sys.modules)
from modelreg.runtime import Router, load_snapshot
registry = load_snapshot(sys.argv[1])
print(",".join(m.name for m in Router(registry).candidates("chat", features={"vision"})))
stdlib = tuple(os.path.realpath(sysconfig.get_paths()[k]) + os.sep for k in ("stdlib", "platstdlib"))
package = os.path.realpath(os.path.dirname(sys.modules["modelreg"].__file__)) + os.sep
for name in sorted(set(sys.modules) - before):
    where = getattr(sys.modules[name], "__file__", None)
    if where is None:
        continue
    where = os.path.realpath(where)
    if not where.startswith(stdlib + (package,)):
        print("third-party:", name, where)
print(" ".join(sorted(n for n in sys.modules if n.split(".")[0] == "modelreg")))
'''


def test_the_runtime_imports_nothing_outside_the_standard_library(snapshot_file: Path) -> None:
    result = subprocess.run([sys.executable, "-c", ISOLATED, str(snapshot_file)], capture_output=True, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONWARNINGS": "error"}, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "acme/chat-large"
    assert not [line for line in lines if line.startswith("third-party:")]
    loaded = set(lines[-1].split())
    assert loaded <= {"modelreg", "modelreg.errors", "modelreg.snapshot_format", "modelreg.capability_tree",
                      "modelreg.gc_pause", "modelreg.bounded_http"} | {
        n for n in loaded if n.startswith("modelreg.runtime")}
    assert "modelreg.runtime.router" in loaded


LOADED_BY_A_FILE_SERVICE = r'''
import sys
from modelreg.runtime import Router, load_snapshot
router = Router(load_snapshot(sys.argv[1]))
print(router.call("chat", lambda model: model.name))
print(" ".join(sorted(n for n in ("asyncio", "http.client", "ssl", "socket", "urllib.error", "email.utils",
                                  "tempfile", "concurrent.futures") if n in sys.modules)))
'''


def test_a_service_that_loads_a_file_and_routes_synchronously_imports_no_http_client_or_asyncio(
        snapshot_file: Path) -> None:
    # What a service pays at start-up: the HTTP client and asyncio load only when a URL or an
    # async call needs them.
    result = subprocess.run([sys.executable, "-c", LOADED_BY_A_FILE_SERVICE, str(snapshot_file)], capture_output=True,
                            text=True, cwd=REPO, env={**os.environ, "PYTHONWARNINGS": "error"}, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["acme/coder", ""]
