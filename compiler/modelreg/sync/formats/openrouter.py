"""OpenRouter's `GET /api/v1/models`: `data` with `architecture.input_modalities` and
`output_modalities`, `supported_parameters`, `context_length`, `top_provider`, and `pricing` as
strings in USD per token; `expiration_date` marks a model going away. One page."""

from __future__ import annotations

from modelreg.sync.formats import ListingFormat, PageRead, bearer, no_query
from modelreg.sync.listing import Listed, Page, date_of, mapped, optional, per_million, positive_int

MODALITIES = {"text": "text", "image": "image", "file": "pdf", "audio": "audio", "video": "video"}
PARAMETERS = {
    "tools": "tool_calling",
    "tool_choice": "tool_choice",
    "response_format": "json_mode",
    "structured_outputs": "structured_output",
    "reasoning": "reasoning",
    "web_search_options": "web_search",
}
PRICES = {"prompt": "cost.input_per_mtok", "completion": "cost.output_per_mtok",
          "input_cache_read": "cost.cached_input_per_mtok"}


def read_page(page: Page) -> PageRead:
    entries = page.items(page.body, "data", "data")
    models = []
    for i, entry in enumerate(entries):
        listed = Listed(page.need(entry, "id", str, f"data[{i}].id"))
        listed.state("display_name", optional(entry, "name", str))
        listed.state("limits.context_window", positive_int(entry.get("context_length")))
        top = optional(entry, "top_provider", dict) or {}
        listed.state("limits.max_output_tokens", positive_int(top.get("max_completion_tokens")))
        architecture = optional(entry, "architecture", dict) or {}
        inputs = mapped(architecture.get("input_modalities"), MODALITIES)
        outputs = mapped(architecture.get("output_modalities"), MODALITIES)
        listed.state("modalities.input", inputs)
        listed.state("modalities.output", outputs)
        if "text" in inputs and "text" in outputs:
            listed.capabilities.add("generation.text-generation")
        if "image" in inputs and "text" in outputs:
            listed.capabilities.add("understanding.image-understanding")
            listed.feature("vision", True)
        if "pdf" in inputs and "text" in outputs:
            listed.feature("pdf_input", True)
        if "image" in outputs:
            listed.capabilities.add("generation.image-generation")
        for feature in mapped(entry.get("supported_parameters"), PARAMETERS):
            listed.feature(feature, True)
        pricing = optional(entry, "pricing", dict) or {}
        for key, name in PRICES.items():
            listed.state(name, per_million(pricing.get(key)))
        expires = date_of(entry.get("expiration_date"))
        if expires is not None:
            listed.deprecate(retires=expires)
        models.append(listed)
    return models, None


FORMAT = ListingFormat("openrouter", read_page, no_query, bearer)
