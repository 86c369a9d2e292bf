"""Cohere's `GET /v1/models`: pages of `models` through `next_page_token` and `page_token`, up
to 1,000 a page. `endpoints` says what a model serves, `features` what it supports,
`is_deprecated` marks a deprecation."""

from __future__ import annotations

from collections.abc import Mapping

from modelreg.sync.formats import ListingFormat, PageRead, bearer
from modelreg.sync.listing import Listed, Page, mapped, optional, positive_int

ENDPOINTS = {
    "chat": "generation.text-generation",
    "embed": "embedding.text-embedding",
    "rerank": "retrieval.rerank",
    "classify": "classification.text-classification",
}
FEATURES = {"tools": "tool_calling", "json_mode": "json_mode", "json_schema": "structured_output",
            "vision": "vision"}


def query(cursor: str | None) -> Mapping[str, str]:
    return {"page_size": "1000", **({"page_token": cursor} if cursor is not None else {})}


def read_page(page: Page) -> PageRead:
    body = page.body
    entries = page.items(body, "models", "models")
    models = []
    for i, entry in enumerate(entries):
        listed = Listed(page.need(entry, "name", str, f"models[{i}].name"))
        listed.state("limits.context_window", positive_int(entry.get("context_length")))
        endpoints = optional(entry, "endpoints", list) or []
        listed.capabilities.update(mapped(endpoints, ENDPOINTS))
        for feature in mapped(entry.get("features"), FEATURES):
            listed.feature(feature, True)
        if optional(entry, "is_deprecated", bool):
            listed.deprecate()
        models.append(listed)
    token = optional(body, "next_page_token", str)
    return models, token or None


FORMAT = ListingFormat("cohere", read_page, query, bearer)
