"""Amazon Bedrock's foundation models, as `aws bedrock list-foundation-models` prints them:
`{"modelSummaries": [...]}` with `modelId`, `modelName`, `inputModalities`/`outputModalities`,
`responseStreamingSupported` and `modelLifecycle.status`. Read from a saved file only: the API
signs requests with AWS credentials, which the AWS CLI already handles."""

from __future__ import annotations

from modelreg.sync.formats import ListingFormat, PageRead, no_query
from modelreg.sync.listing import Listed, Page, mapped, optional

MODALITIES = {"TEXT": "text", "IMAGE": "image", "VIDEO": "video", "SPEECH": "audio", "AUDIO": "audio",
              "EMBEDDING": "embedding"}


def read_page(page: Page) -> PageRead:
    entries = page.items(page.body, "modelSummaries", "modelSummaries")
    models = []
    for i, entry in enumerate(entries):
        listed = Listed(page.need(entry, "modelId", str, f"modelSummaries[{i}].modelId"))
        listed.state("display_name", optional(entry, "modelName", str))
        inputs = mapped(entry.get("inputModalities"), MODALITIES)
        outputs = mapped(entry.get("outputModalities"), MODALITIES)
        listed.state("modalities.input", inputs)
        listed.state("modalities.output", outputs)
        if "text" in outputs and "text" in inputs:
            listed.capabilities.add("generation.text-generation")
            if "image" in inputs:
                listed.capabilities.add("understanding.image-understanding")
        if "embedding" in outputs:
            listed.capabilities.add("embedding.multimodal-embedding" if "image" in inputs
                                    else "embedding.text-embedding")
        if "image" in outputs:
            listed.capabilities.add("generation.image-generation")
        if "video" in outputs:
            listed.capabilities.add("generation.video-generation")
        listed.feature("streaming", optional(entry, "responseStreamingSupported", bool))
        lifecycle = optional(entry, "modelLifecycle", dict) or {}
        if lifecycle.get("status") == "LEGACY":
            listed.deprecate()
        models.append(listed)
    return models, None


FORMAT = ListingFormat("bedrock", read_page, no_query, None)
