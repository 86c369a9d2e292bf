"""`modelreg sync` against a listing on 127.0.0.1: what it writes, where, and what it never does."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from modelreg.schemas import first_error
from tests.conftest import run_cli, write
from tests.git_helpers import commit_all, git
from tests.sync.conftest import TODAY, Synced
from tests.sync.listing_server import KEY, entry


def _tree_state(root: Path) -> tuple[str, str, str, str]:
    """HEAD, the index's bytes, the work tree's files, and `git status`: all a branch sync must leave."""
    files = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        files.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    index = hashlib.sha256((root / ".git" / "index").read_bytes()).hexdigest()
    return git(root, "rev-parse", "HEAD"), index, files.hexdigest(), git(root, "status", "--porcelain")


def test_a_sync_commits_on_its_branch_and_leaves_head_index_and_work_tree_alone(make_synced) -> None:
    synced: Synced = make_synced()
    before = _tree_state(synced.root)
    result = synced.sync()
    assert result.code == 0, result.err
    assert _tree_state(synced.root) == before
    assert result.out.splitlines()[0] == (
        f"sync acme: 3 listed; 2 added, 1 changed, 0 deprecated; committed {(synced.branch() or '')[:12]} on sync/acme")
    assert git(synced.root, "rev-parse", "sync/acme~1") == before[0]
    changed = git(synced.root, "diff", "--name-status", "HEAD", "sync/acme").splitlines()
    assert changed == ["M\tmodels.d/acme/chat-large.yaml", "A\tmodels.d/acme/chat-mini.yaml",
                       "A\tmodels.d/acme/chat-small.yaml", "A\tmodels.d/acme/discovery.json"]
    assert synced.show("acme/chat-small.yaml") == """\
# yaml-language-server: $schema=../../schemas/model.schema.json
name: acme/chat-small
provider: acme
model_id: chat-small
display_name: CHAT-SMALL
capabilities:
  - generation.text-generation
batch: true
features:
  pdf_input: false
  vision: true
limits:
  context_window: 128000
  max_output_tokens: 8192
modalities:
  input: [text, image]
  output: [text]"""
    # The hand-written file states its own context window: a person's value, kept and reported.
    assert result.out.endswith("""\
  conflicts (hand edits kept):
    acme/chat-large display_name: listing says CHAT-LARGE-2024, file says Chat Large: kept
    acme/chat-large limits.context_window: listing says 200000, file says 128000: kept
""")
    # The branch's catalog is valid as a pull request checks it.
    git(synced.root, "checkout", "-q", "sync/acme")
    assert run_cli("validate", "--catalog", str(synced.catalog)).code == 0


def test_a_second_sync_against_the_same_listing_is_a_no_op(make_synced) -> None:
    synced: Synced = make_synced()
    assert synced.sync().code == 0
    tip = synced.branch()
    again = synced.sync()
    assert (again.code, again.out) == (0, "sync acme: 3 listed; nothing to do\n")
    assert synced.branch() == tip
    # So is the same in --commit mode, on the current branch.
    assert synced.sync("--commit").code == 0
    head = synced.head()
    again = synced.sync("--commit")
    assert (again.code, again.out) == (0, "sync acme: 3 listed; nothing to do\n")
    assert synced.head() == head
    assert git(synced.root, "status", "--porcelain") == ""


def test_a_hand_edit_survives_while_an_unedited_field_follows_the_listing(make_synced) -> None:
    synced: Synced = make_synced(hand=False)
    assert synced.sync("--commit").code == 0
    written = yaml.safe_load((synced.catalog / "acme/chat-small.yaml").read_text())
    assert written["limits"] == {"context_window": 128000, "max_output_tokens": 8192}
    # A person lowers the context window; upstream then changes both limits.
    path = synced.catalog / "acme/chat-small.yaml"
    path.write_text(path.read_text().replace("context_window: 128000", "context_window: 100000"))
    commit_all(synced.root, "a person's edit")
    synced.server.entries[1] = entry("anthropic", "chat-small", context=256000, output=16384)
    result = synced.sync("--commit")
    assert result.code == 0, result.err
    now = yaml.safe_load(path.read_text())
    assert now["limits"] == {"context_window": 100000, "max_output_tokens": 16384}
    assert "acme/chat-small limits.context_window: listing says 256000, file says 100000: kept" in result.out
    assert "max_output_tokens: 8192 -> 16384" in result.out
    # The record holds the listing's value: the conflict is told once, and the edit stays the
    # person's until the file holds that value again.
    assert synced.sync("--commit").out == "sync acme: 3 listed; nothing to do\n"
    record = json.loads((synced.catalog / "acme/discovery.json").read_text())
    assert record["models"]["chat-small"]["fields"]["limits.context_window"] == 256000
    assert record["models"]["chat-small"]["fields"]["limits.max_output_tokens"] == 16384


def test_a_model_gone_from_the_listing_is_deprecated_not_deleted(make_synced) -> None:
    synced: Synced = make_synced()
    assert synced.sync("--commit").code == 0
    del synced.server.entries[2]  # chat-mini
    result = synced.sync("--commit")
    assert result.code == 0, result.err
    assert "sync acme: 2 listed; 0 added, 0 changed, 1 deprecated;" in result.out
    data = yaml.safe_load((synced.catalog / "acme/chat-mini.yaml").read_text())
    assert data["lifecycle"] == {"status": "deprecated", "deprecated_at": TODAY}
    assert data["capabilities"] == ["generation.text-generation"]
    record = json.loads((synced.catalog / "acme/discovery.json").read_text())
    assert record["models"]["chat-mini"]["listed"] is False
    assert record["models"]["chat-mini"]["unlisted_since"] == TODAY
    # Gone for good is still only deprecated: a second sync changes nothing.
    assert synced.sync("--commit").out == "sync acme: 2 listed; nothing to do\n"
    # Listed again, it is restored where nobody touched what the sync wrote.
    synced.server.entries.append(entry("anthropic", "chat-mini", context=32000))
    result = synced.sync("--commit")
    assert "1 listed again" in result.out
    assert "lifecycle" not in yaml.safe_load((synced.catalog / "acme/chat-mini.yaml").read_text())


def test_a_model_a_person_removed_is_not_added_again(make_synced) -> None:
    synced: Synced = make_synced()
    assert synced.sync("--commit").code == 0
    assert run_cli("unregister", "acme/chat-mini", "--catalog", str(synced.catalog)).code == 0
    result = synced.sync("--commit")
    assert result.code == 0
    assert "chat-mini: `acme/chat-mini` was removed from the catalog by hand; not added again" in result.out
    assert not (synced.catalog / "acme/chat-mini.yaml").exists()


def test_a_model_whose_capabilities_the_listing_does_not_tell_is_discovered_and_in_no_pool(make_synced) -> None:
    rules = '  rules:\n    - match: "embed-*"\n      capabilities: [embedding.text-embedding]\n'
    synced: Synced = make_synced("openai", [entry("openai", "mystery-1"), entry("openai", "embed-2")], extra=rules)
    result = synced.sync("--commit")
    assert result.code == 0, result.err
    data = yaml.safe_load((synced.catalog / "acme/mystery-1.yaml").read_text())
    assert data["capabilities"] == []
    assert data["lifecycle"] == {"status": "discovered"}
    assert yaml.safe_load((synced.catalog / "acme/embed-2.yaml").read_text())["capabilities"] == [
        "embedding.text-embedding"]
    checked = run_cli("validate", "--catalog", str(synced.catalog))
    assert checked.code == 0
    assert "acme/mystery-1.yaml:7:11: warning[discovered-model]: discovery found this model but not what it can " \
           "do: fill in capabilities" in checked.err
    shown = run_cli("show", "--catalog", str(synced.catalog))
    assert "\ndiscovered, in no pool until their capabilities are filled in: acme/mystery-1\n" in shown.out
    assert "  + acme/mystery-1  discovered: no capabilities yet, in no pool\n" in result.out
    # A person fills the capabilities in and sets the status: the next sync keeps their values.
    path = synced.catalog / "acme/mystery-1.yaml"
    path.write_text(path.read_text().replace("capabilities: []", "capabilities: [generation.text-generation]")
                    .replace("status: discovered", "status: active"))
    commit_all(synced.root, "placed")
    again = synced.sync("--commit")
    assert again.out == "sync acme: 2 listed; nothing to do\n"


def test_a_hand_written_model_without_capabilities_is_still_an_error(catalog: Path) -> None:
    write(catalog, "acme/bare.yaml", "name: acme/bare\nprovider: acme\ncapabilities: []\n")
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 1
    assert f"{catalog}/acme/bare.yaml:3:15: error[too-few-items]: capabilities is empty; list at least one item" \
           in result.err


def test_a_sync_that_would_make_the_catalog_invalid_commits_nothing(make_synced) -> None:
    # A display name of 2 MB makes a model file over the catalog's 1 MiB cap.
    huge = [entry("anthropic", "chat-small", display="x" * (2 * 1024 * 1024))]
    synced: Synced = make_synced(entries=huge)
    head = synced.head()
    for mode in ((), ("--commit",)):
        result = synced.sync(*mode)
        assert result.code == 1
        assert "models.d/acme/chat-small.yaml:1:1: error[file-too-large]" in result.err
        assert "the sync of acme would make the catalog invalid: 1 error(s); nothing written" in result.err
        assert synced.branch() is None
        assert synced.head() == head
        assert git(synced.root, "status", "--porcelain") == ""


def test_the_key_reaches_the_server_and_nothing_else(make_synced) -> None:
    synced: Synced = make_synced()
    result = synced.sync()
    assert result.code == 0, result.err
    assert {seen.headers["x-api-key"] for seen in synced.server.seen} == {KEY}
    assert KEY not in result.out + result.err
    assert synced.sync("--commit").code == 0
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=synced.root,
                             capture_output=True, check=True).stdout
    assert KEY.encode() not in objects
    for path in synced.root.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    # A wrong key: the server refuses, and the message names neither key.
    synced.server.key = "another"
    failed = synced.sync()
    assert failed.code == 1
    assert "page 1: the server answered 401 Unauthorized (check the API key)" in failed.err
    assert KEY not in failed.out + failed.err


def test_the_key_is_never_sent_over_plain_http_but_to_loopback(make_synced) -> None:
    from modelreg.errors import ListingError
    from modelreg.sync.http import ListingClient

    client = ListingClient(secret=KEY)
    try:
        client.get_json("http://api.acme.test/v1/models", what="page 1", headers={"x-api-key": KEY})
    except ListingError as exc:
        assert str(exc) == ("http://api.acme.test/v1/models: refusing to send the API key over plain http to "
                            "api.acme.test; use https")
    else:
        raise AssertionError("the key went over plain http")


def test_a_missing_key_is_named_without_a_request(make_synced, monkeypatch) -> None:
    synced: Synced = make_synced()
    monkeypatch.delenv("ACME_API_KEY")
    result = synced.sync()
    assert result.code == 1
    assert result.err.endswith("sync acme: ACME_API_KEY is not set; the listing of acme needs the API key\n")
    assert synced.server.seen == []


def test_dry_run_prints_the_report_and_writes_nothing(make_synced) -> None:
    synced: Synced = make_synced()
    before = _tree_state(synced.root)
    result = synced.sync("--dry-run", "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert first_error("sync-report", report) is None
    provider = report["providers"][0]
    assert (report["format"], report["version"], report["ok"]) == ("modelreg-sync-report", 1, True)
    assert provider["added"] == ["acme/chat-mini", "acme/chat-small"]
    assert provider["written"] == []
    assert provider["diff"]["summary"]["models_added"] == 2
    assert provider["conflicts"] == [
        {"name": "acme/chat-large", "field": "display_name", "listing": "CHAT-LARGE-2024", "file": "Chat Large"},
        {"name": "acme/chat-large", "field": "limits.context_window", "listing": 200000, "file": 128000}]
    assert _tree_state(synced.root) == before
    assert synced.branch() is None
    markdown = synced.sync("--dry-run", "--format", "markdown").out
    assert markdown.startswith("## sync acme: 3 listed; 2 added, 1 changed, 0 deprecated; dry run, nothing written")
    assert "| `acme/chat-large` | `limits.context_window` | 200000 | 128000 |" in markdown


def test_an_existing_sync_branch_gets_a_new_commit_on_top(make_synced) -> None:
    synced: Synced = make_synced()
    assert synced.sync().code == 0
    first = synced.branch()
    synced.server.entries.append(entry("anthropic", "chat-tiny"))
    assert synced.sync().code == 0
    assert git(synced.root, "rev-parse", "sync/acme~1") == first
    assert "acme/chat-tiny.yaml" in git(synced.root, "diff", "--name-only", first, "sync/acme")


def test_commit_mode_refuses_a_catalog_with_uncommitted_changes(make_synced) -> None:
    synced: Synced = make_synced()
    path = synced.catalog / "acme/chat-large.yaml"
    path.write_text(path.read_text() + "priority: 7\n")
    result = synced.sync("--commit")
    assert result.code == 1
    assert "has uncommitted changes (acme/chat-large.yaml); commit or stash them first" in result.err
    assert git(synced.root, "status", "--porcelain") == "M models.d/acme/chat-large.yaml"  # `git` strips


def test_sync_all_takes_enabled_providers_with_a_network_format(make_synced) -> None:
    synced: Synced = make_synced()
    write(synced.catalog, "local/provider.yaml", """\
name: local
display_name: Local
discovery:
  format: ollama
  enabled: false
  url: http://127.0.0.1:9/api/tags
""")
    write(synced.catalog, "aws/provider.yaml", "name: aws\ndisplay_name: AWS\ndiscovery:\n  format: bedrock\n")
    commit_all(synced.root, "more providers")
    result = run_cli("sync", "--all", "--catalog", str(synced.catalog), "--dry-run")
    assert result.code == 0, result.err
    assert [line.split(":")[0] for line in result.out.splitlines() if line.startswith("sync ")] == ["sync acme"]


def test_usage_errors(make_synced) -> None:
    synced: Synced = make_synced()
    neither = run_cli("sync", "--catalog", str(synced.catalog))
    assert (neither.code, neither.err) == (2, "modelreg: error: name the providers to sync, or give --all\n")
    nope = run_cli("sync", "nope", "--catalog", str(synced.catalog))
    assert (nope.code, nope.err) == (2, "modelreg: error: unknown provider `nope` (the catalog has acme)\n")
    both = run_cli("sync", "acme", "--all", "--catalog", str(synced.catalog))
    assert (both.code, both.err) == (2, "modelreg: error: name the providers to sync, or give --all\n")


def test_a_merged_sync_branch_is_started_again_from_head(make_synced) -> None:
    synced: Synced = make_synced()
    assert synced.sync().code == 0
    git(synced.root, "merge", "-q", "--no-edit", "sync/acme")
    write(synced.catalog, "acme/other.yaml", "name: acme/other\nprovider: acme\ncapabilities: [chat]\n")
    commit_all(synced.root, "main moves on")
    synced.server.entries.append(entry("anthropic", "chat-tiny"))
    assert synced.sync().code == 0
    assert git(synced.root, "rev-parse", "sync/acme~1") == synced.head()
    assert git(synced.root, "diff", "--name-only", "HEAD", "sync/acme").split() == [
        "models.d/acme/chat-tiny.yaml", "models.d/acme/discovery.json"]


def _rules(*pairs: tuple[str, str]) -> str:
    lines = ["  rules:"]
    for match, capability in pairs:
        lines += [f'    - match: "{match}"', f"      capabilities: [{capability}]"]
    return "\n".join(lines) + "\n"


def test_a_discovered_model_gone_from_the_listing_stays_discovered(make_synced) -> None:
    synced: Synced = make_synced("openai", [entry("openai", "mystery-1"), entry("openai", "known-1")],
                                 extra=_rules(("known-*", "chat")), hand=False)
    assert synced.sync("--commit").code == 0
    del synced.server.entries[0]
    result = synced.sync("--commit")
    assert result.code == 0, result.err
    assert "mystery-1: gone from the listing before anyone placed it; left as discovered" in result.out
    data = yaml.safe_load((synced.catalog / "acme/mystery-1.yaml").read_text())
    assert data["lifecycle"] == {"status": "discovered"}
    assert run_cli("validate", "--catalog", str(synced.catalog)).code == 0


def test_a_discovered_model_placed_by_a_later_rule_joins_its_pools(make_synced) -> None:
    synced: Synced = make_synced("openai", [entry("openai", "mystery-1")], hand=False)
    assert synced.sync("--commit").code == 0
    provider = synced.catalog / "acme/provider.yaml"
    provider.write_text(provider.read_text().replace("defaults:", _rules(("mystery-*", "chat")) + "defaults:"))
    commit_all(synced.root, "a rule for it")
    result = synced.sync("--commit")
    assert result.code == 0, result.err
    data = yaml.safe_load((synced.catalog / "acme/mystery-1.yaml").read_text())
    assert data["capabilities"] == ["chat"]
    assert "lifecycle" not in data  # the provider's default status applies
    assert "+ acme/mystery-1 (#" in result.out


def test_a_deprecation_the_listing_states_reaches_every_model(make_synced) -> None:
    gone_soon = [{**entry("openai", "chat-large-2024"), "shutdown_date": "2026-06-01"},
                 {**entry("openai", "mystery-1"), "shutdown_date": "2026-06-01"}]
    synced: Synced = make_synced("openai", gone_soon)
    result = synced.sync("--commit")
    assert result.code == 0, result.err
    hand = yaml.safe_load((synced.catalog / "acme/chat-large.yaml").read_text())
    assert hand["lifecycle"] == {"status": "deprecated", "retires_at": "2026-06-01"}
    assert hand["capabilities"] == ["generation.text-generation"]  # a person placed it: kept
    found = yaml.safe_load((synced.catalog / "acme/mystery-1.yaml").read_text())
    assert found["lifecycle"] == {"status": "discovered", "retires_at": "2026-06-01"}


def test_a_model_listed_again_gets_its_own_status_back(make_synced) -> None:
    synced: Synced = make_synced()
    path = synced.catalog / "acme/chat-large.yaml"
    path.write_text(path.read_text() + "lifecycle:\n  status: preview\n")
    commit_all(synced.root, "preview")
    assert synced.sync("--commit").code == 0
    kept = synced.server.entries.pop(0)
    assert "1 deprecated" in synced.sync("--commit").out
    assert yaml.safe_load(path.read_text())["lifecycle"] == {"status": "deprecated", "deprecated_at": TODAY}
    synced.server.entries.insert(0, kept)
    assert "1 listed again" in synced.sync("--commit").out
    assert yaml.safe_load(path.read_text())["lifecycle"] == {"status": "preview"}


def test_an_entry_that_does_not_fit_a_model_file_is_skipped_and_the_rest_land(make_synced) -> None:
    long_id = "x" + "!" * 299 + "y"  # its name, `acme/x-y`, fits; the ID is over the 300 the schema allows
    synced: Synced = make_synced("anthropic", [entry("anthropic", long_id), entry("anthropic", "chat-small")],
                                 hand=False)
    result = synced.sync("--commit")
    assert result.code == 0, result.err
    assert f"{long_id}: the listing's values do not fit a model file (model_id: " in result.out
    assert (synced.catalog / "acme/chat-small.yaml").is_file()
    record = json.loads((synced.catalog / "acme/discovery.json").read_text())
    assert list(record["models"]) == ["chat-small"]


def test_validate_reports_a_discovery_rule_naming_what_the_tree_lacks(make_synced) -> None:
    synced: Synced = make_synced(extra='  rules:\n    - match: "*"\n      capabilities: [generation.chatt]\n'
                                       '      features:\n        visoin: true\n')
    result = run_cli("validate", "--catalog", str(synced.catalog))
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if "error[" in line]
    assert lines[0].startswith(f"{synced.catalog}/acme/provider.yaml:12:22: error[unknown-capability]: unknown "
                               "capability `generation.chatt`")
    assert lines[1].startswith(f"{synced.catalog}/acme/provider.yaml:14:9: error[unknown-feature]: unknown feature "
                               "`visoin`; did you mean `vision`?")
    failed = synced.sync()
    assert failed.code == 1 and "acme/provider.yaml:12:22: error[unknown-capability]" in failed.err
    assert synced.server.seen != [] and synced.branch() is None


def test_a_squash_merged_sync_branch_is_started_again_from_head(make_synced) -> None:
    synced: Synced = make_synced()
    assert synced.sync().code == 0
    git(synced.root, "merge", "-q", "--squash", "sync/acme")
    git(synced.root, "commit", "-q", "-m", "squashed sync")
    synced.server.entries.append(entry("anthropic", "chat-tiny"))
    assert synced.sync().code == 0
    assert git(synced.root, "rev-parse", "sync/acme~1") == synced.head()


def test_listing_usage_errors_say_what_to_do(make_synced, tmp_path: Path) -> None:
    synced: Synced = make_synced()
    both = run_cli("sync", "--all", "--listing", "x.json", "--catalog", str(synced.catalog))
    assert (both.code, both.err) == (2, "modelreg: error: --listing reads one provider's listing: name the provider\n")
    folder = run_cli("sync", "acme", "--listing", str(tmp_path), "--catalog", str(synced.catalog), "--dry-run")
    assert folder.code == 2
    assert folder.err.endswith(f"cannot read the listing file {tmp_path}: Is a directory\n")
    missing = run_cli("sync", "acme", "--listing", str(tmp_path / "nope.json"), "--catalog", str(synced.catalog))
    assert missing.code == 2 and missing.err.endswith(f"listing file not found: {tmp_path / 'nope.json'}\n")
