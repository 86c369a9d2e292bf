"""Checks that span files: providers, replacements, layout; and errors at the CLI's edge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelreg import Snapshot, SnapshotError, UnknownCapability, compile_catalog
from modelreg.snapshot_format import encode
from tests.conftest import CAPABILITIES, CHAT, run_cli, write


def diagnostics(catalog: Path, *argv: str) -> list[str]:
    """`modelreg validate CATALOG` diagnostics, with paths relative to the catalog."""
    result = run_cli("validate", "--catalog", str(catalog), *argv)
    return [line.removeprefix(f"{catalog}/") for line in result.err.splitlines()
            if ": error[" in line or ": warning[" in line]


def lifecycle(name: str, status: str, replacement: str | None = None) -> str:
    text = CHAT.replace("acme/chat-large", name).replace("priority: 10", f"lifecycle:\n  status: {status}")
    return text + (f"  replacement: {replacement}\n" if replacement else "")


def test_a_broken_provider_file_is_reported_once(catalog: Path) -> None:
    (catalog / "acme" / "provider.yaml").write_text(
        (catalog / "acme" / "provider.yaml").read_text() + "bogus: 1\n", encoding="utf-8")
    assert diagnostics(catalog) == [
        "acme/provider.yaml:12:1: error[unknown-key]: unknown key `bogus` in the document "
        "(put your own data under an `x-` prefixed key)"]


def test_a_replacement_whose_file_is_broken_is_not_called_missing(catalog: Path) -> None:
    write(catalog, "acme/old.yaml", lifecycle("acme/old", "retired", "acme/coder"))
    coder = catalog / "acme" / "coder.yaml"
    coder.write_text(coder.read_text() + "batch: sometimes\n", encoding="utf-8")
    assert diagnostics(catalog) == [
        "acme/coder.yaml:10:8: error[type]: batch must be a boolean, not a string"]


def test_replacement_chains(catalog: Path) -> None:
    write(catalog, "acme/a.yaml", lifecycle("acme/a", "deprecated", "acme/b"))
    write(catalog, "acme/b.yaml", lifecycle("acme/b", "deprecated", "acme/a"))
    write(catalog, "acme/c.yaml", lifecycle("acme/c", "deprecated", "acme/gone"))
    write(catalog, "acme/gone.yaml", lifecycle("acme/gone", "retired", "acme/chat-large"))
    write(catalog, "acme/d.yaml", lifecycle("acme/d", "deprecated", "acme/e"))
    write(catalog, "acme/e.yaml", lifecycle("acme/e", "deprecated", "acme/chat-large"))
    assert diagnostics(catalog) == [
        "acme/a.yaml:11:16: error[bad-replacement]: replacements loop: acme/a -> acme/b -> acme/a",
        "acme/b.yaml:11:16: error[bad-replacement]: replacements loop: acme/b -> acme/a -> acme/b",
        "acme/c.yaml:11:16: error[bad-replacement]: replacement `acme/gone` is itself retired; "
        "name the model that replaces it",
        "acme/d.yaml:11:16: warning[deprecated-replacement]: replacement `acme/e` is itself deprecated; "
        "consider `acme/chat-large`",
    ]


@pytest.mark.parametrize(("replacement", "message"), [
    ("generation.text-completion", "a capability cannot be its own replacement"),
    ("generation.text-completion-x", "replacement `generation.text-completion-x` is not a capability; "
                                     "did you mean `generation.text-completion`?"),
])
def test_capability_replacement_checks(catalog: Path, replacement: str, message: str) -> None:
    write(catalog, "capabilities.yaml", CAPABILITIES.replace(
        "replacement: generation.text-generation", f"replacement: {replacement}"))
    found = diagnostics(catalog)
    assert len(found) == 1 and found[0].startswith("capabilities.yaml:15:24: error[")
    assert found[0].endswith(message)


def test_deprecated_capability_replacement_must_be_live(catalog: Path) -> None:
    text = CAPABILITIES.replace("      text-completion:", "      old-completion:\n"
                                "        deprecated:\n          replacement: generation.text-completion\n"
                                "      text-completion:")
    write(catalog, "capabilities.yaml", text)
    assert diagnostics(catalog) == [
        "capabilities.yaml:13:24: error[bad-replacement]: replacement `generation.text-completion` is "
        "itself deprecated; name a live capability"]


def test_layout_mistakes(catalog: Path) -> None:
    write(catalog, "acme/extra.yml", CHAT)
    write(catalog, "acme/EXTRA.YAML", CHAT)
    write(catalog, "acme/sub/provider.yaml", "name: sub\ndisplay_name: Sub\n")
    write(catalog, "stray.yaml", "a: 1\n")
    write(catalog, "acme/README.md", "notes\n")
    assert run_cli("validate", "--catalog", str(catalog)).code == 1
    assert diagnostics(catalog) == [
        "acme/EXTRA.YAML:1:1: error[file-name]: catalog files end in `.yaml`; rename it",
        "acme/extra.yml:1:1: error[file-name]: catalog files end in `.yaml`; rename it",
        "acme/sub/provider.yaml:1:1: error[unexpected-file]: `provider.yaml` belongs directly in the provider's "
        "directory: move it to `acme/provider.yaml`",
        "stray.yaml:1:1: error[unexpected-file]: only `capabilities.yaml` and provider directories belong at "
        "the top of the catalog; move this file into a provider's directory",
    ]


def test_unknown_provider_hint_names_the_file_to_add(catalog: Path) -> None:
    write(catalog, "zeta/model.yaml", "name: zeta/model\nprovider: zeta\ncapabilities: [chat]\n")
    assert diagnostics(catalog) == [
        "zeta/model.yaml:2:11: error[unknown-provider]: unknown provider `zeta`; add `zeta/provider.yaml` "
        "to the catalog"]


def test_snapshot_pool_lookup_by_path_or_alias(catalog: Path) -> None:
    snapshot = compile_catalog(catalog)
    assert snapshot.pool("chat") == snapshot.pool("generation.text-generation") == ["acme/coder", "acme/chat-large"]
    with pytest.raises(UnknownCapability, match=r"did you mean `generation\.text-generation`"):
        snapshot.pool("generation.text-generaton")


def test_a_sealed_snapshot_of_the_wrong_shape_is_refused(catalog: Path, tmp_path: Path) -> None:
    document = json.loads(compile_catalog(catalog).raw)
    del document["$digest"], document["pools"]
    path = tmp_path / "odd.json"
    path.write_bytes(encode(document)[0])
    with pytest.raises(SnapshotError, match=r"not a valid snapshot: the top level: 'pools' is a required property"):
        Snapshot.read(path)
    result = run_cli("show", "--snapshot", str(path))
    assert result.code == 1
    assert result.err == (f"modelreg: error: {path}: not a valid snapshot: the top level: "
                          "'pools' is a required property\n")


def test_file_system_errors_are_messages_not_tracebacks(catalog: Path, tmp_path: Path) -> None:
    missing = run_cli("show", "--snapshot", str(tmp_path / "none.json"))
    assert (missing.code, missing.err) == (2, f"modelreg: error: No such file or directory: {tmp_path}/none.json\n")
    (tmp_path / "dir").mkdir()
    into_dir = run_cli("compile", "--catalog", str(catalog), "-o", str(tmp_path / "dir"))
    assert into_dir.code == 2
    assert into_dir.err.startswith("modelreg: error: Is a directory")
