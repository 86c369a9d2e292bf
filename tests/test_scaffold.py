"""`modelreg new PROVIDER/MODEL`: a model file from the provider's defaults, ready to edit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelreg.catalog.paths import PROVIDER_FILE, model_path
from modelreg.errors import UsageError
from modelreg.scaffold import new_model
from tests.conftest import CAPABILITIES, PROVIDER, run_cli

SCAFFOLD = """\
# yaml-language-server: $schema=../../schemas/model.schema.json
name: acme/chat-xl
provider: acme
model_id: chat-xl
# Which pools serve this model? List capability paths or aliases from capabilities.yaml
# (`modelreg show` prints the tree), for example: [generation.text-generation]
capabilities: []
# Inherited from acme/provider.yaml; uncomment a line to override it here:
# features:
#   streaming: true
# limits:
#   context_window: 8192
# priority: 50
"""


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_new_writes_the_scaffold_and_validate_points_at_what_to_fill_in(catalog: Path) -> None:
    result = run_cli("new", "acme/chat-xl", "--catalog", str(catalog))
    assert result.code == 0, result.err
    path = catalog / "acme" / "chat-xl.yaml"
    assert result.out == (f"wrote {path}\nnext: fill in `capabilities` (it is empty, so the catalog is invalid "
                          "until you do), then run `modelreg validate`\n")
    assert path.read_text(encoding="utf-8") == SCAFFOLD

    # Unedited, the scaffold cannot slip into a pool: validate names the line and what goes there.
    validated = run_cli("validate", "--catalog", str(catalog))
    assert validated.code == 1
    assert validated.err.splitlines()[0] == (
        f"{path}:7:15: error[too-few-items]: capabilities is empty; list at least one item. Capability paths "
        "or aliases from capabilities.yaml (`modelreg show` prints the tree); the model joins the pool of each "
        "node and of its ancestors.")

    path.write_text(SCAFFOLD.replace("capabilities: []", "capabilities: [chat]"), encoding="utf-8")
    out = catalog.parent / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    model = json.loads(out.read_text(encoding="utf-8"))["models"]["acme/chat-xl"]
    # The commented defaults are inherited, not copied: the provider's values apply.
    assert (model["model_id"], model["capabilities"], model["priority"]) == (
        "chat-xl", ["generation.text-generation"], 50)
    assert model["limits"] == {"context_window": 8192}


def test_new_with_capabilities_is_valid_as_written(catalog: Path) -> None:
    result = run_cli("new", "acme/sub/coder-xl", "--catalog", str(catalog),
                     "--capability", "generation.text-generation.code-generation", "--capability", "chat")
    assert result.code == 0, result.err
    path = catalog / "acme" / "sub" / "coder-xl.yaml"
    assert result.out == f"wrote {path}\n"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[:7] == [
        "# yaml-language-server: $schema=../../../schemas/model.schema.json",
        "name: acme/sub/coder-xl",
        "provider: acme",
        "model_id: sub/coder-xl",
        "capabilities:",
        "  - generation.text-generation.code-generation",
        "  - chat",
    ]
    assert run_cli("validate", "--catalog", str(catalog), "--strict").code == 0


def test_new_refuses_to_overwrite(catalog: Path) -> None:
    before = _tree(catalog)
    result = run_cli("new", "acme/chat-large", "--catalog", str(catalog))
    assert result.code == 2
    assert result.err == (f"modelreg: error: {catalog}/acme/chat-large.yaml already exists; "
                          "edit it instead (or delete it first)\n")
    assert _tree(catalog) == before


def test_new_refuses_an_unknown_provider_with_a_suggestion(catalog: Path) -> None:
    before = _tree(catalog)
    result = run_cli("new", "acne/chat", "--catalog", str(catalog))
    assert (result.code, result.err) == (2, "modelreg: error: unknown provider `acne`; did you mean `acme`?\n")
    result = run_cli("new", "zeta/chat", "--catalog", str(catalog))
    assert (result.code, result.err) == (
        2, "modelreg: error: unknown provider `zeta`; add it first: `modelreg new --provider zeta`\n")
    assert _tree(catalog) == before


def test_new_refuses_an_unknown_capability(catalog: Path) -> None:
    result = run_cli("new", "acme/chat-xl", "--catalog", str(catalog), "--capability", "generation.text-generaton")
    assert (result.code, result.err) == (2, "modelreg: error: unknown capability `generation.text-generaton`; "
                                            "did you mean `generation.text-generation`?\n")
    assert not (catalog / "acme" / "chat-xl.yaml").exists()


REFUSALS = {
    "out": "model name `{}` leads out of the catalog; write it as <provider>/<model>",
    "invalid": ("`{}` is not a valid model name: <provider>/<slug>: lowercase letters, digits, '.', '-', '_' and "
                "'/' for nesting; equal to the file's path under models.d/ without .yaml."),
}


@pytest.mark.parametrize(("name", "refusal"), [
    ("../escape/x", "out"), ("acme/../../escape", "out"), ("/etc/acme/x", "out"), ("acme\\..\\..\\x", "out"),
    ("acme/x\0.yaml", "out"), ("acme/./x", "invalid"), ("acme/.hidden", "invalid"), ("acme", "invalid"),
    ("acme/", "invalid"), ("Acme/Chat", "invalid"), ("acme/chat xl", "invalid"),
])
def test_new_refuses_names_that_are_not_model_names(catalog: Path, name: str, refusal: str) -> None:
    message = REFUSALS[refusal].format(name)
    before = _tree(catalog.parent)
    result = run_cli("new", name, "--catalog", str(catalog))
    # The same check, word for word, as `register` and `unregister` make (modelreg.catalog.model_file.model_path).
    assert (result.code, result.err) == (2, f"modelreg: error: {message}\n")
    with pytest.raises(UsageError) as caught:
        model_path(name)
    assert str(caught.value) == message
    assert _tree(catalog.parent) == before


def test_new_refuses_a_provider_directory_that_leads_outside(catalog: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "provider.yaml").write_text((catalog / "acme" / "provider.yaml").read_text(encoding="utf-8")
                                           .replace("name: acme", "name: linked"), encoding="utf-8")
    os.symlink(outside, catalog / "linked")
    with pytest.raises(UsageError, match="leads outside the catalog"):
        new_model(catalog, "linked/model")
    assert sorted(p.name for p in outside.iterdir()) == ["provider.yaml"]


def test_new_reads_the_provider_as_the_compiler_does_and_refuses_a_symlink_out(catalog: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "provider.yaml"
    secret.write_text(PROVIDER.replace("acme", "evil").replace("priority: 50", "priority: 1"), encoding="utf-8")
    (catalog / "evil").mkdir()
    os.symlink(secret, catalog / "evil" / PROVIDER_FILE)
    before = _tree(catalog.parent)
    result = run_cli("new", "evil/chat", "--catalog", str(catalog))
    # The compiler's own refusal, word for word, and no defaults taken from outside the catalog.
    refusal = (f"{catalog}/evil/provider.yaml:1:1: error[symlink]: symlink points outside the catalog "
               f"(to {secret.resolve()}); replace it with the file itself\n")
    assert (result.code, result.out, result.err) == (1, "", refusal)
    assert refusal in run_cli("validate", "--catalog", str(catalog)).err
    assert _tree(catalog.parent) == before


def test_new_refuses_a_provider_the_compiler_does_not_read(catalog: Path) -> None:
    os.symlink("acme", catalog / "alias")  # stays inside, but the compiler does not walk symlinked directories
    result = run_cli("new", "alias/chat", "--catalog", str(catalog))
    assert (result.code, result.err) == (
        2, f"modelreg: error: {catalog}/alias/provider.yaml is in a symlinked directory, which the compiler does "
           "not read; move the files into the catalog\n")
    assert sorted(p.name for p in (catalog / "acme").iterdir()) == [
        "chat-large.yaml", "coder.yaml", "embed-small.yaml", "provider.yaml"]


def test_new_refuses_a_capability_tree_that_is_a_symlink_out(catalog: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(CAPABILITIES.replace("text-generation:", "secret-generation:"), encoding="utf-8")
    (catalog / "capabilities.yaml").unlink()
    os.symlink(outside, catalog / "capabilities.yaml")
    result = run_cli("new", "acme/chat-xl", "--catalog", str(catalog), "--capability", "chat")
    assert (result.code, result.err) == (
        1, f"{catalog}/capabilities.yaml:1:1: error[symlink]: symlink points outside the catalog "
           f"(to {outside.resolve()}); replace it with the file itself\n")
    assert not (catalog / "acme" / "chat-xl.yaml").exists()
    # Without capabilities the scaffold is written, but its hint names nothing from outside.
    assert run_cli("new", "acme/chat-xl", "--catalog", str(catalog)).code == 0
    text = (catalog / "acme" / "chat-xl.yaml").read_text(encoding="utf-8")
    assert "secret" not in text
    assert "# (`modelreg show` prints the tree).\n" in text


def test_new_needs_a_catalog(tmp_path: Path) -> None:
    result = run_cli("new", "acme/x", "--catalog", str(tmp_path / "missing"))
    assert (result.code, result.err) == (2, f"modelreg: error: catalog directory not found: {tmp_path / 'missing'}\n")


def test_library_returns_what_it_wrote(catalog: Path) -> None:
    scaffold = new_model(catalog, "acme/embed-large", ["embedding.text-embedding"])
    assert scaffold.complete
    assert scaffold.path == catalog / "acme" / "embed-large.yaml"
    assert scaffold.path.read_text(encoding="utf-8") == scaffold.text


def test_new_provider_writes_a_provider_file_its_models_validate_against(catalog: Path) -> None:
    result = run_cli("new", "--provider", "zeta_ai", "--catalog", str(catalog))
    assert result.code == 0, result.err
    path = catalog / "zeta_ai" / PROVIDER_FILE
    assert result.out == (f"wrote {path}\nnext: set its `api` and `api_base`, then add models with "
                          "`modelreg new zeta_ai/<model>`\n")
    assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../../schemas/provider.schema.json"
    assert "api_key_env: ZETA_AI_API_KEY\n" in path.read_text()
    assert run_cli("new", "zeta_ai/chat-1", "--capability", "chat", "--catalog", str(catalog)).code == 0
    validated = run_cli("validate", "--catalog", str(catalog), "--strict")
    assert validated.code == 0, validated.err
    again = run_cli("new", "--provider", "zeta_ai", "--catalog", str(catalog))
    assert (again.code, again.err) == (2, f"modelreg: error: {path} already exists; edit it instead\n")


@pytest.mark.parametrize("argv", [["new", "--provider", "Zeta"], ["new", "--provider", "../x"], ["new"],
                                  ["new", "acme/x", "--provider", "zeta"],
                                  ["new", "--provider", "z", "--capability", "chat"]])
def test_new_provider_usage_errors(catalog: Path, argv: list[str]) -> None:
    result = run_cli(*argv, "--catalog", str(catalog))
    assert result.code == 2
    assert result.err.startswith("modelreg: error: ")
    assert sorted(p.name for p in catalog.iterdir()) == ["acme", "capabilities.yaml"]


def test_version_names_the_package_and_the_snapshot_format(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert run_cli("--version").code == 0
    assert capsys.readouterr().out == f"modelreg {version('modelreg')} (snapshot format modelreg-registry 1.0)\n"
