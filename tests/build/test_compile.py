"""Compiling a valid catalog: resolution, pools, determinism, the snapshot's shape, `show`."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from modelreg import CatalogInvalid, Snapshot, SnapshotError, compile_catalog
from modelreg.schemas import validator
from tests.conftest import CHAT, run_cli, write


def test_compile_writes_snapshot_and_summary(catalog: Path) -> None:
    out = catalog.parent / "build" / "registry.json"
    result = run_cli("compile", "--catalog", str(catalog), "-o", str(out))
    assert result.code == 0, result.err
    snapshot = Snapshot.read(out)
    assert result.out == f"wrote {out}: {snapshot.summary()}\n"
    assert snapshot.summary().startswith("3 models from 1 providers; 6 capability pools (5 non-empty); "
                                         "version unversioned, sha256:")
    validator("snapshot").validate(json.loads(out.read_bytes()))


def test_provider_defaults_merge_and_model_values_win(catalog: Path) -> None:
    models = compile_catalog(catalog).models
    chat = models["acme/chat-large"]
    assert chat.features == {"streaming": True, "tool_calling": True}
    assert chat.limits == {"context_window": 128000}
    assert chat.priority == 10
    assert chat.model_id == "chat-large:2024"
    embed = models["acme/embed-small"]
    assert embed.limits == {"context_window": 8192}
    assert embed.priority == 50
    assert embed.model_id == "embed-small"
    assert embed.delivery == "sync" and embed.batch is False
    assert embed.lifecycle == {"status": "active"}


def test_pools_follow_the_tree_and_order(catalog: Path) -> None:
    write(catalog, "acme/old-chat.yaml", CHAT.replace("acme/chat-large", "acme/old-chat").replace(
        "priority: 10", "priority: 1\nlifecycle:\n  status: deprecated\n  replacement: acme/chat-large"))
    write(catalog, "acme/gone.yaml", CHAT.replace("acme/chat-large", "acme/gone").replace(
        "priority: 10", "lifecycle:\n  status: retired\n  replacement: acme/chat-large"))
    write(catalog, "acme/beta.yaml", CHAT.replace("acme/chat-large", "acme/beta").replace(
        "priority: 10", "priority: 10\nlifecycle:\n  status: preview"))
    snapshot = compile_catalog(catalog)
    # preview and active first (priority, then name), deprecated after, retired never.
    assert snapshot.pools["generation.text-generation"] == [
        "acme/coder", "acme/beta", "acme/chat-large", "acme/old-chat"]
    assert snapshot.pools["generation"] == snapshot.pools["generation.text-generation"]
    assert snapshot.pools["generation.text-generation.code-generation"] == ["acme/coder"]
    assert snapshot.pools["embedding"] == ["acme/embed-small"]
    assert snapshot.pools["generation.text-completion"] == []
    assert snapshot.models["acme/coder"].pools == [
        "generation", "generation.text-generation", "generation.text-generation.code-generation"]
    assert snapshot.models["acme/gone"].pools == []


def test_aliases_resolve_to_canonical_paths(catalog: Path) -> None:
    write(catalog, "acme/chat-large.yaml", CHAT.replace("[generation.text-generation]", "[chat]"))
    snapshot = compile_catalog(catalog)
    assert snapshot.models["acme/chat-large"].capabilities == ["generation.text-generation"]
    assert snapshot.document["aliases"] == {"chat": "generation.text-generation"}


def test_snapshot_is_byte_identical_across_runs_and_locations(catalog: Path, tmp_path: Path) -> None:
    first = compile_catalog(catalog).raw
    moved = tmp_path / "elsewhere" / "catalog"
    shutil.copytree(catalog, moved)
    assert compile_catalog(catalog).raw == first
    assert compile_catalog(moved).raw == first
    assert b"/tmp" not in first and str(tmp_path).encode() not in first


def test_snapshot_is_canonical_json_with_checked_digest(catalog: Path, tmp_path: Path) -> None:
    snapshot = compile_catalog(catalog)
    document = json.loads(snapshot.raw)
    body = {k: v for k, v in document.items() if k != "$digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert document["$digest"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert Snapshot.from_bytes(snapshot.raw).document == document

    tampered = snapshot.raw.replace(b'"priority":10', b'"priority":11')
    with pytest.raises(SnapshotError, match="digest mismatch"):
        Snapshot.from_bytes(tampered)
    with pytest.raises(SnapshotError, match="truncated or corrupt"):
        Snapshot.from_bytes(snapshot.raw[:-10])
    future = json.loads(snapshot.raw)
    future["format"]["major"] = 2
    with pytest.raises(SnapshotError, match="major version 2 is not supported; this version of modelreg "
                                            "reads major version 1"):
        Snapshot.from_bytes(json.dumps(future).encode())


def test_warnings_pass_unless_strict(catalog: Path) -> None:
    (catalog / "acme" / "embed-small.yaml").unlink()
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 0
    assert result.err == (
        f"{catalog}/capabilities.yaml:16:3: warning[empty-pool]: no model serves `embedding` "
        "(nor any node below it); add one or remove the node\n"
        f"{catalog}: valid (0 error(s), 1 warning(s))\n")
    assert run_cli("validate", "--catalog", str(catalog), "--strict").code == 1
    out = catalog.parent / "r.json"
    assert run_cli("compile", "--catalog", str(catalog), "--strict", "-o", str(out)).code == 1
    assert not out.exists()


def test_deprecated_capability_is_a_warning(catalog: Path) -> None:
    write(catalog, "acme/legacy.yaml",
          "name: acme/legacy\nprovider: acme\ncapabilities: [generation.text-completion]\n")
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 0
    assert (f"{catalog}/acme/legacy.yaml:3:16: warning[deprecated-capability]: capability "
            "`generation.text-completion` is deprecated; use `generation.text-generation`") in result.err


def test_library_raises_with_every_diagnostic(catalog: Path) -> None:
    write(catalog, "acme/chat-large.yaml", "name: acme/chat-large\nprovider: acme\ncapabilities: [nope]\n")
    write(catalog, "acme/embed-small.yaml", "name: acme/embed-small\nprovider: acme\ncapabilities: [nada]\n")
    with pytest.raises(CatalogInvalid) as info:
        compile_catalog(catalog)
    assert [(Path(d.file).name, d.line, d.code) for d in info.value.diagnostics] == [
        ("chat-large.yaml", 3, "unknown-capability"), ("embed-small.yaml", 3, "unknown-capability")]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("validate", "--catalog", str(tmp_path / "missing")).code == 2
    assert run_cli("compile", "--format", "xml").code == 2
    assert run_cli().code == 2


def test_show_tree_pool_and_provider(catalog: Path, tmp_path: Path) -> None:
    tree = run_cli("show", "--catalog", str(catalog))
    assert tree.code == 0
    lines = tree.out.splitlines()
    assert lines[0].split() == ["generation", "2"]
    assert lines[1].split() == ["text-generation", "2", "aliases:", "chat"]
    pool = run_cli("show", "--catalog", str(catalog), "--capability", "chat")
    assert pool.out.splitlines() == [
        "generation.text-generation: 2 model(s)",
        "MODEL            STATUS  PRIORITY  CONTEXT  MODEL ID",
        "acme/coder       active  5         128,000  chat-large:2024",
        "acme/chat-large  active  10        128,000  chat-large:2024",
    ]
    out = tmp_path / "r.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    provider = run_cli("show", "--snapshot", str(out), "--provider", "acme")
    assert provider.out.splitlines()[0] == "acme (Acme AI): 3 model(s)"
    # Both: the pool's members of that provider, in pool order.
    write(catalog, "other/provider.yaml", "name: other\ndisplay_name: Other\n")
    write(catalog, "other/chat.yaml", "name: other/chat\nprovider: other\ncapabilities: [chat]\n")
    both = run_cli("show", "--catalog", str(catalog), "--capability", "chat", "--provider", "other")
    assert both.out.splitlines()[0] == "generation.text-generation, provider other: 1 of 3 model(s)"
    assert [line.split()[0] for line in both.out.splitlines()[2:]] == ["other/chat"]
    by_id = run_cli("show", "--catalog", str(catalog), "--model-id", "chat-large:2024")
    assert by_id.out.splitlines()[0] == "model ID `chat-large:2024`: 2 model(s)"
    assert [line.split()[0] for line in by_id.out.splitlines()[2:]] == ["acme/chat-large", "acme/coder"]
    assert run_cli("show", "--catalog", str(catalog), "--model-id", "nope").out == "model ID `nope`: 0 model(s)\n"
    unknown = run_cli("show", "--catalog", str(catalog), "--capability", "chat", "--provider", "nope")
    assert unknown.code == 2
    typo = run_cli("show", "--catalog", str(catalog), "--capability", "generation.text-generaton")
    assert typo.code == 2
    assert typo.err == ("modelreg: error: unknown capability `generation.text-generaton`; "
                        "did you mean `generation.text-generation`?\n")


def test_snapshot_schema_matches_compiled_output(catalog: Path) -> None:
    document = json.loads(compile_catalog(catalog).raw)
    validator("snapshot").validate(document)
    document["models"]["acme/coder"]["priority"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        validator("snapshot").validate(document)
