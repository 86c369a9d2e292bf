"""The site's HTML pages. Every catalog string is escaped here (`_e`), and the pages drawn by the
script (pools, models, a model) get their data from `data.js`, never from markup.

What does not grow with the catalog (the tree, the last change) is written out as HTML; what does
(a pool of thousands, a page per model) is drawn by `site.js` from the one payload, so ten
thousand models cost one data file rather than ten thousand pages.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from urllib.parse import quote

from modelreg.build.snapshot import Snapshot
from modelreg.diff.render import format_value
from modelreg.diff.report import Diff, ItemChange
from modelreg.site.history import SiteHistory
from modelreg.site.payload import tree_order

# Scripts and styles from the site's own files only: nothing inline, nothing from elsewhere, no
# requests at all. Whatever a catalog string held, it could not run.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; "
       "form-action 'none'")
NAV = (("index", "index.html", "Capabilities"), ("pools", "pools.html", "Pools"), ("models", "models.html", "Models"),
       ("changes", "changes.html", "Last change"), ("api", "api.json", "api.json"))
# A long change is cut on its page: this many entries of one list, and this many in all.
LIST_LIMIT = 200
TOTAL_LIMIT = 5000


def _e(value: object) -> str:
    """Text for HTML, attributes included."""
    return html.escape(str(value), quote=True)


def _fragment(value: str) -> str:
    """A name as a URL fragment (`model.html#openai%2Fgpt-4o`), as the script's
    `encodeURIComponent` writes it."""
    return quote(value, safe="-_.!~*'()")


def model_href(name: str) -> str:
    return f"model.html#{_fragment(name)}"


def pool_href(path: str) -> str:
    return f"pools.html#pool-{_fragment(path)}"


def _layout(snapshot: Snapshot, page: str, title: str, body: str, *, scripted: bool = False) -> bytes:
    version = snapshot.version
    dirty = " (uncommitted changes)" if version.get("dirty") else ""
    nav = "".join(f'<a href="{href}"{" aria-current=page" if key == page else ""}>{_e(label)}</a>'
                  for key, href, label in NAV)
    scripts = '<script src="data.js"></script>\n<script src="site.js"></script>\n' if scripted else ""
    noscript = "<noscript><p class=note>This page is drawn by a script: turn JavaScript on to see it.</p></noscript>"
    return (
        "<!doctype html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        '<meta name=viewport content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv=Content-Security-Policy content="{CSP}">\n'
        f"<title>{_e(title)} · modelreg</title>\n<link rel=stylesheet href=site.css>\n</head>\n"
        f"<body data-page={page}>\n<header><nav>{nav}</nav>"
        f"<p class=version>snapshot <code>{_e(version['label'])}</code>{_e(dirty)} · "
        f"<code>{_e(snapshot.digest[:19])}</code></p></header>\n"
        f"<main>\n{noscript if scripted else ''}{body}</main>\n{scripts}</body>\n</html>\n"
    ).encode()


def index_page(snapshot: Snapshot) -> bytes:
    """The capability tree with pool sizes."""
    tree = snapshot.tree
    pools = snapshot.pools
    models = snapshot.document["models"]
    parts = [f"<h1>Capabilities</h1>\n<p class=summary>{_e(snapshot.summary())}</p>\n"
             "<p>Each capability's pool holds the models that serve it or anything below it, in routing order. "
             "<a href=models.html>Search every model</a>, or fetch the whole catalog as "
             "<a href=api.json><code>api.json</code></a>.</p>\n"]

    def node_html(path: str) -> str:
        node = tree.nodes[path]
        size = len(pools[path])
        extra = ""
        if node.aliases:
            extra += f' <span class=aliases>aliases: {_e(", ".join(node.aliases))}</span>'
        if node.deprecated is not None:
            replacement = node.deprecated.get("replacement")
            extra += " <span class='status status-deprecated'>deprecated</span>"
            if replacement:
                extra += f' <span class=aliases>use <a href="{_e(pool_href(replacement))}">{_e(replacement)}</a></span>'
        children = "".join(node_html(child) for child in node.children)
        return (f'<li data-path="{_e(path)}"><a class=node href="{_e(pool_href(path))}">{_e(node.name)}</a> '
                f'<a class=count href="models.html#capability={_e(_fragment(path))}" '
                f'title="the models of this pool">{size} model{"" if size == 1 else "s"}</a>{extra}'
                f'{f" <span class=desc>{_e(node.description)}</span>" if node.description else ""}'
                f"{f'<ul>{children}</ul>' if children else ''}</li>\n")

    parts.append("<ul class=tree>\n" + "".join(node_html(root.path) for root in tree.roots()) + "</ul>\n")
    waiting = sorted(n for n, m in models.items() if m["lifecycle"].get("status") == "discovered")
    if waiting:
        links = ", ".join(f'<a href="{_e(model_href(n))}">{_e(n)}</a>' for n in waiting)
        parts.append(f"<p class=note>Discovered, in no pool until their capabilities are filled in: {links}</p>\n")
    return _layout(snapshot, "index", "Capabilities", "".join(parts))


def pools_page(snapshot: Snapshot) -> bytes:
    """Every pool; the script lists each one's members in routing order."""
    pools = snapshot.pools
    parts = ["<h1>Pools</h1>\n<p>A pool is the order in which a router tries models for a capability: active and "
             "preview models first, then deprecated ones, lower <code>priority</code> first; retired models are in "
             "no pool.</p>\n<p><button type=button id=expand-all>Show every pool's members</button></p>\n"]
    for index, path in enumerate(tree_order(snapshot)):
        size = len(pools[path])
        parts.append(f'<details class=pool id="pool-{_e(path)}" data-pool="{index}"><summary><code>{_e(path)}</code> '
                     f'<span class=count>{size} model{"" if size == 1 else "s"}</span></summary>'
                     f"<ol class=members></ol></details>\n")
    return _layout(snapshot, "pools", "Pools", "".join(parts), scripted=True)


def models_page(snapshot: Snapshot) -> bytes:
    """The table of models: searched, filtered and sorted by the script."""
    body = """<h1>Models</h1>
<form id=filters class=filters autocomplete=off>
<label>Search <input type=search id=q placeholder="name, model ID, provider"></label>
<label>Provider <select id=provider><option value="">any</option></select></label>
<label>Capability <select id=capability><option value="">any</option></select></label>
<label>Feature <select id=feature><option value="">any</option></select></label>
<label>Status <select id=status><option value="">any</option></select></label>
<label>Context at least <input type=number id=min-context min=0 step=1000 placeholder=tokens></label>
<button type=reset id=clear>Clear</button>
</form>
<p id=count class=summary aria-live=polite></p>
<table id=models class=models>
<thead><tr>
<th><button type=button data-sort=name>Model</button></th>
<th><button type=button data-sort=provider>Provider</button></th>
<th>Capabilities</th>
<th>Features</th>
<th class=num><button type=button data-sort=context_window>Context</button></th>
<th class=num><button type=button data-sort=input_cost>Input /Mtok</button></th>
<th class=num><button type=button data-sort=output_cost>Output /Mtok</button></th>
<th><button type=button data-sort=status>Status</button></th>
</tr></thead>
<tbody></tbody>
</table>
<p><button type=button id=more hidden>Show more</button></p>
"""
    return _layout(snapshot, "models", "Models", body, scripted=True)


def model_page(snapshot: Snapshot) -> bytes:
    """The page of one model, named by the fragment (`model.html#openai%2Fgpt-4o`)."""
    body = ("<article id=model><h1>Model</h1><p class=note>Pick a model from <a href=models.html>the table</a>.</p>"
            "</article>\n")
    return _layout(snapshot, "model", "Model", body, scripted=True)


class _Cut:
    """Lists on the changes page, cut at `LIST_LIMIT` entries each and `TOTAL_LIMIT` in all."""

    def __init__(self) -> None:
        self.left = TOTAL_LIMIT
        self.dropped = 0

    def items(self, entries: Sequence[str]) -> str:
        room = max(0, min(LIST_LIMIT, self.left))
        shown = entries[:room]
        self.left -= len(shown)
        more = len(entries) - len(shown)
        self.dropped += more
        tail = f"<li class=more>… and {more} more</li>" if more else ""
        return "<ul>" + "".join(f"<li>{entry}</li>" for entry in shown) + tail + "</ul>\n"


def _model_link(name: str) -> str:
    return f'<a href="{_e(model_href(name))}">{_e(name)}</a>'


def _field_table(item: ItemChange) -> str:
    rows = "".join(f"<tr><td><code>{_e(c.field)}</code></td><td>{_e(format_value(c.old))}</td>"
                   f"<td>{_e(format_value(c.new))}</td></tr>" for c in item.changes)
    return f"<table class=fields><tr><th>field</th><th>before</th><th>after</th></tr>{rows}</table>"


def _diff_sections(diff: Diff) -> Iterator[str]:
    cut = _Cut()
    yield f"<p class=summary><strong>{_e(diff.summary())}</strong></p>\n"
    if diff.pools:
        rows = "".join(
            f'<tr><td><a href="{_e(pool_href(p.capability))}"><code>{_e(p.capability)}</code></a></td>'
            f"<td class=num>{'—' if p.before is None else len(p.before)}</td>"
            f"<td class=num>{'—' if p.after is None else len(p.after)}</td><td class=num>{len(p.entered)}</td>"
            f"<td class=num>{len(p.left)}</td><td class=num>{len(p.moved)}</td></tr>" for p in diff.pools)
        yield ("<h2>Pools that changed</h2>\n<table class=pool-changes><thead><tr><th>capability</th>"
               "<th class=num>before</th><th class=num>after</th><th class=num>entered</th><th class=num>left</th>"
               f"<th class=num>moved</th></tr></thead><tbody>{rows}</tbody></table>\n")
        for pool in diff.pools:
            entries = ([f"entered {_model_link(n)} at #{p}" for n, p in pool.entered]
                       + [f"left {_model_link(n)} (was #{p})" for n, p in pool.left]
                       + [f"moved {_model_link(n)} #{a} → #{b}" for n, a, b in pool.moved])
            yield f"<h3><code>{_e(pool.capability)}</code></h3>\n" + cut.items(entries)
    if diff.models_added:
        yield f"<h2>Models added ({len(diff.models_added)})</h2>\n" + cut.items(
            [_model_link(n) for n in diff.models_added])
    if diff.models_removed:
        yield f"<h2>Models removed ({len(diff.models_removed)})</h2>\n" + cut.items(
            [_e(n) for n in diff.models_removed])
    if diff.models_changed:
        yield f"<h2>Models changed ({len(diff.models_changed)})</h2>\n" + cut.items(
            [f"{_model_link(c.name)}{_field_table(c)}" for c in diff.models_changed])
    others = ([f"provider added: <code>{_e(n)}</code>" for n in diff.providers_added]
              + [f"provider removed: <code>{_e(n)}</code>" for n in diff.providers_removed]
              + [f"provider <code>{_e(c.name)}</code>{_field_table(c)}" for c in diff.providers_changed]
              + [f"capability added: <code>{_e(n)}</code>" for n in diff.capabilities_added]
              + [f"capability removed: <code>{_e(n)}</code>" for n in diff.capabilities_removed]
              + [f"capability <code>{_e(c.name)}</code>{_field_table(c)}" for c in diff.capabilities_changed]
              + [f"<code>{_e(c.field)}</code>: {_e(format_value(c.old))} → {_e(format_value(c.new))}"
                 for c in diff.vocabulary])
    if others:
        yield "<h2>Providers and capability tree</h2>\n" + cut.items(others)
    if cut.dropped:
        yield (f"<p class=note>Cut short: {cut.dropped} more changes. <code>modelreg diff --format json</code> "
               "lists them all.</p>\n")


def changes_page(snapshot: Snapshot, history: SiteHistory) -> bytes:
    """The pool diff of the snapshot's commit against its first parent, or why there is none."""
    parts = ["<h1>Last change</h1>\n"]
    diff = history.diff
    if diff is None:
        parts.append(f"<p class=note id=no-diff>{_e(history.diff_note or 'no previous revision')}</p>\n")
    else:
        assert history.commit is not None and history.base is not None
        parts.append(f"<p>What commit <code>{_e(history.commit[:12])}</code> "
                     f"(<code>{_e(diff.head.label)}</code>) did to each pool, against its previous revision "
                     f"<code>{_e(history.base[:12])}</code> (<code>{_e(diff.base.label)}</code>).</p>\n")
        if snapshot.version.get("dirty"):
            parts.append("<p class=note>The snapshot was compiled from a work tree with uncommitted changes: they "
                         "are not part of this diff.</p>\n")
        parts.extend(_diff_sections(diff))
    return _layout(snapshot, "changes", "Last change", "".join(parts))
