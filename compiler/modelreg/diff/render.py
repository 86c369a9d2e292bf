"""The diff for people and tools: text for a terminal, markdown for a pull-request comment
(bounded under GitHub's 1 MiB job-summary cap), and JSON (`schemas/diff.schema.json`)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from typing import Any

from modelreg.catalog.dotted import ABSENT
from modelreg.diff.report import Diff, ItemChange, PoolChange

FORMATS = ("text", "markdown", "json")
# GitHub refuses a job summary over 1 MiB; stay clear of it with room for the caller's own lines.
MARKDOWN_LIMIT = 1024 * 1024 - 24 * 1024
# Markdown value cells longer than this are cut: the JSON report holds them whole.
CELL_WIDTH = 160


def format_value(value: Any) -> str:
    """A field value for people: strings as they are, the rest as JSON, ABSENT as `(none)`."""
    if value is ABSENT:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def render_text(diff: Diff) -> str:
    """The diff for a terminal."""
    lines = [f"diff {diff.base.label} ({diff.base.ref}) -> {diff.head.label} ({diff.head.ref}): {diff.summary()}"]
    if diff.pools:
        lines.append("\npools:")
        for pool in diff.pools:
            lines.append(f"  {pool.capability}: {_size(pool.before)} -> {_size(pool.after)} models")
            lines += [f"    + {n} (#{p})" for n, p in pool.entered]
            lines += [f"    - {n} (was #{p})" for n, p in pool.left]
            lines += [f"    ~ {n} #{a} -> #{b}" for n, a, b in pool.moved]
    if diff.models_added:
        lines.append("\nmodels added:")
        models = diff.head.document["models"]
        lines += [f"  + {n}  {_placed(models[n])}" for n in diff.models_added]
    if diff.models_removed:
        lines.append("\nmodels removed:")
        lines += [f"  - {n}" for n in diff.models_removed]
    for title, items in (("models changed", diff.models_changed), ("providers changed", diff.providers_changed),
                         ("capabilities changed", diff.capabilities_changed)):
        if items:
            lines.append(f"\n{title}:")
            for item in items:
                lines.append(f"  ~ {item.name}")
                lines += [f"      {c.field}: {format_value(c.old)} -> {format_value(c.new)}" for c in item.changes]
    for title, names in (("providers added", diff.providers_added), ("providers removed", diff.providers_removed),
                         ("capabilities added", diff.capabilities_added),
                         ("capabilities removed", diff.capabilities_removed)):
        if names:
            lines.append(f"\n{title}: {', '.join(names)}")
    if diff.vocabulary:
        lines.append("\naliases and features:")
        lines += [f"  {c.field}: {format_value(c.old)} -> {format_value(c.new)}" for c in diff.vocabulary]
    return "\n".join(lines) + "\n"


def render_json(diff: Diff) -> str:
    """The versioned JSON report (`schemas/diff.schema.json`)."""
    return json.dumps(diff.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _placed(model: dict[str, Any], *, markdown: bool = False) -> str:
    # A model discovery could not place is listed apart from those that joined pools.
    if (model.get("lifecycle") or {}).get("status") == "discovered":
        return "discovered: no capabilities yet, in no pool"
    return f"pools {_names(model['pools'])}" if markdown else f"pools: {', '.join(model['pools']) or '(none)'}"


def _size(members: list[str] | None) -> str:
    return "(none)" if members is None else str(len(members))


def _code(text: str) -> str:
    """A name, path or field name (user-controlled) as inline code that nothing in it can break out of.

    A backtick span takes everything literally but a backtick, and a table cell ends at a bare `|`;
    text holding either (or a line break, or edge spaces a span would trim) becomes `<code>` with
    every ASCII punctuation character written as a character reference, which markdown shows as
    text and never reads as syntax."""
    if text and text.strip() == text and text.isprintable() and "`" not in text and "|" not in text:
        return f"`{text}`"
    escaped = "".join(f"&#{ord(c)};" if (c.isascii() and not c.isalnum() and c != " ") or not c.isprintable()
                      else c for c in text)
    return f"<code>{escaped}</code>"


def _cell(value: Any) -> str:
    text = format_value(value).replace("\n", " ")
    if len(text) > CELL_WIDTH:
        text = text[:CELL_WIDTH - 1] + "…"
    return html.escape(text, quote=False).replace("|", "\\|")


class _Budget:
    """Markdown under a byte limit: parts are added while they fit; the rest is counted."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit
        self.dropped = 0
        self.full = False

    def add(self, text: str, reserve: int = 0) -> bool:
        size = len(text.encode("utf-8"))
        if self.full or self.size + size + reserve > self.limit:
            self.full = True
            return False
        self.parts.append(text)
        self.size += size
        return True


# Room kept for closing a section and for the truncation line.
_RESERVE = 512


def render_markdown(diff: Diff, limit: int = MARKDOWN_LIMIT) -> str:
    """The diff as a pull-request comment or job summary: the summary line and a table of pool
    changes first, then collapsible details, cut with a "truncated" line to stay under `limit`
    bytes."""
    out = _Budget(limit)
    out.add(f"### modelreg diff: {_code(diff.base.label)} → {_code(diff.head.label)}\n\n**{diff.summary()}**\n\n")
    if diff.pools:
        out.add("| capability | before | after | entered | left | moved |\n|---|---:|---:|---:|---:|---:|\n")
        for i, pool in enumerate(diff.pools):
            row = (f"| {_code(pool.capability)} | {_size(pool.before)} | {_size(pool.after)} | {len(pool.entered)} "
                   f"| {len(pool.left)} | {len(pool.moved)} |\n")
            if not out.add(row, _RESERVE):
                out.dropped += len(diff.pools) - i
                break
        out.add("\n")
    models = diff.head.document["models"]
    old_models = diff.base.document["models"]
    sections: list[tuple[str, list[Callable[[], str]]]] = [
        (f"Pool changes ({len(diff.pools)})",
         [line for i, p in enumerate(diff.pools) for line in _pool_lines(p, first=i == 0)]),
        (f"Models added ({len(diff.models_added)})",
         [_line(f"- {_code(n)}: {_placed(models[n], markdown=True)}\n") for n in diff.models_added]),
        (f"Models removed ({len(diff.models_removed)})",
         [_line(f"- {_code(n)}: left {_names(old_models[n]['pools'])}\n") for n in diff.models_removed]),
        (f"Models changed ({len(diff.models_changed)})", [_item_block(c) for c in diff.models_changed]),
        (f"Providers ({diff.providers_count})",
         [_line(f"- added {_code(n)}\n") for n in diff.providers_added]
         + [_line(f"- removed {_code(n)}\n") for n in diff.providers_removed]
         + [_item_block(c, bool(diff.providers_added or diff.providers_removed)) for c in diff.providers_changed]),
        (f"Capability tree ({diff.capabilities_count})",
         [_line(f"- added {_code(n)}\n") for n in diff.capabilities_added]
         + [_line(f"- removed {_code(n)}\n") for n in diff.capabilities_removed]
         + [_item_block(c, bool(diff.capabilities_added or diff.capabilities_removed))
            for c in diff.capabilities_changed]
         + [_line(f"- {_code(c.field)}: {_cell(c.old)} → {_cell(c.new)}\n") for c in diff.vocabulary]),
    ]
    for title, items in sections:
        if not items:
            continue
        if out.full or not out.add(f"<details><summary>{title}</summary>\n\n", _RESERVE):
            out.dropped += len(items)
            continue
        for i, item in enumerate(items):
            if not out.add(item(), _RESERVE):
                out.dropped += len(items) - i
                break
        out.parts.append("\n</details>\n\n")
    if out.dropped:
        out.parts.append(f"**truncated: {out.dropped} more changes, see the artifact** "
                         "(`modelreg diff --format json` has them all)\n")
    return "".join(out.parts)


def _line(text: str) -> Callable[[], str]:
    return lambda: text


def _names(names: Sequence[str]) -> str:
    return ", ".join(_code(n) for n in names) if names else "(none)"


def _pool_lines(pool: PoolChange, *, first: bool) -> list[Callable[[], str]]:
    # One item a line: a pool that 10,000 models enter is cut inside, not dropped whole.
    gap = "" if first else "\n"
    lines = [_line(f"{gap}**{_code(pool.capability)}** ({_size(pool.before)} → {_size(pool.after)})\n\n")]
    lines += [_line(f"- entered: {_code(n)} at #{p}\n") for n, p in pool.entered]
    lines += [_line(f"- left: {_code(n)} (was #{p})\n") for n, p in pool.left]
    lines += [_line(f"- moved: {_code(n)} #{a} → #{b}\n") for n, a, b in pool.moved]
    return lines


def _item_block(item: ItemChange, after_list: bool = False) -> Callable[[], str]:
    # After a list item, the title needs a blank line before it, or it joins that item's text.
    gap = "\n" if after_list else ""

    def render() -> str:
        rows = "".join(f"| {_code(c.field)} | {_cell(c.old)} | {_cell(c.new)} |\n" for c in item.changes)
        return f"{gap}**{_code(item.name)}**\n\n| field | before | after |\n|---|---|---|\n{rows}\n"
    return render
