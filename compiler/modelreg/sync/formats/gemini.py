"""Google's Gemini API `GET /v1beta/models`: pages of `models` through `nextPageToken` and
`pageToken`, up to 1,000 a page. Names come as `models/<id>`; `supportedGenerationMethods` says
what a model does, `inputTokenLimit`/`outputTokenLimit` its limits."""

from __future__ import annotations

from collections.abc import Mapping

from modelreg.sync.formats import ListingFormat, PageRead
from modelreg.sync.listing import Listed, Page, mapped, optional, positive_int

METHODS = {
    "generateContent": "generation.text-generation",
    "embedContent": "embedding.text-embedding",
    "batchEmbedContents": "embedding.text-embedding",
}


def auth(key: str) -> Mapping[str, str]:
    return {"x-goog-api-key": key}


def query(cursor: str | None) -> Mapping[str, str]:
    return {"pageSize": "1000", **({"pageToken": cursor} if cursor is not None else {})}


def read_page(page: Page) -> PageRead:
    body = page.body
    if not isinstance(body, dict):
        raise page.fail("the body is not an object")
    # The API answers an empty listing with `{}`; any other body without `models` is not a listing.
    entries = [] if body == {} else page.items(body, "models", "models")
    models = []
    for i, entry in enumerate(entries):
        name = page.need(entry, "name", str, f"models[{i}].name")
        listed = Listed(name.removeprefix("models/"))
        listed.state("display_name", optional(entry, "displayName", str))
        listed.state("limits.context_window", positive_int(entry.get("inputTokenLimit")))
        listed.state("limits.max_output_tokens", positive_int(entry.get("outputTokenLimit")))
        methods = optional(entry, "supportedGenerationMethods", list) or []
        listed.capabilities.update(mapped(methods, METHODS))
        if optional(entry, "thinking", bool):
            listed.feature("reasoning", True)
        if "batchGenerateContent" in methods:
            listed.state("batch", True)
        models.append(listed)
    token = optional(body, "nextPageToken", str)
    return models, token or None


FORMAT = ListingFormat("gemini", read_page, query, auth)
