"""Checking a change to a catalog without re-reading all of it, exactly as a full compile would.

A model file's verdict depends on its own content, on `capabilities.yaml`, on the provider files,
and on the models it names as `replacement`; removing a model also touches every model that names
it. `check_change` runs the compiler's own `check_catalog` on just that closure, so a 10,000-model
catalog accepts or rejects a registration in milliseconds, with the diagnostics a full compile
would give for those files.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from modelreg.catalog.files import CatalogFiles, FileReader
from modelreg.catalog.paths import CAPABILITIES_FILE, is_model_path, is_provider_path, model_name, model_path, model_rel
from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml
from modelreg.check.catalog_check import CatalogCheck, check_catalog
from modelreg.schemas import is_valid


@dataclass
class _SubsetFiles(CatalogFiles):
    """A subset of a catalog's files, some shown under another name (a file being registered)."""

    shown: dict[str, str] = field(default_factory=dict)

    def display(self, rel: str) -> str:
        return self.shown.get(rel) or super().display(rel)


def _replacement(rel: str, raw: bytes) -> str | None:
    # The model a file names as its replacement (a provider's by default), to bring it into the
    # check; None unless the file loads and its schema accepts it (its check says why): a name
    # the schema refuses is never taken for a path.
    if is_provider_path(rel):
        kind = "provider"
    elif is_model_path(rel):
        kind = "model"
    else:
        return None
    if b"replacement" not in raw and b"\\" not in raw:
        return None  # no such key, not even spelt with an escape: nothing to parse for
    try:
        data = load_yaml("", raw).data
    except YamlLoadError:
        return None
    if not is_valid(kind, data):
        return None
    if kind == "provider":
        data = data.get("defaults") or {}
    target: str | None = (data.get("lifecycle") or {}).get("replacement")
    return target


def check_change(reader: FileReader, focus: Collection[str], overlay: Mapping[str, bytes | None] | None = None,
                 shown: Mapping[str, str] | None = None) -> CatalogCheck:
    """Check the files in `focus` as a full compile of the catalog would.

    `overlay` replaces files of the reader's state (None removes one), `shown` displays some
    paths under another name in diagnostics. The result holds the diagnostics of the checked
    closure (warnings about empty pools left out: they need the whole catalog) and, when it has
    no error, the resolved models of that closure.
    """
    overlay = dict(overlay or {})
    wanted = {CAPABILITIES_FILE, *reader.providers(), *focus}
    names: list[str] | None = None
    files = _SubsetFiles(reader.display_root, shown=dict(shown or {}))

    def exists(rel: str) -> bool:
        return overlay[rel] is not None if rel in overlay else reader.exists(rel)

    # The closure first, from the files' data alone: one check of it then, not one per round.
    pending = set(wanted)
    while pending:
        base = reader.read([rel for rel in pending if rel not in overlay])
        files.contents.update(base.contents)
        files.diagnostics.extend(base.diagnostics)
        files.contents.update({rel: content for rel, content in overlay.items()
                               if rel in pending and content is not None})
        extra: set[str] = set()
        for rel in sorted(pending):
            raw = files.contents.get(rel)
            target = _replacement(rel, raw) if raw is not None else None
            if target is None or model_path(target) in wanted:
                continue
            if exists(model_path(target)):
                extra.add(model_path(target))
                continue
            # A full compile suggests the closest name of the whole catalog; bring it in.
            if names is None:
                present = set(reader.model_names())
                for path, content in overlay.items():
                    if is_model_path(path):
                        (present.add if content is not None else present.discard)(model_name(path))
                names = sorted(present)
            close = difflib.get_close_matches(target, names, n=1)
            if close and model_rel(close[0]) not in wanted:
                extra.add(model_rel(close[0]))
        pending = extra - wanted
        wanted |= extra
    return check_catalog(files, pool_warnings=False)  # they need the whole catalog
