"""Every bad input the compiler must survive: exit 1, a located diagnostic, nothing written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CHAT, run_cli, write

Mutation = Callable[[Path], None]


def _model(text: str) -> Mutation:
    def mutate(root: Path) -> None:
        write(root, "acme/chat-large.yaml", text)

    return mutate


def _two_files_one_name(root: Path) -> None:
    write(root, "acme/chat-copy.yaml", CHAT)


def _big_file(root: Path) -> None:
    (root / "acme" / "huge.yaml").write_text("name: x\n" + "# padding\n" * 220_000, encoding="utf-8")


def _bad_utf8(root: Path) -> None:
    (root / "acme" / "chat-large.yaml").write_bytes(CHAT.encode() + b"description: caf\xe9\n")


def _symlink(root: Path) -> None:
    os.symlink("/etc/passwd", root / "acme" / "passwd.yaml")


ALIAS_BOMB = """\
name: acme/chat-large
provider: acme
capabilities: [generation.text-generation]
x-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
x-g: [*f, *f, *f, *f, *f, *f, *f, *f, *f]
"""

CASES: dict[str, tuple[Mutation, str, int, int, str, str]] = {
    # name: (mutation, file, line, column, code, message fragment)
    "duplicate key": (_model(CHAT + "priority: 20\n"), "acme/chat-large.yaml", 10, 1, "duplicate-key",
                      "duplicate key `priority` (first defined on line 9)"),
    "unknown key": (_model(CHAT.replace("priority: 10", "priorty: 10")), "acme/chat-large.yaml", 9, 1,
                    "unknown-key", "unknown key `priorty` in the document; did you mean `priority`?"),
    "wrong type": (_model(CHAT.replace("context_window: 128000", "context_window: big")),
                   "acme/chat-large.yaml", 8, 19, "type", "limits.context_window must be an integer, not a string"),
    "yaml 1.1 boolean": (_model(CHAT + "batch: yes\n"), "acme/chat-large.yaml", 10, 8, "yaml-ambiguous",
                         "unquoted `yes` is the text \"yes\" in YAML 1.2 but a boolean in YAML 1.1 tools; "
                         "write `true` or `false` for a flag, or quote it (\"yes\") for text"),
    "yaml 1.1 float": (_model(CHAT.replace("chat-large:2024", "3.10")), "acme/chat-large.yaml", 3, 11, "type",
                       "model_id must be a string, but `3.10` reads as a number; quote the value: \"3.10\""),
    "provider no": (_model(CHAT.replace("provider: acme", "provider: no")), "acme/chat-large.yaml", 2, 11,
                    "yaml-ambiguous", "or quote it (\"no\") for text"),
    "unknown capability": (_model(CHAT.replace("[generation.text-generation]", "[generaton.text-generation]")),
                           "acme/chat-large.yaml", 4, 16, "unknown-capability",
                           "unknown capability `generaton.text-generation`; did you mean "
                           "`generation.text-generation`?"),
    "unknown feature": (_model(CHAT.replace("tool_calling", "tool_caling")), "acme/chat-large.yaml", 6, 3,
                        "unknown-feature", "unknown feature `tool_caling`; did you mean `tool_calling`?"),
    "unknown provider": (_model(CHAT.replace("acme/chat-large", "acne/chat-large").replace("provider: acme",
                                                                                          "provider: acne")),
                         "acme/chat-large.yaml", 2, 11, "unknown-provider",
                         "unknown provider `acne`; did you mean `acme`?"),
    "duplicate name": (_two_files_one_name, "acme/chat-large.yaml", 1, 7, "duplicate-name",
                       "model `acme/chat-large` is already defined in"),
    "name/path mismatch": (_model(CHAT.replace("name: acme/chat-large", "name: acme/chat-xl")),
                           "acme/chat-large.yaml", 1, 7, "name-path-mismatch",
                           "name `acme/chat-xl` does not match the file's path; write `name: acme/chat-large`"),
    "alias bomb": (_model(ALIAS_BOMB), "acme/chat-large.yaml", 4, 6, "yaml-anchor",
                   "YAML anchor `a` is not allowed"),
    "2 MB file": (_big_file, "acme/huge.yaml", 1, 1, "file-too-large", "the limit is 1,048,576 bytes"),
    "invalid utf-8": (_bad_utf8, "acme/chat-large.yaml", 10, 17, "encoding", "invalid UTF-8 byte 0xe9"),
    "empty file": (_model(""), "acme/chat-large.yaml", 1, 1, "empty-file", "the file is empty"),
    "list file": (_model("- name: acme/chat-large\n"), "acme/chat-large.yaml", 1, 1, "not-a-mapping",
                  "the file holds a list; it must be a mapping of keys"),
    "symlink out": (_symlink, "acme/passwd.yaml", 1, 1, "symlink", "symlink points outside the catalog"),
    "missing replacement": (_model(CHAT + "lifecycle:\n  status: deprecated\n  replacement: acme/chat-xxl\n"),
                            "acme/chat-large.yaml", 12, 16, "unknown-replacement",
                            "replacement `acme/chat-xxl` is not a model in the catalog"),
    "retired without replacement": (_model(CHAT + "lifecycle:\n  status: retired\n"), "acme/chat-large.yaml",
                                    11, 11, "retired-without-replacement", "must name its `replacement`"),
    "merge key": (_model(CHAT + "<<: {batch: true}\n"), "acme/chat-large.yaml", 10, 1, "yaml-merge",
                  "merge keys (`<<`) are not allowed"),
    "python tag": (_model(CHAT + "x-evil: !!python/object:os.system ls\n"), "acme/chat-large.yaml", 10, 9,
                   "yaml-tag", "tag `tag:yaml.org,2002:python/object:os.system` is not allowed"),
    "number too large": (_model(CHAT + "cost:\n  input_per_mtok: 1e400\n"), "acme/chat-large.yaml", 11, 19,
                         "yaml-type", "`1e400` is not a finite number; JSON cannot hold it"),
    "bad list item": (_model(CHAT.replace("[generation.text-generation]", "[chat, Bad Path]")),
                      "acme/chat-large.yaml", 4, 22, "pattern", "capabilities.1 `Bad Path` is not valid"),
    # Python's `$` also matches before a final newline; the schema's patterns mean the end.
    "newline ending a name": (_model(CHAT.replace("name: acme/chat-large", 'name: "acme/chat-large\\n"')),
                              "acme/chat-large.yaml", 1, 7, "schema",
                              'name: "acme/chat-large\\n" does not match'),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_with_located_diagnostic_and_writes_nothing(catalog: Path, case: str) -> None:
    mutate, rel, line, column, code, fragment = CASES[case]
    out = catalog.parent / "build" / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    before = out.read_bytes()

    mutate(catalog)
    result = run_cli("compile", "--catalog", str(catalog), "-o", str(out))

    assert result.code == 1, result.err
    expected = f"{catalog}/{rel}:{line}:{column}: error[{code}]: "
    located = [ln for ln in result.err.splitlines() if ln.startswith(expected)]
    assert located, f"no `{expected}` in:\n{result.err}"
    assert fragment in located[0]
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["registry.json"]  # no temporary left behind

    validated = run_cli("validate", "--catalog", str(catalog))
    assert validated.code == 1
    assert expected in validated.err


def test_all_diagnostics_of_a_run_are_reported_in_order(catalog: Path) -> None:
    write(catalog, "acme/chat-large.yaml", CHAT.replace("priority: 10", "priorty: 10").replace(
        "tool_calling", "tool_caling"))
    write(catalog, "acme/embed-small.yaml", "name: acme/embed-small\nprovider: acme\ncapabilities: [nope]\n")
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 1
    codes = [ln.split(": ")[1] for ln in result.err.splitlines() if ": error[" in ln]
    # Files in path order, then lines; a file that fails its schema is still checked as far as it reads.
    assert codes == ["error[unknown-feature]", "error[unknown-key]", "error[unknown-capability]"]


def test_no_output_is_created_when_there_was_none(catalog: Path) -> None:
    write(catalog, "acme/chat-large.yaml", "")
    out = catalog.parent / "out" / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 1
    assert not out.exists()


def test_a_copied_file_is_reported_on_both_files_each_naming_the_other(catalog: Path) -> None:
    _two_files_one_name(catalog)
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if "duplicate-name" in line]
    assert lines == [
        f"{catalog}/acme/chat-copy.yaml:1:7: error[duplicate-name]: model `acme/chat-large` is defined again in "
        f"{catalog}/acme/chat-large.yaml:1; names are unique (ignoring case)",
        f"{catalog}/acme/chat-large.yaml:1:7: error[duplicate-name]: model `acme/chat-large` is already defined in "
        f"{catalog}/acme/chat-copy.yaml:1; names are unique (ignoring case)",
    ]
