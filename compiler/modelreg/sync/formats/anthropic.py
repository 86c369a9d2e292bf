"""Anthropic's `GET /v1/models`: pages of `data` through `has_more` and `after_id=<last_id>`,
up to 1,000 a page. Entries carry a `capabilities` object (`image_input`, `pdf_input`,
`thinking`, `structured_outputs`, `batch`, ...), `max_input_tokens`, `max_tokens` and lifecycle
fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelreg.sync.formats import ListingFormat, PageRead
from modelreg.sync.listing import Listed, Page, date_of, optional, positive_int

VERSION = "2023-06-01"
# Capability flags -> features.
FEATURES = {
    "image_input": "vision",
    "pdf_input": "pdf_input",
    "thinking": "reasoning",
    "structured_outputs": "structured_output",
    "web_search": "web_search",
    "computer_use": "computer_use",
}


def auth(key: str) -> Mapping[str, str]:
    return {"x-api-key": key, "anthropic-version": VERSION}


def query(cursor: str | None) -> Mapping[str, str]:
    return {"limit": "1000", **({"after_id": cursor} if cursor is not None else {})}


def _supported(capabilities: Mapping[str, Any], name: str) -> bool | None:
    flag = capabilities.get(name)
    value = flag.get("supported") if isinstance(flag, dict) else None
    return value if isinstance(value, bool) else None


def read_page(page: Page) -> PageRead:
    body = page.body
    entries = page.items(body, "data", "data")
    more = page.need(body, "has_more", bool, "has_more")
    models = []
    for i, entry in enumerate(entries):
        listed = Listed(page.need(entry, "id", str, f"data[{i}].id"))
        listed.state("display_name", optional(entry, "display_name", str))
        context = positive_int(entry.get("max_input_tokens"))
        output = positive_int(entry.get("max_tokens"))
        listed.state("limits.context_window", context)
        listed.state("limits.max_output_tokens", output)
        if output is not None:  # a model that writes tokens out: the Messages API's text generation
            listed.capabilities.add("generation.text-generation")
        capabilities = optional(entry, "capabilities", dict) or {}
        inputs = ["text"]
        for flag, feature in FEATURES.items():
            listed.feature(feature, _supported(capabilities, flag))
        if _supported(capabilities, "image_input"):
            inputs.append("image")
            listed.capabilities.add("understanding.image-understanding")
        if _supported(capabilities, "pdf_input"):
            inputs.append("pdf")
            listed.capabilities.add("understanding.document-understanding")
        if _supported(capabilities, "batch") is not None:
            listed.state("batch", _supported(capabilities, "batch"))
        if capabilities and output is not None:
            listed.state("modalities.input", inputs)
            listed.state("modalities.output", ["text"])
        status = optional(entry, "lifecycle", str)
        deprecated = date_of(entry.get("deprecated_at"))
        if status in ("deprecated", "legacy") or deprecated is not None:
            listed.deprecate(since=deprecated, retires=date_of(entry.get("retires_at")))
        else:
            listed.state("lifecycle.retires_at", date_of(entry.get("retires_at")))
        models.append(listed)
    if not more:
        return models, None
    return models, page.need(body, "last_id", str, "last_id")


FORMAT = ListingFormat("anthropic", read_page, query, auth)
