"""`show` and `route` answer in JSON for tools, shaped by schemas/show.schema.json and
schemas/route.schema.json, saying what their text says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import REPO, run_cli, write

CODER = {"name": "acme/coder", "provider": "acme", "model_id": "chat-large:2024", "status": "active", "priority": 5,
         "context_window": 128000}
CHAT_LARGE = {**CODER, "name": "acme/chat-large", "priority": 10}
EMBED_SMALL = {"name": "acme/embed-small", "provider": "acme", "model_id": "embed-small", "status": "active",
               "priority": 50, "context_window": 8192}


def answer(schema: str, *argv: str) -> dict[str, Any]:
    """The JSON a command prints, after checking it against its schema."""
    result = run_cli(*argv, "--format", "json")
    assert result.code == 0, result.err
    document: dict[str, Any] = json.loads(result.out)
    validator = Draft202012Validator(json.loads((REPO / "schemas" / f"{schema}.schema.json").read_text()))
    assert [error.message for error in validator.iter_errors(document)] == []
    return document


def test_show_the_tree(catalog: Path) -> None:
    document = answer("show", "show", "--catalog", str(catalog))
    assert (document["format"], document["version"], document["view"]) == ("modelreg-show", 1, "tree")
    assert [(n["path"], n["depth"], n["pool_size"], n["aliases"], n["deprecated"]) for n in document["capabilities"]] \
        == [("generation", 0, 2, [], False), ("generation.text-generation", 1, 2, ["chat"], False),
            ("generation.text-generation.code-generation", 2, 1, [], False),
            ("generation.text-completion", 1, 0, [], True), ("embedding", 0, 1, [], False),
            ("embedding.text-embedding", 1, 1, [], False)]
    assert document["discovered"] == []
    assert (document["models"], document["capability"], document["provider"], document["model_id"]) == (
        None, None, None, None)
    summary = document["summary"]
    assert {k: v for k, v in summary.items() if k != "text"} == {"models": 3, "providers": 1, "pools": 6,
                                                                  "non_empty_pools": 5}
    snapshot = document["snapshot"]
    assert (snapshot["source"], snapshot["label"], snapshot["commit"]) == (f"{catalog} (compiled)", "unversioned",
                                                                           None)
    # The text says the same, its last line the summary's.
    text = run_cli("show", "--catalog", str(catalog)).out
    expected = f"3 models from 1 providers; 6 capability pools (5 non-empty); version unversioned, " \
               f"{snapshot['digest'][:19]}"
    assert text.splitlines()[-1] == summary["text"] == expected


def test_show_a_pool_a_provider_and_a_model_id_from_a_snapshot(catalog: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(snapshot)).code == 0
    pool = answer("show", "show", "--snapshot", str(snapshot), "--capability", "chat")
    assert (pool["view"], pool["capability"], pool["models"]) == (
        "pool", {"path": "generation.text-generation", "pool_size": 2}, [CODER, CHAT_LARGE])
    assert pool["snapshot"]["source"] == str(snapshot)

    both = answer("show", "show", "--snapshot", str(snapshot), "--capability", "generation", "--provider", "acme")
    assert (both["view"], both["capability"]["pool_size"], both["provider"]) == (
        "pool", 2, {"name": "acme", "display_name": "Acme AI"})

    provider = answer("show", "show", "--snapshot", str(snapshot), "--provider", "acme")
    assert (provider["view"], provider["models"]) == ("provider", [CHAT_LARGE, CODER, EMBED_SMALL])

    by_id = answer("show", "show", "--snapshot", str(snapshot), "--model-id", "chat-large:2024")
    assert (by_id["view"], by_id["model_id"], by_id["models"]) == ("model-id", "chat-large:2024", [CHAT_LARGE, CODER])
    none = answer("show", "show", "--snapshot", str(snapshot), "--model-id", "gpt-4o", "--provider", "openai")
    assert (none["models"], none["provider"]) == ([], None)  # a provider the catalog lacks finds nothing


def test_show_lists_discovered_models(catalog: Path) -> None:
    write(catalog, "acme/fresh.yaml", "name: acme/fresh\nprovider: acme\ncapabilities: []\n"
                                      "lifecycle: {status: discovered}\n")
    document = answer("show", "show", "--catalog", str(catalog))
    assert document["discovered"] == ["acme/fresh"]


def test_route_gives_candidates_in_order_and_why_the_others_are_out(catalog: Path) -> None:
    write(catalog, "acme/chat-large.yaml", (catalog / "acme/chat-large.yaml").read_text()
          + "lifecycle: {status: deprecated, replacement: acme/coder}\n")
    document = answer("route", "route", "chat", "--catalog", str(catalog), "--no-deprecated", "--min-context", "1000",
                      "--feature", "tool_calling")
    assert (document["format"], document["version"]) == ("modelreg-route", 1)
    assert document["request"] == {"capability": "chat", "features": ["tool_calling"], "min_context": 1000,
                                   "input_modalities": [], "providers": None, "exclude_providers": [],
                                   "include_deprecated": False}
    assert (document["capability"], document["pool_size"]) == ("generation.text-generation", 2)
    assert document["candidates"] == [CODER]
    assert document["excluded"] == [{"model": {**CHAT_LARGE, "status": "deprecated"},
                                    "reason": "deprecated models are excluded"}]
    assert document["snapshot"]["source"] == f"{catalog} (compiled)"
    text = run_cli("route", "chat", "--catalog", str(catalog), "--no-deprecated", "--min-context", "1000",
                   "--feature", "tool_calling").out
    assert text.splitlines() == [
        "generation.text-generation (alias `chat`): 1 of 2 model(s) can serve, in routing order",
        "#  MODEL       PROVIDER  STATUS  PRIORITY  CONTEXT  MODEL ID",
        "1  acme/coder  acme      active  5         128,000  chat-large:2024",
        "",
        "excluded (1):",
        "MODEL            REASON",
        "acme/chat-large  deprecated models are excluded",
    ]


def test_route_that_nothing_serves(catalog: Path) -> None:
    document = answer("route", "route", "embedding", "--catalog", str(catalog), "--exclude-provider", "acme")
    assert (document["candidates"], [e["reason"] for e in document["excluded"]]) == (
        [], ["provider `acme` is excluded"])
    assert document["request"]["exclude_providers"] == ["acme"]


@pytest.mark.parametrize("verb", ["show", "route"])
def test_an_invalid_catalog_answers_with_its_diagnostics_in_json(catalog: Path, verb: str) -> None:
    write(catalog, "acme/coder.yaml", "name: acme/coder\nprovider: acme\ncapabilities: [nope]\n")
    argv = ["route", "chat"] if verb == "route" else ["show"]
    result = run_cli(*argv, "--catalog", str(catalog), "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["format"] == "modelreg-diagnostics"
    assert [(d["file"], d["line"], d["column"], d["code"]) for d in report["diagnostics"]] == [
        (f"{catalog}/acme/coder.yaml", 3, 16, "unknown-capability")]


UNKNOWN_CHATT = "modelreg: error: unknown capability `chatt`; did you mean `generation.text-generation`?\n"


@pytest.mark.parametrize(("argv", "message"), [
    (["show", "--capability", "chatt"], UNKNOWN_CHATT),
    (["show", "--provider", "acne"], "modelreg: error: unknown provider `acne`; known: acme\n"),
    (["route", "chatt"], UNKNOWN_CHATT),
])
def test_a_wrong_question_is_a_usage_error_with_nothing_on_stdout(catalog: Path, argv: list[str],
                                                                   message: str) -> None:
    result = run_cli(*argv, "--catalog", str(catalog), "--format", "json")
    assert (result.code, result.out, result.err) == (2, "", message)
