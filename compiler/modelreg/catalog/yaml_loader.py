"""The one hardened YAML loader of modelreg.

Catalog files are edited by strangers in pull requests, so PyYAML's defaults are not good enough:

- duplicate keys are rejected, naming both lines (PyYAML silently keeps the last);
- scalars resolve as YAML 1.2's core schema does: only `true`/`false` are booleans, `1:10` is a
  string, dates stay strings; a boolean field holding `yes` then fails schema validation;
- anchors, aliases and merge keys are refused (alias bombs expand exponentially when walked);
- only the standard tags are accepted (no `!!python/object`, no `!!binary`);
- size, nesting depth and encoding (strict UTF-8) are capped or checked before parsing.

A problem that leaves the rest of the file readable (an ambiguous scalar, a duplicate key, a
refused tag or key) is recorded and the load goes on, so that one run reports it together with
what the later checks find; syntax, encoding, anchors and depth stop the load where they are.

Parsing uses libyaml's C parser; construction is ours, so the node tree is kept and a diagnostic
can point at any node's line and column without paying for a position map on the happy path.

Most catalog files are plain block style (`key: value`, nested mappings, lists of scalars). Those
are read by a line-by-line fast path that builds the same data several times faster than libyaml's
node tree; anything else it meets (quoting with escapes, flow mappings, block scalars, anchors,
tabs, a value that would be an error...) sends the whole file to the full parser, so every
diagnostic still comes from one place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from modelreg.catalog.file_size import MAX_FILE_BYTES, too_large
from modelreg.diagnostics import Diagnostic

# PyYAML's nodes (`yaml.nodes.Node`), told apart by their `id` ("scalar", "sequence", "mapping"),
# which its type stubs do not declare.
Node = Any

MAX_DEPTH = 32
# Plain scalars that YAML 1.2 reads as text and YAML 1.1 (PyYAML's default) as booleans: the same
# file would mean two things to two tools, so the author must say which.
_YAML11_BOOLEANS = frozenset(["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"])
# Longer digit strings are not numbers anyone means (and Python refuses over 4,300 digits).
_MAX_NUMBER_CHARS = 100

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL)$")
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


def _plain_tag(value: str) -> str:
    """The tag YAML 1.2's core schema gives a plain scalar.

    One function rather than PyYAML's table of implicit resolvers: it runs for every scalar of
    every file.
    """
    if value == "":
        return _NULL
    first = value[0]
    if first in "tTfF" and _BOOL_RE.match(value):
        return _BOOL
    if first in "~nN" and _NULL_RE.match(value):
        return _NULL
    if first in "-+.0123456789":
        if _INT_RE.match(value):
            return _INT
        if _FLOAT_RE.match(value):
            return _FLOAT
    return _STR


@cache
def _loader_class() -> Any:
    # PyYAML is imported when a file needs the full parser: most never do, and the import is a
    # noticeable part of a command's start.
    from yaml.cyaml import CParser  # type: ignore[attr-defined]
    from yaml.nodes import ScalarNode, SequenceNode
    from yaml.resolver import BaseResolver

    class Core12Resolver(BaseResolver):  # type: ignore[misc]
        """Implicit typing by YAML 1.2's core schema; path resolvers are never used."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is ScalarNode:
                return _plain_tag(value) if implicit[0] else _STR
            return _SEQ if kind is SequenceNode else _MAP

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            return None

        def ascend_resolver(self) -> None:
            return None

    class Loader(CParser, Core12Resolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Core12Resolver.__init__(self)

    return Loader


def _compose(text: str) -> Node | None:
    """The node tree of a single-document text (PyYAML's errors propagate)."""
    loader = _loader_class()(text)
    try:
        root: Node | None = loader.get_single_node()
    finally:
        loader.dispose()
    return root


UNLOADED: Any = object()
"""The data of a YamlDocument not loaded yet: a file checked elsewhere, whose data is rarely needed."""


class YamlDocument:
    """A loaded YAML file: its data, and the node tree it came from for positions.

    The node tree is dropped after construction and composed again from the text only when a
    position is asked for: a catalog of thousands of valid files never pays to keep them.
    """

    def __init__(self, file: str, data: Any, text: str | bytes) -> None:
        """`text` is the file's text, or the bytes `data` was loaded from (decoded when needed).
        `data` may be UNLOADED: it is then loaded from `text` when first asked for."""
        self.file = file
        self._data = data
        self._text = text
        self._root: Node | None = None
        self._composed = False
        self.problems: tuple[Diagnostic, ...] = ()
        """What the loader refused but read past (`load_yaml(..., recover=True)`); the data holds
        the text as written in each such place, and the last of duplicate keys."""

    @property
    def data(self) -> Any:
        """What the file holds: mappings, lists and scalars."""
        if self._data is UNLOADED:
            text = self._text
            self._data = load_yaml(self.file, text if isinstance(text, bytes) else text.encode()).data
        return self._data

    @property
    def root(self) -> Node | None:
        if not self._composed:
            text = self._text
            if isinstance(text, bytes):
                text = text.decode("utf-8").removeprefix("\ufeff")
            self._root = _compose(text)
            self._composed = True
        return self._root

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the node at `path`, or of its key when `key` is set.

        When the path leads nowhere (a missing key), the deepest node that exists is named.
        """
        node = self.root
        if node is None:
            return 1, 1
        mark_node: Node = node
        for i, step in enumerate(path):
            last = i == len(path) - 1
            if node.id == "mapping":
                found = None
                for k, v in node.value:
                    if k.id == "scalar" and k.value == step:
                        found = (k, v)
                if found is None:
                    break
                node = found[1]
                mark_node = found[0] if (last and key) else found[1]
            elif node.id == "sequence" and isinstance(step, int) and 0 <= step < len(node.value):
                node = node.value[step]
                mark_node = node
            else:
                break
        mark = mark_node.start_mark
        return mark.line + 1, mark.column + 1

    def source_text(self, path: Sequence[str | int]) -> str | None:
        """The scalar's text as written in the file (`3.10`, not 3.1), or None."""
        node = self.root
        for step in path:
            if node is not None and node.id == "mapping":
                node = next((v for k, v in reversed(node.value) if k.value == step), None)
            elif node is not None and node.id == "sequence" and isinstance(step, int) and 0 <= step < len(node.value):
                node = node.value[step]
            else:
                return None
        return node.value if node is not None and node.id == "scalar" else None


class YamlLoadError(Exception):
    """The file could not be loaded: `diagnostics` says every problem found, `diagnostic` the first."""

    def __init__(self, diagnostic: Diagnostic, more: Sequence[Diagnostic] = ()) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.diagnostics = [diagnostic, *more]


def load_yaml(file: str, raw: bytes, *, recover: bool = False) -> YamlDocument:
    """Parse `raw` (the bytes of `file`) into a document.

    Raises YamlLoadError with diagnostics naming the file, line and column on any problem. With
    `recover`, a problem the rest of the file can be read past is left in the document's
    `problems` instead, and only one that stops the load raises.
    """
    if len(raw) > MAX_FILE_BYTES:
        raise YamlLoadError(too_large(file, len(raw)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlLoadError(
            Diagnostic(file, line, column, "encoding",
                       f"invalid UTF-8 byte 0x{raw[exc.start]:02x}; save the file as UTF-8")
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    data = _fast_load(text)
    if data is not None:
        return YamlDocument(file, data, text)
    doc = _full_load(file, text)
    if doc.problems and not recover:
        raise YamlLoadError(doc.problems[0], doc.problems[1:])
    return doc


def _full_load(file: str, text: str) -> YamlDocument:
    # Anchors and aliases need '&' or '*'; only then pay for an event scan to find them exactly.
    if "&" in text or "*" in text:
        _refuse_anchors(file, text)
    import yaml

    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlLoadError(Diagnostic(file, line, column, "yaml-syntax", f"invalid YAML: {problem}")) from None
    except yaml.YAMLError as exc:
        raise YamlLoadError(Diagnostic(file, 1, 1, "yaml-syntax", f"invalid YAML: {exc}")) from None
    if root is None:
        return YamlDocument(file, None, text)
    problems: list[Diagnostic] = []
    doc = YamlDocument(file, _construct(file, root, 0, problems), text)
    doc.problems = tuple(problems)
    return doc


def _refuse_anchors(file: str, text: str) -> None:
    import yaml

    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                mark = event.start_mark
                line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                what = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
                raise YamlLoadError(
                    Diagnostic(file, line, column, "yaml-anchor",
                               f"YAML {what} `{anchor}` is not allowed; write the value out in full")
                )
    except yaml.MarkedYAMLError:
        return  # the parse proper reports syntax errors with their position


def _at(file: str, node: Node, code: str, message: str) -> Diagnostic:
    mark = node.start_mark
    return Diagnostic(file, mark.line + 1, mark.column + 1, code, message)


def _error(file: str, node: Node, code: str, message: str) -> YamlLoadError:
    return YamlLoadError(_at(file, node, code, message))


def _construct(file: str, node: Node, depth: int, problems: list[Diagnostic]) -> Any:
    # A problem the rest of the file can be read past goes to `problems`, and the place holds
    # the text as written (a refused entry is left out): later checks still see the whole file.
    if depth > MAX_DEPTH:
        raise _error(file, node, "yaml-depth", f"nesting deeper than {MAX_DEPTH} levels")
    tag = node.tag
    kind = node.id
    if kind == "scalar":
        value: str = node.value
        if tag == _STR and node.style:  # quoted, or a block scalar: text as written
            return value
        try:
            return _scalar(tag, value)
        except _ScalarProblem as exc:
            problems.append(_at(file, node, exc.code, str(exc)))
            return value
    if kind == "sequence":
        if tag != _SEQ:
            problems.append(_at(file, node, "yaml-tag", f"tag `{tag}` is not allowed; remove it"))
        return [_construct(file, item, depth + 1, problems) for item in node.value]
    if kind == "mapping":
        if tag != _MAP:
            problems.append(_at(file, node, "yaml-tag", f"tag `{tag}` is not allowed; remove it"))
        result: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = _key(file, key_node, problems)
            if key is None:
                continue
            if key in key_lines:
                # The last one stays, as other YAML tools read it (and as positions are found).
                problems.append(_at(file, key_node, "duplicate-key",
                                    f"duplicate key `{key}` (first defined on line {key_lines[key]}); keep one"))
            else:
                key_lines[key] = key_node.start_mark.line + 1
            result[key] = _construct(file, value_node, depth + 1, problems)
        return result
    raise _error(file, node, "yaml-tag", "unsupported YAML node")


def _key(file: str, node: Node, problems: list[Diagnostic]) -> str | None:
    """A mapping key as text, or None for one whose entry is left out."""
    if node.id != "scalar":
        problems.append(_at(file, node, "yaml-key", "mapping keys must be plain strings"))
        return None
    key: str = node.value
    if key == "<<" or node.tag == "tag:yaml.org,2002:merge":
        problems.append(_at(file, node, "yaml-merge", "merge keys (`<<`) are not allowed; write the keys out"))
        return None
    if node.tag != _STR:
        problems.append(_at(file, node, "yaml-key", f"key `{key}` is not a string; quote it: '{key}'"))
    return key


class _ScalarProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _scalar(tag: str, value: str) -> Any:
    """The value of a plain scalar (or an explicitly tagged one) of tag `tag`."""
    if tag == _STR:
        if value in _YAML11_BOOLEANS:
            raise _ScalarProblem(
                "yaml-ambiguous",
                f"unquoted `{value}` is the text \"{value}\" in YAML 1.2 but a boolean in YAML 1.1 "
                f"tools; write `true` or `false` for a flag, or quote it (\"{value}\") for text")
        return value
    if tag == _INT:
        if len(value) > _MAX_NUMBER_CHARS:
            raise _ScalarProblem("yaml-type", f"a number of {len(value):,} characters is too long; "
                                 "quote it if it is text")
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value, 10)
    if tag == _FLOAT:
        # `.inf`/`.nan` are YAML spellings Python's float() does not read; 1e400 overflows to inf.
        number = math.inf if value.lower().endswith((".inf", ".nan")) else float(value)
        if not math.isfinite(number):
            raise _ScalarProblem("yaml-type", f"`{value}` is not a finite number; JSON cannot hold it")
        return number
    if tag == _BOOL:
        return value.lower() == "true"
    if tag == _NULL:
        return None
    raise _ScalarProblem("yaml-tag", f"tag `{tag}` is not allowed; remove it")


def plain_scalar_tag(text: str) -> str:
    """The tag this loader gives `text` written as a plain (unquoted) scalar: `yes` and `2024-05-13`
    stay strings, `3.10` is a float, `~` is null. A writer quotes a string whose tag is not `str`."""
    return _plain_tag(text)


# -- The fast path -------------------------------------------------------------------------------
# Block mappings of `key: value`, lists of scalars in block (`- x`) or flow (`[x, "y"]`) style,
# plain, single- and double-quoted scalars without escapes, comments. A file using anything else,
# or anything the full path would report, is read by the full path instead.

# Tabs, CR, NEL, BOM, line and paragraph separators, control characters: the full parser decides.
_UNUSUAL = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# A plain scalar: no indicator first, no `: ` or ` #` inside, no trailing space. Possessive
# quantifiers: a scalar never gives characters back, so the engine never backtracks into one.
_FIRST = r"(?:[A-Za-z0-9_.+/~(]|-(?=[0-9A-Za-z.]))"
_BLOCK_PLAIN = rf"{_FIRST}(?:[^ \n:#]++|:(?=[^ \n])| ++(?=[^ \n#]))*+"
_FLOW_PLAIN = rf"{_FIRST}(?:[^ \n:#,\[\]{{}}'\"]++| ++(?=[^ \n#,\[\]{{}}:'\"]))*+"
_QUOTED = r"\"[^\"\\\n]*+\"|'[^'\n]*+'"
_FLOW_ITEM = rf"(?:{_FLOW_PLAIN}|{_QUOTED})"
_FLOW_SEQUENCE = rf"\[ *+(?:{_FLOW_ITEM} *+(?:, *+{_FLOW_ITEM} *+)*+)?\]"
# Every line of a file, in one pass: (indent, `- `, key, value, anything else). A line that is
# blank or only a comment gives empty groups; a line of any other shape fills the last group.
_LINES = re.compile(
    rf"^( *+)(?:(- +)|([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}):(?= |$))"
    rf"(?: *+({_BLOCK_PLAIN}|{_QUOTED}|{_FLOW_SEQUENCE}))?(?: +#.*)? *$"
    r"|^ *(?:#.*)?$|^(.+)$",
    re.MULTILINE,
)
_FLOW_ITEMS = re.compile(rf"({_FLOW_PLAIN})|\"([^\"\\\n]*)\"|'([^'\n]*)'")
# Deeper files are rare; the full path enforces MAX_DEPTH with a position.
_FAST_DEPTH = 16
# Scalars repeat across a catalog (`true`, feature names, capability paths): their values are
# immutable, so one conversion serves every file. Keys already known to be strings likewise.
_SCALARS: dict[str, Any] = {}
_STRING_KEYS: set[str] = set()
_CACHE_CAP = 65536


class _NotFast(Exception):
    """The file needs the full parser."""


_MISSING: Any = object()


def _fast_value(text: str) -> Any:
    # A value's text to its value; remembered in _SCALARS (a list as a tuple, copied on each use).
    first = text[0]
    items: Any
    if first == "[":
        items = [_fast_value(plain) if plain else (double or single)
                 for plain, double, single in _FLOW_ITEMS.findall(text, 1, len(text) - 1)]
        remembered: Any = tuple(items)
    elif first == '"' or first == "'":
        items = remembered = text[1:-1]
    else:
        try:
            items = remembered = _scalar(_plain_tag(text), text)
        except _ScalarProblem:
            raise _NotFast from None
    if len(_SCALARS) >= _CACHE_CAP:
        _SCALARS.clear()
    _SCALARS[text] = remembered
    return items


def _fast_load(text: str) -> dict[str, Any] | None:
    """The data of a file written in the common block style, or None when the full parser must
    read it. Never raises: a file it cannot vouch for is handed over, not judged."""
    try:
        return _fast_block(text)
    except _NotFast:
        return None


def _fast_block(text: str) -> dict[str, Any]:
    if _UNUSUAL.search(text):
        raise _NotFast
    root: dict[str, Any] = {}
    # The open blocks, innermost last: (indent, mapping or list).
    stack: list[tuple[int, Any]] = []
    top: Any = root
    top_indent = 0
    in_mapping = True
    # A `key:` with nothing after it: a block follows, or its value is null.
    pending: str | None = None
    remembered = _SCALARS.get
    string_keys = _STRING_KEYS
    for spaces, dash, key, value, other in _LINES.findall(text):
        indent = len(spaces)
        # Most lines are `key: value` beside the previous one, and skip all of this.
        if not (key and pending is None and indent == top_indent and in_mapping):
            if not (dash or key):
                if other:
                    raise _NotFast
                continue  # blank, or a comment
            if pending is not None:
                # Deeper lines open the block; so does `- ` at the key's own indent (a compact list).
                if indent > top_indent or (indent == top_indent and dash):
                    block: Any = [] if dash else {}
                    top[pending] = block
                    stack.append((top_indent, top))
                    if len(stack) > _FAST_DEPTH:
                        raise _NotFast
                    top, top_indent = block, indent
                pending = None
            while indent < top_indent or (indent == top_indent and not dash and type(top) is list):
                if not stack:
                    raise _NotFast
                top_indent, top = stack.pop()
            if indent != top_indent:
                raise _NotFast
            in_mapping = type(top) is dict
            if dash:
                if in_mapping or not value:
                    raise _NotFast
                found = remembered(value, _MISSING)
                top.append(_fast_value(value) if found is _MISSING else list(found) if type(found) is tuple
                           else found)
                continue
            if not in_mapping:
                raise _NotFast
        # `key:` in the mapping at hand.
        if key in top:
            raise _NotFast
        if key not in string_keys:
            _check_key(key)
        if value:
            found = remembered(value, _MISSING)
            if found is _MISSING:
                found = _fast_value(value)
            elif type(found) is tuple:
                found = list(found)
            top[key] = found
        else:
            top[key] = None
            pending = key
    if not root:
        raise _NotFast
    return root


def _check_key(key: str) -> None:
    if _plain_tag(key) != _STR:
        raise _NotFast  # `true:`, `1:`, `null:`: the full path says how to quote it
    if len(_STRING_KEYS) >= _CACHE_CAP:
        _STRING_KEYS.clear()
    _STRING_KEYS.add(key)
