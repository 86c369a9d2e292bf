"""What a sync changes: the listing compared with the provider's model files and the record.

- A listed model is matched to a model file of the provider by `model_id` (the file name is not
  the ID). A new one becomes a model file in the catalog's style; one whose capabilities cannot
  be told is written with `lifecycle.status: discovered` and none.
- A fact the listing states goes into a field discovery owns, unless a person changed that field
  since discovery last wrote it: then the person's value stays, and the plan reports the conflict
  (once: when the listing first says something else).
  A model file written by a person follows the listing only where the file is silent (or agrees).
- A model an earlier complete listing contained and this one lacks is never deleted and never
  retired: it is marked `deprecated`, dated, and a person decides the rest. It is restored when
  it is listed again and nobody touched what discovery wrote.
- A model file a person removed is not written again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.dotted import ABSENT, copy, get, put, same
from modelreg.catalog.model_file import CatalogModel, dump_model_file
from modelreg.catalog.paths import discovery_record_path, model_path, slug_model_name
from modelreg.errors import ListingError, UsageError
from modelreg.models import ModelDefinition
from modelreg.schemas import first_error
from modelreg.sync.config import Discovery
from modelreg.sync.listing import Listed
from modelreg.sync.record import Followed, Record


@dataclass(frozen=True)
class Conflict:
    """A field a person changed that the listing now says otherwise: the person's value is kept."""

    name: str
    field: str
    listing: Any
    file: Any

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "field": self.field, "listing": self.listing,
                "file": None if self.file is ABSENT else self.file}


@dataclass
class Plan:
    """The outcome of comparing a listing with the catalog: the files to write (never a removal)
    and what they mean."""

    provider: str
    listed: int = 0
    writes: dict[str, bytes] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    """Model -> the fields the sync writes."""
    deprecated: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(model ID, why) for what the listing held and the sync left alone."""

    @property
    def nothing_to_do(self) -> bool:
        return not self.writes


def place(listed: Listed, discovery: Discovery, tree: CapabilityTree) -> dict[str, Any]:
    """The facts to write for a listed model: the listing's own, then what the first matching rule
    of the provider adds; capabilities the tree does not hold are left out."""
    facts = {k: v for k, v in listed.facts.items()
             if not k.startswith("features.") or k.removeprefix("features.") in tree.features}
    capabilities = {c for c in listed.capabilities if c in tree}
    rule = discovery.rule_for(listed.model_id)
    if rule is not None:
        capabilities.update(rule.capabilities)
        for feature, value in rule.features.items():
            facts.setdefault(f"features.{feature}", value)
    facts["capabilities"] = sorted(capabilities)
    return facts


class _Planner:
    def __init__(self, provider: str, discovery: Discovery, tree: CapabilityTree,
                 models: Mapping[str, CatalogModel], record: Record, record_raw: bytes | None, today: str,
                 defaults: Mapping[str, Any]) -> None:
        self.discovery = discovery
        self.defaults = defaults
        self.tree = tree
        self.models = models
        self.record = record
        self.record_raw = record_raw
        self.today = today
        self.plan = Plan(provider)
        self.docs: dict[str, dict[str, Any]] = {}  # name -> content being changed
        # name -> (model ID, its record entry before this sync), to undo a file that cannot be written
        self.backups: dict[str, tuple[str, Followed | None]] = {}
        self.by_id: dict[str, str] = {}
        for name in sorted(models):
            model_id = models[name].model_id
            known = self.by_id.get(model_id)
            followed = record.models.get(model_id)
            # Two files with one ID: the one discovery follows, else the first by name.
            if known is None or (followed is not None and followed.name == name):
                self.by_id[model_id] = name

    def doc(self, name: str) -> dict[str, Any]:
        if name not in self.docs:
            self.docs[name] = copy(self.models[name].data)
        return self.docs[name]

    def follow(self, name: str, followed: Followed, facts: Mapping[str, Any], *, created: bool) -> None:
        doc = self.doc(name)
        written = []
        for dotted in sorted(facts):
            value = facts[dotted]
            current = get(doc, dotted)
            if value is ABSENT:
                # Discovery lets go of the field: taken out where it still holds discovery's value.
                if dotted in followed.fields and same(current, followed.fields.pop(dotted)):
                    put(doc, dotted, ABSENT)
                    written.append(dotted)
                continue
            if current is ABSENT and dotted not in followed.fields and same(get(self.defaults, dotted), value):
                continue  # the provider's defaults already say so
            if dotted in followed.fields:
                edited = not same(current, followed.fields[dotted])
            else:
                # Discovery never wrote it: a value in the file is a person's.
                edited = current is not ABSENT and not same(current, value)
            if edited:
                # The person's value stays. The record takes the listing's, so the conflict is
                # reported when the listing first says otherwise, not on every sync after; and the
                # field follows the listing again once the person writes that value.
                news = dotted not in followed.fields or not same(followed.fields[dotted], value)
                if news and not same(current, value) and not (current == "retired" and value == "deprecated"):
                    self.plan.conflicts.append(Conflict(name, dotted, value, current))
                followed.fields[dotted] = value
                continue
            if not same(current, value):
                put(doc, dotted, value)
                written.append(dotted)
            followed.fields[dotted] = value
        if written and not created:
            self.plan.updated.setdefault(name, []).extend(written)

    def placement(self, facts: Mapping[str, Any], followed: Followed | None, *, created: bool) -> dict[str, Any]:
        """The facts with the model's place settled. A model a person placed keeps its capabilities
        (a deprecation the listing states still applies). One discovery placed follows the
        listing: with no capabilities it is `discovered` (in no pool; the only status that allows
        none), and once it has some, the provider's default status applies."""
        facts = dict(facts)
        if not created and (followed is None or "capabilities" not in followed.fields):
            del facts["capabilities"]
            return facts
        if not facts["capabilities"]:
            facts["lifecycle.status"] = "discovered"
        elif followed is not None and followed.fields.get("lifecycle.status") == "discovered" \
                and "lifecycle.status" not in facts:
            facts["lifecycle.status"] = ABSENT
        return facts

    def listed(self, listing: list[Listed]) -> set[str]:
        seen: set[str] = set()
        for listed in sorted(listing, key=lambda entry: entry.model_id):
            model_id = listed.model_id
            if model_id in seen:
                self.plan.skipped.append((model_id, "listed twice; the first entry was used"))
                continue
            seen.add(model_id)
            if not self.discovery.wants(model_id):
                self.plan.skipped.append((model_id, "left out by discovery.include/exclude"))
                continue
            self.plan.listed += 1
            facts = place(listed, self.discovery, self.tree)
            followed = self.record.models.get(model_id)
            name = self.by_id.get(model_id)
            if name is None:
                self.create(model_id, followed, facts)
                continue
            if followed is None:
                followed = self.record.models[model_id] = Followed(name)
            followed.name = name
            self.backups.setdefault(name, (model_id, _copy_followed(followed)))
            if followed.unlisted_since is not None:
                self.restore(name, followed, facts)
            followed.listed = True
            self.follow(name, followed, self.placement(facts, followed, created=False), created=False)
        return seen

    def create(self, model_id: str, followed: Followed | None, facts: Mapping[str, Any]) -> None:
        if followed is not None and followed.name not in self.models:
            self.plan.skipped.append((model_id, f"`{followed.name}` was removed from the catalog by hand; "
                                                "not added again"))
            return
        base = slug_model_name(self.plan.provider, model_id)
        if base is None:
            self.plan.skipped.append((model_id, "no model name can be made of this ID"))
            return
        name, n = base, 2
        while name in self.models or name in self.docs:
            name, n = f"{base}-{n}", n + 1
        try:
            model_path(name)
        except UsageError:
            self.plan.skipped.append((model_id, f"`{name}` is not a valid model name"))
            return
        doc = self.docs[name] = {"name": name, "provider": self.plan.provider, "model_id": model_id}
        self.backups[name] = (model_id, None)
        followed = self.record.models[model_id] = Followed(name)
        self.follow(name, followed, self.placement(facts, followed, created=True), created=True)
        doc.setdefault("capabilities", [])
        self.by_id[model_id] = name
        self.plan.added.append(name)

    def restore(self, name: str, followed: Followed, facts: Mapping[str, Any]) -> None:
        # Listed again: what discovery wrote when it went away is put back as it was, where it
        # still stands (a person's change since stays).
        doc = self.doc(name)
        taken = []
        for dotted, previous in sorted(followed.replaced.items()):
            if dotted in facts or dotted not in followed.fields:
                continue
            if same(get(doc, dotted), followed.fields.pop(dotted)):
                put(doc, dotted, ABSENT if previous is None else previous)
                taken.append(dotted)
        followed.replaced = {}
        followed.unlisted_since = None
        if taken:
            self.plan.restored.append(name)
            self.plan.updated.setdefault(name, []).extend(taken)

    def gone(self, seen: set[str]) -> None:
        for model_id in sorted(self.record.models):
            followed = self.record.models[model_id]
            if not followed.listed or model_id in seen:
                continue
            followed.listed = False
            followed.unlisted_since = self.today
            if followed.name not in self.models:
                continue
            doc = self.doc(followed.name)
            status = get(doc, "lifecycle.status")
            if status == "discovered":
                self.plan.skipped.append((model_id, "gone from the listing before anyone placed it; left as "
                                                    "discovered"))
                continue
            if status in ("deprecated", "retired"):
                continue
            if "lifecycle.status" in followed.fields and not same(status, followed.fields["lifecycle.status"]):
                self.plan.conflicts.append(Conflict(followed.name, "lifecycle.status", "deprecated", status))
                followed.fields["lifecycle.status"] = "deprecated"
                continue
            # What it replaces is kept, to be put back if the model is listed again.
            followed.replaced = {"lifecycle.status": None if status is ABSENT else status}
            put(doc, "lifecycle.status", "deprecated")
            followed.fields["lifecycle.status"] = "deprecated"
            if get(doc, "lifecycle.deprecated_at") is ABSENT:
                put(doc, "lifecycle.deprecated_at", self.today)
                followed.fields["lifecycle.deprecated_at"] = self.today
                followed.replaced["lifecycle.deprecated_at"] = None
            self.plan.deprecated.append(followed.name)

    def drop(self, name: str, problem: str) -> None:
        # One entry whose values the model schema refuses is skipped, and its record left as it
        # was, so the rest of the listing still lands.
        model_id, before = self.backups.get(name, (name, None))
        if before is None:
            self.record.models.pop(model_id, None)
        else:
            self.record.models[model_id] = before
        if name in self.plan.added:
            self.plan.added.remove(name)
        self.plan.updated.pop(name, None)
        self.plan.deprecated = [n for n in self.plan.deprecated if n != name]
        self.plan.restored = [n for n in self.plan.restored if n != name]
        self.plan.conflicts = [c for c in self.plan.conflicts if c.name != name]
        self.plan.skipped.append((model_id, f"the listing's values do not fit a model file ({problem})"))

    def finish(self) -> Plan:
        for name, doc in sorted(self.docs.items()):
            old = self.models.get(name)
            if old is not None and doc == old.data:
                continue
            problem = first_error("model", doc)
            if problem is not None:
                self.drop(name, problem)
                continue
            rel = model_path(name)
            self.plan.writes[rel] = dump_model_file(ModelDefinition.from_document(doc), rel).encode("utf-8")
        raw = self.record.dump()
        if raw != self.record_raw:
            self.plan.writes[discovery_record_path(self.plan.provider)] = raw
        return self.plan


def _copy_followed(followed: Followed | None) -> Followed | None:
    if followed is None:
        return None
    return Followed(followed.name, followed.listed, copy(followed.fields), followed.unlisted_since,
                    copy(followed.replaced))


def plan_sync(discovery: Discovery, listing: list[Listed], tree: CapabilityTree, models: Mapping[str, CatalogModel],
              record: Record, record_raw: bytes | None, today: str,
              defaults: Mapping[str, Any] | None = None) -> Plan:
    """Compare a complete listing with the provider's model files (`models`, by name) and its
    record; `today` (YYYY-MM-DD) dates what went away, `defaults` are the provider's (a fact they
    already state is not written into a file that is silent on it). The record is updated in
    place."""
    planner = _Planner(discovery.provider, discovery, tree, models, record, record_raw, today, defaults or {})
    seen = planner.listed(listing)
    following = sum(1 for followed in record.models.values() if followed.listed)
    if planner.plan.listed == 0 and following:
        # Deprecating every model at once is what a broken answer would do; a person decides.
        raise ListingError(f"the listing holds none of the {following} {discovery.provider} models the catalog "
                           "follows; an empty answer is taken for a broken one, nothing changed")
    planner.gone(seen)
    return planner.finish()

