"""Every schema in `schemas/` stands alone: bundled from one source, in sync, and usable by
check-jsonschema on real files with the network blocked."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg.cli.bundle_schemas import main as bundle_main
from modelreg.schema_bundle import COPY_NOTE, SchemaBundleError, bundle, read_directory, schema_text, stale_files
from modelreg.schemas import schema_dir
from tests.conftest import REPO, run_cli, write
from tests.git_helpers import commit_all, init_repo
from tests.sync.conftest import provider_yaml

SCHEMAS = REPO / "schemas"
OWN_ID = "https://modelreg.dev/schemas/v1/"

# Imported by every Python process that has this directory on its path: a socket that tries to
# connect anywhere records where, then fails, so a test can tell that nothing went to the network.
BLOCK_NETWORK = """\
import os, socket

def _refuse(self, address, *args, **kwargs):
    with open(os.environ["NETWORK_ATTEMPTS"], "a", encoding="utf-8") as log:
        log.write(repr(address) + "\\n")
    raise OSError("network blocked by the test")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
"""


def _offline_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    blocker = tmp_path / "offline"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(BLOCK_NETWORK, encoding="utf-8")
    attempts = tmp_path / "network-attempts.log"
    proxy = "http://127.0.0.1:9"  # nobody listens there, should anything bypass the blocker
    env = {**os.environ, "PYTHONPATH": str(blocker), "NETWORK_ATTEMPTS": str(attempts),
           "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy,
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return env, attempts


def _check_jsonschema(tmp_path: Path, schema: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    env, _ = _offline_env(tmp_path)
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), *map(str, files)],
                          capture_output=True, text=True, check=False, env=env)


def test_the_checked_in_schemas_are_bundled_from_their_one_source() -> None:
    assert stale_files(SCHEMAS) == {}
    assert stale_files(schema_dir()) == {}


def test_no_schema_refers_outside_itself() -> None:
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        text = path.read_text(encoding="utf-8")
        schema = json.loads(text)
        assert schema["$id"] == f"{OWN_ID}{path.name}"
        # The one mention of the URL prefix left is the schema's own `$id`.
        assert text.count(OWN_ID) == 1, path.name


def test_a_shared_definition_is_copied_with_a_note_naming_its_original() -> None:
    provider = json.loads((SCHEMAS / "provider.schema.json").read_text(encoding="utf-8"))
    model = json.loads((SCHEMAS / "model.schema.json").read_text(encoding="utf-8"))
    assert provider["properties"]["name"] == {"$ref": "#/$defs/provider_name"}
    copied = provider["$defs"]["provider_name"]
    assert copied["$comment"] == ("Copied from model.schema.json#/$defs/provider_name: edit it there, then run "
                                  "`python -m modelreg.cli.bundle_schemas`.")
    assert {k: v for k, v in copied.items() if k != "$comment"} == model["$defs"]["provider_name"]
    # A whole schema is copied too: the sync report holds a diff report.
    report = json.loads((SCHEMAS / "sync-report.schema.json").read_text(encoding="utf-8"))
    assert report["$defs"]["diff"]["$comment"].startswith(f"{COPY_NOTE}diff.schema.json#:")
    assert report["$defs"]["diff"]["title"] == "modelreg diff report"


def test_a_stale_copy_is_found_and_rewritten_from_its_original(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "schemas"
    directory.mkdir()
    for path in SCHEMAS.glob("*.schema.json"):
        (directory / path.name).write_bytes(path.read_bytes())
    model_path = directory / "model.schema.json"
    model = json.loads(model_path.read_text(encoding="utf-8"))
    model["$defs"]["provider_name"]["maxLength"] = 20
    model_path.write_text(schema_text(model), encoding="utf-8")

    stale = stale_files(directory)
    # Every schema that holds a copy of the definition, and no other.
    holders = sorted(path.name for path in SCHEMAS.glob("*.schema.json") if path.name != "model.schema.json"
                     and "provider_name" in json.loads(path.read_text(encoding="utf-8")).get("$defs", {}))
    assert {"provider.schema.json", "snapshot.schema.json", "sync-report.schema.json"} <= set(holders)
    assert sorted(path.name for path in stale) == holders
    assert bundle_main([str(directory)]) == 0
    assert capsys.readouterr().out == "".join(f"rewrote {path}\n" for path in sorted(stale))
    provider = json.loads((directory / "provider.schema.json").read_text(encoding="utf-8"))
    assert provider["$defs"]["provider_name"]["maxLength"] == 20
    assert bundle_main([str(directory)]) == 0
    assert capsys.readouterr().out == f"{directory}: every schema already stands alone\n"


def test_a_reference_by_id_is_made_local_with_what_it_needs() -> None:
    schemas = read_directory(SCHEMAS)
    schemas["route"] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{OWN_ID}route.schema.json",
                        "type": "object",
                        "properties": {"model": {"$ref": f"{OWN_ID}model.schema.json#/$defs/lifecycle"},
                                       "diff": {"$ref": f"{OWN_ID}diff.schema.json"}}}
    route = bundle(schemas)["route"]
    assert route["properties"] == {"model": {"$ref": "#/$defs/lifecycle"}, "diff": {"$ref": "#/$defs/diff"}}
    # The diff names its own sides and changes, and the model's names and capability paths.
    assert sorted(route["$defs"]) == ["capability_path", "diff", "field_change", "lifecycle", "model_name",
                                      "model_pools", "side"]
    assert all(definition["$comment"].startswith(COPY_NOTE) for definition in route["$defs"].values())


@pytest.mark.parametrize(("schemas", "message"), [
    ({"a": {"$id": f"{OWN_ID}a.schema.json", "$ref": "#/$defs/nothing"}},
     "a.schema.json refers to `#/$defs/nothing`, which no schema defines"),
    ({"a": {"$id": f"{OWN_ID}a.schema.json", "$ref": "https://example.com/x.json"}},
     "a.schema.json: `https://example.com/x.json` is not a modelreg schema; every reference stays among the "
     "schemas in schemas/"),
    ({"a": {"$defs": {"x": {}}}, "b": {"$defs": {"x": {}}}},
     "`x` names a definition in a.schema.json and in b.schema.json; rename one of them"),
])
def test_schemas_that_cannot_be_bundled_say_why(schemas: dict[str, dict[str, object]], message: str,
                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SchemaBundleError) as caught:
        bundle(schemas)
    assert str(caught.value) == message
    for name, schema in schemas.items():
        (tmp_path / f"{name}.schema.json").write_text(schema_text(schema), encoding="utf-8")
    assert bundle_main([str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"bundle_schemas: error: {message}\n"


def test_the_network_blocker_catches_a_connection(tmp_path: Path) -> None:
    env, attempts = _offline_env(tmp_path)
    result = subprocess.run([sys.executable, "-c", "import urllib.request; urllib.request.urlopen('http://example.com')"],
                            capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 1
    assert "network blocked by the test" in result.stderr
    assert attempts.read_text(encoding="utf-8") == "('127.0.0.1', 9)\n"


# Discovery places every listed model in the chat pool.
RULES = '  rules:\n    - match: "*"\n      capabilities: [chat]\n'


@pytest.fixture
def real_files(catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Path]]:
    """One real file of each kind, made by modelreg itself from a small catalog in git."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1772323200")
    root = init_repo(tmp_path / "repo")
    catalog.rename(root / "models.d")
    catalog = root / "models.d"
    write(catalog, "acme/provider.yaml", provider_yaml("openai", "https://api.acme.test/v1/models", RULES))
    commit_all(root, "catalog")
    out = tmp_path / "out"
    out.mkdir()
    before, after = out / "before.json", out / "after.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(before)).code == 0

    listing = tmp_path / "listing.json"
    listing.write_text(json.dumps({"object": "list", "data": [{"id": "chat-large:2024"}, {"id": "fresh"}]}))
    synced = run_cli("sync", "acme", "--catalog", str(catalog), "--listing", str(listing), "--commit",
                     "--format", "json")
    assert synced.code == 0, synced.err
    (out / "sync.json").write_text(synced.out, encoding="utf-8")
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(after)).code == 0
    diff = run_cli("diff", str(before), str(after), "--catalog", str(catalog), "--format", "json")
    assert diff.code == 0, diff.err
    (out / "diff.json").write_text(diff.out, encoding="utf-8")
    assert run_cli("export", "models-dev", "--snapshot", str(after), "-o", str(out / "api.json")).code == 0
    answers = {"show.json": ["show"], "show-pool.json": ["show", "--capability", "chat"],
               "route.json": ["route", "chat"]}
    for name, argv in answers.items():
        answered = run_cli(*argv, "--snapshot", str(after), "--format", "json")
        assert answered.code == 0, answered.err
        (out / name).write_text(answered.out, encoding="utf-8")

    write(catalog, "acme/broken.yaml", "name: acme/broken\nprovider: acme\ncapabilities: [chatt]\n")
    invalid = run_cli("validate", "--catalog", str(catalog), "--format", "json")
    assert invalid.code == 1
    (out / "diagnostics.json").write_text(invalid.out, encoding="utf-8")
    (catalog / "acme" / "broken.yaml").unlink()
    return {
        "capabilities": [catalog / "capabilities.yaml"],
        "provider": [catalog / "acme" / "provider.yaml"],
        "model": [catalog / "acme" / "chat-large.yaml", catalog / "acme" / "fresh.yaml"],
        "snapshot": [before, after],
        "diff": [out / "diff.json"],
        "diagnostics": [out / "diagnostics.json"],
        "sync-report": [out / "sync.json"],
        "discovery-record": [catalog / "acme" / "discovery.json"],
        "models-dev": [out / "api.json"],
        "show": [out / "show.json", out / "show-pool.json"],
        "route": [out / "route.json"],
    }


def test_every_schema_checks_real_files_with_check_jsonschema_offline(real_files: dict[str, list[Path]],
                                                                      tmp_path: Path) -> None:
    names = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
    assert sorted(real_files) == names, (f"schemas without a real file in `real_files`: "
                                         f"{sorted(set(names) - set(real_files))}; make one there")
    assert json.loads(real_files["diagnostics"][0].read_text())["summary"]["errors"] == 1
    assert json.loads(real_files["diff"][0].read_text())["summary"]["models_added"] == 1
    for name, files in sorted(real_files.items()):
        result = _check_jsonschema(tmp_path, SCHEMAS / f"{name}.schema.json", *files)
        assert (result.returncode, result.stdout) == (0, "ok -- validation done\n"), (name, result.stdout,
                                                                                      result.stderr)
    assert not (tmp_path / "network-attempts.log").exists()


def test_a_copied_definition_still_refuses_what_its_original_refuses(real_files: dict[str, list[Path]],
                                                                     tmp_path: Path) -> None:
    snapshot = json.loads(real_files["snapshot"][1].read_text(encoding="utf-8"))
    snapshot["models"]["acme/fresh"]["provider"] = "Acme AI"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(snapshot), encoding="utf-8")
    result = _check_jsonschema(tmp_path, SCHEMAS / "snapshot.schema.json", bad)
    assert result.returncode == 1
    assert result.stdout == ("Schema validation errors were encountered.\n"
                             f"  {bad}::$.models['acme/fresh'].provider: 'Acme AI' does not match "
                             "'^[a-z0-9][a-z0-9_-]*$'\n")
    assert not (tmp_path / "network-attempts.log").exists()


def _readme_block(after: str) -> list[str]:
    """The lines of the README's first ```sh block after the text `after`."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text[text.index(after):].split("```sh\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def test_the_readmes_offline_check_runs_as_written(tmp_path: Path) -> None:
    lines = _readme_block("which\nname them but are not fetched")
    assert [line.split()[:2] for line in lines] == [["check-jsonschema", "--schemafile"]] * 2
    work = tmp_path / "work"
    shutil.copytree(SCHEMAS, work / "schemas")
    shutil.copytree(REPO / "models.d", work / "models.d")
    compiled = run_cli("compile", "--catalog", str(work / "models.d"), "-o", str(work / "build" / "registry.json"),
                       "--allow-shallow")
    assert compiled.code == 0, compiled.err
    env, attempts = _offline_env(tmp_path)
    for line in lines:
        argv = shlex.split(line)
        result = subprocess.run([sys.executable, "-m", "check_jsonschema", *argv[1:]], cwd=work,
                                capture_output=True, text=True, check=False, env=env)
        assert (result.returncode, result.stdout) == (0, "ok -- validation done\n"), result.stderr
    assert not attempts.exists()
