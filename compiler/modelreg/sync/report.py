"""The report of a sync, for a terminal, a pull request (markdown) and tools (JSON,
`schemas/sync-report.schema.json`): the diff `modelreg diff` gives for the change, plus the
conflicts (hand edits kept) and what the listing held that the sync left alone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from modelreg.diff import render as diff_render
from modelreg.diff.render import format_value
from modelreg.sync.run import SyncResult

REPORT_FORMAT = "modelreg-sync-report"
REPORT_VERSION = 1
FORMATS = ("text", "markdown", "json")


def headline(result: SyncResult) -> str:
    """One line: what the sync of a provider did (an error itself goes to stderr, and into JSON)."""
    plan = result.plan
    if result.error is not None:
        return f"sync {result.provider}: failed, nothing changed (the error is on stderr)"
    assert plan is not None
    if plan.nothing_to_do:
        return f"sync {result.provider}: {plan.listed} listed; nothing to do"
    counts = (f"{len(plan.added)} added, {len(plan.updated)} changed, {len(plan.deprecated)} deprecated"
              + (f", {len(plan.restored)} listed again" if plan.restored else ""))
    if result.commit is not None:
        done = f"committed {result.commit.sha[:12]} on {result.branch}"
    elif result.mode == "dry-run":
        done = "dry run, nothing written"
    else:
        done = "only the record changed"
    return f"sync {result.provider}: {plan.listed} listed; {counts}; {done}"


def _conflict_line(result: SyncResult, index: int) -> str:
    assert result.plan is not None
    c = result.plan.conflicts[index]
    return f"{c.name} {c.field}: listing says {format_value(c.listing)}, file says {format_value(c.file)}: kept"


def render_text(results: Sequence[SyncResult]) -> str:
    """The report for a terminal."""
    blocks = []
    for result in results:
        lines = [headline(result)]
        plan = result.plan
        if plan is not None and result.error is None:
            if result.diff is not None and result.diff.changed:
                # The headline says what the diff's own first line would.
                lines.append(_indent(diff_render.render_text(result.diff).split("\n", 1)[1]))
            if plan.conflicts:
                lines.append("  conflicts (hand edits kept):")
                lines += [f"    {_conflict_line(result, i)}" for i in range(len(plan.conflicts))]
            if plan.skipped:
                lines.append("  seen but skipped:")
                lines += [f"    {model_id}: {why}" for model_id, why in plan.skipped]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else line for line in text.rstrip("\n").splitlines())


def render_markdown(results: Sequence[SyncResult]) -> str:
    """The report as a pull-request body: each provider's headline, its pool diff, its conflicts
    and what was skipped."""
    parts = []
    for result in results:
        parts.append(f"## {headline(result)}\n\n")
        plan = result.plan
        if plan is None or result.error is not None:
            continue
        if result.diff is not None and result.diff.changed:
            body = diff_render.render_markdown(result.diff).split("\n", 1)[1]
            parts.append(f"### Pool diff\n{body}\n")
        if plan.conflicts:
            parts.append("### Hand edits kept\n\n| model | field | listing says | file says |\n|---|---|---|---|\n")
            parts += [f"| `{c.name}` | `{c.field}` | {format_value(c.listing)} | {format_value(c.file)} |\n"
                      for c in plan.conflicts]
            parts.append("\n")
        if plan.skipped:
            parts.append(f"<details><summary>Seen but skipped ({len(plan.skipped)})</summary>\n\n")
            parts += [f"- `{model_id}`: {why}\n" for model_id, why in plan.skipped]
            parts.append("\n</details>\n\n")
    return "".join(parts)


def to_json(results: Sequence[SyncResult]) -> dict[str, Any]:
    """The versioned JSON report."""
    providers = []
    for result in results:
        plan = result.plan
        entry: dict[str, Any] = {
            "provider": result.provider,
            "mode": result.mode,
            "branch": result.branch,
            "ok": result.ok,
            "error": None if result.error is None else str(result.error),
            "commit": None if result.commit is None else result.commit.sha,
            "summary": headline(result),
        }
        if plan is not None and result.error is None:
            entry.update({
                "listed": plan.listed,
                "nothing_to_do": plan.nothing_to_do,
                "added": plan.added,
                "changed": [{"name": n, "fields": f} for n, f in sorted(plan.updated.items())],
                "deprecated": plan.deprecated,
                "restored": plan.restored,
                "conflicts": [c.to_json() for c in plan.conflicts],
                "skipped": [{"model_id": m, "why": why} for m, why in plan.skipped],
                "written": sorted(plan.writes) if result.mode != "dry-run" else [],
                "diff": None if result.diff is None else result.diff.to_json(),
            })
        providers.append(entry)
    return {"format": REPORT_FORMAT, "version": REPORT_VERSION, "ok": all(r.ok for r in results),
            "providers": providers}


def render_json(results: Sequence[SyncResult]) -> str:
    return json.dumps(to_json(results), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
