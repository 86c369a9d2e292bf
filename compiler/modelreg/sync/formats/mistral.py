"""Mistral's `GET /v1/models`: `data` with a `capabilities` object, `max_context_length`, a
`deprecation` date, and `aliases`: each alias shows up again as an entry of its own, which is
the same model (kept once, under the ID that equals its `name`). One page."""

from __future__ import annotations

from modelreg.sync.formats import ListingFormat, PageRead, bearer, no_query
from modelreg.sync.listing import Listed, Page, date_of, optional, positive_int

CAPABILITIES = {
    "completion_chat": "generation.text-generation",
    "completion_fim": "generation.code-generation",
    "classification": "classification.text-classification",
    "ocr": "understanding.document-understanding.ocr",
    "audio": "understanding.audio-understanding",
}
FEATURES = {"function_calling": "tool_calling", "vision": "vision"}


def read_page(page: Page) -> PageRead:
    entries = page.items(page.body, "data", "data")
    groups: dict[str, tuple[str, dict[str, object]]] = {}
    for i, entry in enumerate(entries):
        model_id = page.need(entry, "id", str, f"data[{i}].id")
        aliases = [a for a in optional(entry, "aliases", list) or [] if isinstance(a, str)]
        canonical = optional(entry, "name", str)
        names = {model_id, *aliases}
        key = canonical if canonical in names else min(names)
        kept = groups.get(key)
        # The entry whose ID is the canonical name stands for the group; else the smallest ID.
        if kept is None or (model_id == key) or (kept[0] != key and model_id < kept[0]):
            groups[key] = (model_id, entry)
    models = []
    for model_id, entry in (groups[key] for key in sorted(groups)):
        listed = Listed(model_id)
        listed.state("limits.context_window", positive_int(entry.get("max_context_length")))
        capabilities = optional(entry, "capabilities", dict) or {}
        for flag, capability in CAPABILITIES.items():
            if capabilities.get(flag) is True:
                listed.capabilities.add(capability)
        for flag, feature in FEATURES.items():
            listed.feature(feature, capabilities.get(flag))
        if capabilities.get("vision") is True and capabilities.get("completion_chat") is True:
            listed.capabilities.add("understanding.image-understanding")
        deprecation = date_of(entry.get("deprecation"))
        if deprecation is not None:
            listed.deprecate(retires=deprecation)
        models.append(listed)
    return models, None


FORMAT = ListingFormat("mistral", read_page, no_query, bearer)
