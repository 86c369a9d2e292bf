"""The loader's fast path for plain block-style files gives exactly what the full parser gives.

Whenever the fast path reads a file, the full parser must read the same data from it (same keys
in the same order, same types); whenever the full parser would report a problem, the fast path
must hand the file over instead. Checked on every bundled file, on hand-picked tricky lines, and
on thousands of seeded random documents assembled from such lines.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from modelreg.catalog import yaml_loader
from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml

ROOT = Path(__file__).resolve().parents[2]


def full(text: str) -> tuple[str, object]:
    """What the full parser makes of `text`: ("ok", data) or ("error", diagnostic code)."""
    try:
        return "ok", yaml_loader._full_load("f.yaml", text).data
    except YamlLoadError as exc:
        return "error", exc.diagnostic.code


def agrees(text: str) -> bool:
    """Check the contract on one text; True when the fast path read it."""
    fast = yaml_loader._fast_load(text)
    if fast is None:
        return False
    outcome, data = full(text)
    assert outcome == "ok", f"fast path accepted what the full parser refuses ({data}):\n{text}"
    # repr tells 1 from 1.0 and True from 1, which == does not.
    assert repr(fast) == repr(data), text
    return True


def test_every_bundled_catalog_file_takes_the_fast_path() -> None:
    files = sorted((ROOT / "models.d").rglob("*.yaml"))
    assert len(files) > 150
    for path in files:
        fast = agrees(path.read_text(encoding="utf-8"))
        # Discovery rules are a list of mappings, which only the full parser reads: a provider
        # file is one per provider, so that costs nothing.
        assert fast or (path.name == "provider.yaml" and "rules:" in path.read_text(encoding="utf-8")), path


def test_fast_path_reads_the_catalog_style() -> None:
    text = """# yaml-language-server: $schema=../../schemas/model.schema.json
name: acme/m-1   # a comment
provider: acme
model_id: "m-1:2024-05-13"
display_name: M 1 (beta)
description: 'Fast, cheap: good for drafts.'
capabilities:
  - generation.text-generation
features:
  vision: true
  tool_calling: False
limits:
  context_window: 128000
modalities:
  input: [text, "image", 'audio']
  output: []
cost:
  input_per_mtok: 0.15
  output_per_mtok: 6e-1
extra:
- a
- -5
empty:
priority: 0x10
"""
    assert yaml_loader._fast_load(text) == {
        "name": "acme/m-1", "provider": "acme", "model_id": "m-1:2024-05-13", "display_name": "M 1 (beta)",
        "description": "Fast, cheap: good for drafts.", "capabilities": ["generation.text-generation"],
        "features": {"vision": True, "tool_calling": False}, "limits": {"context_window": 128000},
        "modalities": {"input": ["text", "image", "audio"], "output": []},
        "cost": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}, "extra": ["a", -5], "empty": None,
        "priority": 16,
    }
    assert agrees(text)


@pytest.mark.parametrize("text", [
    "a: yes\n",                      # ambiguous: the full path reports it with its position
    "a: [b, on]\n",
    "a: .inf\n",
    "a: 1\na: 2\n",                  # duplicate key
    "true: 1\n",                     # a key that is not a string
    "a: &x 1\n",
    "a: *x\n",
    "a: !!str 1\n",
    "<<: {b: 1}\n",
    "a: |\n  text\n",
    "a: >\n  text\n",
    "a: \"tab\\there\"\n",           # escapes
    "a: 'it''s'\n",
    "a: {b: 1}\n",
    "a:\n  - b: 1\n",                # mappings in lists
    "a:\n  - - b\n",
    "a: b\n  c\n",                   # a plain scalar over two lines
    "a:\tb\n",
    "a: b\r\n",
    "a: b\u2028c: d\n",
    "\ufeffa: b\n",
    "---\na: b\n",
    "a: b\n---\nc: d\n",
    "a: b\n...\n",
    "%YAML 1.2\n---\na: b\n",
    "  a: b\n",                      # an indented root
    "a:\n  b: 1\n c: 2\n",
    "a:\n- b\n  - c\n",
    "- a\n- b\n",                    # a list at the root
    "just text\n",
    "# only a comment\n",
    "",
    "a: b #c\n",
    "a: b#c\n",
    "a: \"b\"#c\n",
    "a: [b, c,]\n",
    "a: [b\n",
    "a: -\n",
    "a: ? b\n",
    "a: b: c\n",
    "a:b\n",
    "? a\n: b\n",
    "a: @b\n",
    "a: `b`\n",
    "a: %b\n",
    "a: " + "9" * 200 + "\n",
    "a: 1e400\n",
    "a: \x85b\n",
    "a: \x07\n",
    "x" * 200 + ": 1\n",
])
def test_tricky_lines_are_read_alike_or_handed_over(text: str) -> None:
    agrees(text)


def test_hand_over_keeps_the_full_parsers_diagnostics() -> None:
    with pytest.raises(YamlLoadError) as info:
        load_yaml("f.yaml", b"name: a\nfeatures:\n  vision: yes\n")
    d = info.value.diagnostic
    assert (d.line, d.column, d.code) == (3, 11, "yaml-ambiguous")


KEYS = ["a", "b", "name", "c-d", "e_f", "g.h", "x-1", "1", "true", "null", "on", "yes", "Y", "k" * 130]
VALUES = [
    "", "x", "hello world", "a  b", "a b ", "1", "-1", "+1", "0o17", "0x1F", "012", "1.5", "1e3", "-.5", ".inf",
    "1e400", "true", "False", "TRUE", "tRue", "null", "~", "Null", "yes", "No", "on", "OFF", "y", "n", "1:10",
    "a:b", "a: b", "a #c", "a#c", "# c", "\"q\"", "\"q #x\"", "\"a\\\"b\"", "'s'", "'it''s'", "''", "\"\"", "[]",
    "[a]", "[a, b]", "[ a , 'b' ]", "[a,b,]", "[a, [b]]", "[yes]", "[\"x, y\"]", "{}", "{a: 1}", "-", "- x", "-x",
    "|", ">", "&a x", "*a", "!t x", "!!str 3", "@x", "`x`", "%x", "?x", ":x", ",x", "[x", "x]", "(x)", "/p/q",
    "é", "naïve café", "a\tb", "a\rb", "2024-05-13", "3.10", "model:latest", "a, b", "a [b]", "x,y",
]


def random_document(rng: random.Random) -> str:
    """Lines at mostly consistent indents (a random walk over nesting), with tricky keys, values
    and the odd malformed line."""
    lines = []
    indents = [0]
    opened = False  # the last line was `key:` with no value
    for _ in range(rng.randint(1, 14)):
        if opened and rng.random() < 0.8:
            indents.append(indents[-1] + rng.choice([0, 1, 2, 2, 4]))
        elif len(indents) > 1 and rng.random() < 0.3:
            indents.pop()
        indent = " " * max(0, indents[-1] + (rng.choice([-1, 1]) if rng.random() < 0.05 else 0))
        shape = rng.random()
        opened = False
        if shape < 0.6:
            value = rng.choice(VALUES) if rng.random() < 0.7 else ""
            opened = not value
            comment = rng.choice(["", "", "", " # c", "  #c", "#c"])
            lines.append(f"{indent}{rng.choice(KEYS)}:{' ' if value else ''}{value}{comment}")
        elif shape < 0.88:
            lines.append(f"{indent}-{rng.choice([' ', ' ', '  ', ''])}{rng.choice(VALUES)}")
        elif shape < 0.95:
            lines.append(indent + rng.choice(["# note", "", "   "]))
        else:
            lines.append(indent + rng.choice(["---", "...", "key : v", "? k", ": v", "k:  # c", "k: v: w"]))
    return "\n".join(lines) + rng.choice(["\n", "", "\n\n"])


def test_random_documents_are_read_alike_or_handed_over() -> None:
    rng = random.Random(20261126)
    read = 0
    for _ in range(8000):
        read += agrees(random_document(rng))
    # The generator must reach the fast path often enough for the check to mean something.
    assert read > 200, read


def test_random_catalog_shaped_documents() -> None:
    # Well-formed nesting with random scalars: most of these take the fast path.
    rng = random.Random(7)
    read = 0
    for _ in range(2000):
        out = []
        for i in range(rng.randint(1, 6)):
            key = f"k{i}"
            kind = rng.random()
            if kind < 0.4:
                out.append(f"{key}: {rng.choice(VALUES[1:])}")
            elif kind < 0.7:
                out.append(f"{key}:")
                step = rng.choice([1, 2, 4])
                for j in range(rng.randint(1, 4)):
                    out.append(f"{' ' * step}s{j}: {rng.choice(VALUES[1:])}")
            else:
                out.append(f"{key}:")
                step = rng.choice([0, 2])
                for _ in range(rng.randint(1, 4)):
                    out.append(f"{' ' * step}- {rng.choice(VALUES[1:])}")
        read += agrees("\n".join(out) + "\n")
    assert read > 200, read
