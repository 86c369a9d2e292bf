"""A local Ollama daemon: `GET /api/tags` lists the pulled models, then one `POST /api/show`
per model tells its `capabilities` (`completion`, `vision`, `tools`, `embedding`, `thinking`)
and `<architecture>.context_length`. No key."""

from __future__ import annotations

from modelreg.sync.formats import ListingFormat, PageRead, no_query
from modelreg.sync.http import ListingClient, shown_url
from modelreg.sync.listing import Listed, Page, mapped, optional, positive_int

CAPABILITIES = {"completion": "generation.text-generation", "embedding": "embedding.text-embedding"}
FEATURES = {"vision": "vision", "tools": "tool_calling", "thinking": "reasoning"}


def read_page(page: Page) -> PageRead:
    entries = page.items(page.body, "models", "models")
    return [Listed(page.need(entry, "name", str, f"models[{i}].name")) for i, entry in enumerate(entries)], None


def read_show(listed: Listed, page: Page) -> None:
    """What `/api/show` says of one model."""
    body = page.body
    if not isinstance(body, dict):
        raise page.fail("the body is not an object")
    capabilities = optional(body, "capabilities", list) or []
    listed.capabilities.update(mapped(capabilities, CAPABILITIES))
    for feature in mapped(capabilities, FEATURES):
        listed.feature(feature, True)
    if "vision" in capabilities and "completion" in capabilities:
        listed.capabilities.add("understanding.image-understanding")
    info = optional(body, "model_info", dict) or {}
    architecture = optional(info, "general.architecture", str)
    if architecture is not None:
        listed.state("limits.context_window", positive_int(info.get(f"{architecture}.context_length")))


def fetch(listing: ListingFormat, client: ListingClient, url: str, key: str | None) -> list[Listed]:
    tags = client.get_json(url, what="the model list")
    models, _ = read_page(Page(tags, f"{shown_url(url)}: the model list"))
    show = url.rstrip("/").removesuffix("/tags") + "/show"
    for listed in models:
        what = f"show {listed.model_id}"
        body = client.get_json(show, what=what, body={"model": listed.model_id}, page=False)
        read_show(listed, Page(body, f"{shown_url(show)}: {what}"))
    return models


FORMAT = ListingFormat("ollama", read_page, no_query, None, fetch)
