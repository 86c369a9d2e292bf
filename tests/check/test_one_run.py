"""One run reports every problem: YAML, schema and catalog checks of a file, all at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml
from tests.conftest import CAPABILITIES, PROVIDER, run_cli, write

SEVEN_MISTAKES = """\
name: acme/chat-large
provider: acme
model_id: chat-large:2024
capabilities: [generaton.text-generation, embedding.text-embeding]
features:
  tool_caling: true
batch: yes
limits:
  context_window: 5
  context_window: big
priorty: 10
"""


def test_a_file_with_seven_mistakes_gets_all_seven_in_one_validate(catalog: Path) -> None:
    write(catalog, "acme/chat-large.yaml", SEVEN_MISTAKES)
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 1
    file = f"{catalog}/acme/chat-large.yaml"
    assert result.err.splitlines() == [
        f"{file}:4:16: error[unknown-capability]: unknown capability `generaton.text-generation`; did you mean "
        "`generation.text-generation`?",
        f"{file}:4:43: error[unknown-capability]: unknown capability `embedding.text-embeding`; did you mean "
        "`embedding.text-embedding`?",
        f"{file}:6:3: error[unknown-feature]: unknown feature `tool_caling`; did you mean `tool_calling`? "
        "(features are listed in capabilities.yaml)",
        # One diagnostic a place: the YAML problem, not also the schema's boolean that `yes` is not.
        f"{file}:7:8: error[yaml-ambiguous]: unquoted `yes` is the text \"yes\" in YAML 1.2 but a boolean in "
        "YAML 1.1 tools; write `true` or `false` for a flag, or quote it (\"yes\") for text",
        f"{file}:10:3: error[duplicate-key]: duplicate key `context_window` (first defined on line 9); keep one",
        # The last of two keys is what other YAML tools read, and what the schema is shown.
        f"{file}:10:19: error[type]: limits.context_window must be an integer, not a string",
        f"{file}:11:1: error[unknown-key]: unknown key `priorty` in the document; did you mean `priority`? "
        "(put your own data under an `x-` prefixed key)",
        f"{catalog}: invalid (7 error(s), 0 warning(s))",
    ]


def test_the_same_run_in_json_and_compile_writes_nothing(catalog: Path) -> None:
    write(catalog, "acme/chat-large.yaml", SEVEN_MISTAKES)
    result = run_cli("validate", "--catalog", str(catalog), "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert [(d["line"], d["column"], d["code"]) for d in report["diagnostics"]] == [
        (4, 16, "unknown-capability"), (4, 43, "unknown-capability"), (6, 3, "unknown-feature"),
        (7, 8, "yaml-ambiguous"), (10, 3, "duplicate-key"), (10, 19, "type"), (11, 1, "unknown-key")]
    out = catalog.parent / "build" / "registry.json"
    compiled = run_cli("compile", "--catalog", str(catalog), "-o", str(out))
    assert compiled.code == 1
    assert len([line for line in compiled.err.splitlines() if ": error[" in line]) == 7
    assert not out.parent.exists()


def test_a_provider_file_with_schema_errors_is_checked_as_far_as_it_reads(catalog: Path) -> None:
    write(catalog, "acme/provider.yaml", PROVIDER.replace("streaming: true", "streeming: true")
          .replace("priority: 50", "priority: high").replace("name: acme", "name: acne"))
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 1
    file = f"{catalog}/acme/provider.yaml"
    # Its models are not checked against a provider that is broken: their errors would be its.
    assert result.err.splitlines() == [
        f"{file}:1:7: error[name-path-mismatch]: provider name `acne` does not match its directory `acme`; "
        "write `name: acme`",
        f"{file}:8:5: error[unknown-feature]: unknown feature `streeming`; did you mean `streaming`? "
        "(features are listed in capabilities.yaml)",
        f"{file}:11:13: error[type]: defaults.priority must be an integer, not a string",
        f"{catalog}: invalid (3 error(s), 0 warning(s))",
    ]


def test_a_tree_the_schema_accepts_is_used_despite_its_yaml_problems(catalog: Path) -> None:
    write(catalog, "capabilities.yaml", CAPABILITIES.replace("Vectors.\n", "Vectors.\n    description: Embeddings.\n"))
    write(catalog, "acme/embed-small.yaml", "name: acme/embed-small\nprovider: acme\ncapabilities: [embeding]\n")
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 1
    assert result.err.splitlines() == [
        f"{catalog}/acme/embed-small.yaml:3:16: error[unknown-capability]: unknown capability `embeding`; "
        "did you mean `embedding`?",
        f"{catalog}/capabilities.yaml:18:5: error[duplicate-key]: duplicate key `description` (first defined on "
        "line 17); keep one",
        f"{catalog}: invalid (2 error(s), 0 warning(s))",
    ]


def test_what_stops_a_file_stops_only_that_file(catalog: Path) -> None:
    # Broken syntax leaves nothing to read past; the other files are checked all the same.
    write(catalog, "acme/chat-large.yaml", "name: acme/chat-large\ncapabilities: [chat\nbatch: yes\n")
    write(catalog, "acme/embed-small.yaml", "name: acme/embed-small\nprovider: acme\ncapabilities: [nope]\n"
                                            "priority: no\n")
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 1
    lines = result.err.splitlines()
    assert [line.split(": ")[1] for line in lines[:-1]] == [
        "error[yaml-syntax]", "error[unknown-capability]", "error[yaml-ambiguous]"]
    assert lines[0].startswith(f"{catalog}/acme/chat-large.yaml:3:6: error[yaml-syntax]: invalid YAML: did not "
                            "find expected ',' or ']'")
    assert lines[1].startswith(f"{catalog}/acme/embed-small.yaml:3:16: error[unknown-capability]: ")
    assert lines[2].startswith(f"{catalog}/acme/embed-small.yaml:4:11: error[yaml-ambiguous]: unquoted `no`")


def test_the_loader_reads_past_what_it_refuses_only_when_asked() -> None:
    text = b"a: yes\nb: 1\nb: 2\n1: x\n<<: {c: 3}\nd: !!binary aGk=\ne: [.inf, ok]\n"
    doc = load_yaml("f.yaml", text, recover=True)
    assert doc.data == {"a": "yes", "b": 2, "1": "x", "d": "aGk=", "e": [".inf", "ok"]}
    assert [f"{d.line}:{d.column}: {d.code}" for d in doc.problems] == [
        "1:4: yaml-ambiguous", "3:1: duplicate-key", "4:1: yaml-key", "5:1: yaml-merge", "6:4: yaml-tag",
        "7:5: yaml-type"]
    with pytest.raises(YamlLoadError) as strict:
        load_yaml("f.yaml", text)
    assert strict.value.diagnostics == list(doc.problems)
    assert strict.value.diagnostic == doc.problems[0]
