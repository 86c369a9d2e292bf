"""The hardened YAML loader: YAML 1.2 scalars, refused constructs, exact positions."""

from __future__ import annotations

import pytest

from modelreg.catalog.yaml_loader import MAX_DEPTH, YamlLoadError, load_yaml


def load(text: str) -> object:
    return load_yaml("f.yaml", text.encode()).data


def error(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(YamlLoadError) as info:
        load_yaml("f.yaml", raw)
    d = info.value.diagnostic
    return f"{d.file}:{d.line}:{d.column}: {d.code}: {d.message}"


def test_scalars_follow_yaml_1_2() -> None:
    assert load("""
a: "yes"
b: 'no'
c: "on"
d: 'off'
e: true
f: False
g: 3.10
h: 1:10
i: 2024-05-13
j: 012
k: 0x1F
l: 0o17
m: ~
n:
o: 1e3
p: "3.10"
q: y
""") == {"a": "yes", "b": "no", "c": "on", "d": "off", "e": True, "f": False, "g": 3.1, "h": "1:10",
         "i": "2024-05-13", "j": 12, "k": 31, "l": 15, "m": None, "n": None, "o": 1000.0, "p": "3.10", "q": "y"}


def test_unquoted_yaml_1_1_booleans_must_say_what_they_mean() -> None:
    assert error("a: 1\nb: no\n") == (
        "f.yaml:2:4: yaml-ambiguous: unquoted `no` is the text \"no\" in YAML 1.2 but a boolean in YAML 1.1 "
        "tools; write `true` or `false` for a flag, or quote it (\"no\") for text")
    assert error("a: [On]\n").startswith("f.yaml:1:5: yaml-ambiguous: unquoted `On`")
    assert load("on: 1\nyes: [y, n, nope]\n") == {"on": 1, "yes": ["y", "n", "nope"]}  # keys and y/n are plain text


def test_duplicate_key_names_both_lines() -> None:
    assert error("a: 1\nb:\n  c: 1\n  c: 2\n") == (
        "f.yaml:4:3: duplicate-key: duplicate key `c` (first defined on line 3); keep one")


def test_anchor_alias_and_merge_are_refused() -> None:
    assert error("a: &x 1\nb: 2\n") == (
        "f.yaml:1:4: yaml-anchor: YAML anchor `x` is not allowed; write the value out in full")
    assert error("a: 1\nb: *x\n").startswith("f.yaml:2:4: yaml-")
    assert error("a: 1\n<<: {b: 2}\n") == (
        "f.yaml:2:1: yaml-merge: merge keys (`<<`) are not allowed; write the keys out")


def test_ampersand_in_a_string_is_fine() -> None:
    assert load('url: "https://x.test/?a=1&b=2"\nnote: a * b\n') == {"url": "https://x.test/?a=1&b=2", "note": "a * b"}


def test_tags_other_than_the_core_ones_are_refused() -> None:
    assert error("a: !!binary aGk=\n") == (
        "f.yaml:1:4: yaml-tag: tag `tag:yaml.org,2002:binary` is not allowed; remove it")
    assert error("a: !custom x\n").startswith("f.yaml:1:4: yaml-tag: tag `!custom`")
    assert load("a: !!str 3.10\n") == {"a": "3.10"}


def test_non_finite_numbers_and_complex_keys() -> None:
    assert error("a: .inf\n").startswith("f.yaml:1:4: yaml-type: `.inf` is not a finite number")
    assert error("? [a, b]\n: 1\n").startswith("f.yaml:1:3: yaml-key: mapping keys must be plain strings")
    assert error("1: a\n") == "f.yaml:1:1: yaml-key: key `1` is not a string; quote it: '1'"


def test_depth_size_encoding_and_syntax() -> None:
    deep = "a:\n" + "".join("  " * i + "b:\n" for i in range(1, MAX_DEPTH + 3))
    assert error(deep).split(": ")[1] == "yaml-depth"
    assert error(b"a: 1\n" + b"#" * (1024 * 1024)).startswith("f.yaml:1:1: file-too-large:")
    assert error(b"a: 1\nb: \xff\n") == "f.yaml:2:4: encoding: invalid UTF-8 byte 0xff; save the file as UTF-8"
    assert error("a: [1, 2\n").startswith("f.yaml:2:1: yaml-syntax: invalid YAML:")
    assert error("a: 1\n---\nb: 2\n").startswith("f.yaml:")


def test_bom_and_empty() -> None:
    assert load_yaml("f.yaml", b"\xef\xbb\xbfa: 1\n").data == {"a": 1}
    assert load_yaml("f.yaml", b"").data is None
    assert load_yaml("f.yaml", b"# only a comment\n").data is None


def test_locate_points_at_nodes_and_keys() -> None:
    doc = load_yaml("f.yaml", b"a:\n  b: [x, y]\n  c: 1\n")
    assert doc.locate(["a", "b", 1]) == (2, 10)
    assert doc.locate(["a", "c"], key=True) == (3, 3)
    assert doc.locate(["a", "missing"]) == (2, 3)
    assert doc.source_text(["a", "c"]) == "1"
