"""OpenAI's `GET /v1/models` (and the OpenAI-compatible APIs: Together, Groq, DeepSeek, xAI, ...):
`{"object": "list", "data": [...]}`, or a bare list as Together returns it. One page.

OpenAI's entries say little beyond the ID (`shutdown_date` when one is set); Together's add a
`type`, `display_name`, `context_length` and `pricing` (USD per million tokens); Groq's a
`context_window`."""

from __future__ import annotations

from modelreg.sync.formats import ListingFormat, PageRead, bearer, no_query
from modelreg.sync.listing import Listed, Page, date_of, optional, per_million, positive_int

# Together's `type`: what the model is for.
TYPES = {
    "chat": "generation.text-generation",
    "embedding": "embedding.text-embedding",
    "image": "generation.image-generation",
    "rerank": "retrieval.rerank",
    "moderation": "moderation.text-moderation",
    "transcribe": "audio.speech-to-text",
}


def read_page(page: Page) -> PageRead:
    body = page.body
    entries = body if isinstance(body, list) else page.items(body, "data", "data")
    prefix = "" if isinstance(body, list) else "data"
    models = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise page.fail(f"`{prefix}[{i}]` is not an object")
        listed = Listed(page.need(entry, "id", str, f"{prefix}[{i}].id"))
        listed.state("display_name", optional(entry, "display_name", str))
        # Together says `context_length`, Groq `context_window`.
        listed.state("limits.context_window", positive_int(entry.get("context_length") or entry.get("context_window")))
        shutdown = date_of(entry.get("shutdown_date"))
        if shutdown is not None:
            listed.deprecate(retires=shutdown)
        kind = optional(entry, "type", str)
        if kind in TYPES:
            listed.capabilities.add(TYPES[kind])
        pricing = optional(entry, "pricing", dict)
        if pricing is not None and kind in ("chat", "embedding"):
            listed.state("cost.input_per_mtok", per_million(pricing.get("input"), 1))
            if kind == "chat":
                listed.state("cost.output_per_mtok", per_million(pricing.get("output"), 1))
        models.append(listed)
    return models, None


FORMAT = ListingFormat("openai", read_page, no_query, bearer)
