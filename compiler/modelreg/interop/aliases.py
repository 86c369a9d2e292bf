"""One table of provider names: what LiteLLM (`litellm_provider`) and models.dev (provider ids)
call a provider, and the catalog's name for it. Both importers and both exporters use it, so an
import of either file lands on the same providers and an export speaks each tool's names.

A name the table does not know becomes a catalog name of its own, made path-safe.
"""

from __future__ import annotations

import fnmatch
import re

# External name (or glob) -> catalog provider. Only where it is the same API with the same models:
# Gemini on Vertex is Google's, Anthropic's models on Vertex are not the Anthropic API.
ALIASES: tuple[tuple[str, str], ...] = (
    ("gemini", "google"),
    ("vertex_ai", "google"),
    ("vertex_ai-language-models", "google"),
    ("vertex_ai-embedding-models", "google"),
    ("vertex_ai-image-models", "google"),
    ("vertex_ai-video-models", "google"),
    ("vertex_ai-text-models", "google"),
    ("palm", "google"),
    ("google-vertex", "google"),
    ("bedrock_converse", "bedrock"),
    ("amazon-bedrock", "bedrock"),
    ("together_ai", "together"),
    ("togetherai", "together"),
    ("text-completion-openai", "openai"),
    ("azure_text", "azure"),
    ("cohere_chat", "cohere"),
    ("codestral", "mistral"),
    ("text-completion-codestral", "mistral"),
    ("jina_ai", "jina"),
    ("fireworks_ai-embedding-models", "fireworks_ai"),
    ("fireworks-ai", "fireworks_ai"),
    ("x-ai", "xai"),
)

# Catalog provider -> the prefix LiteLLM routes it by (`<prefix>/<model>`), where it differs.
LITELLM_PREFIX = {"google": "gemini", "together": "together_ai", "jina": "jina_ai"}

# The providers LiteLLM routes (`litellm.provider_list`, the part a catalog is likely to hold); a
# model of any other provider is reported by the export, not written for LiteLLM to drop.
LITELLM_PROVIDERS = frozenset({
    "ai21", "aiml", "anthropic", "anyscale", "assemblyai", "azure", "azure_ai", "baseten", "bedrock", "cerebras",
    "cloudflare", "codestral", "cohere", "cohere_chat", "dashscope", "databricks", "deepgram", "deepinfra",
    "deepseek", "elevenlabs", "featherless_ai", "fireworks_ai", "friendliai", "gemini", "github_copilot", "groq",
    "huggingface", "hyperbolic", "jina_ai", "lambda_ai", "lm_studio", "mistral", "moonshot", "nebius", "nlp_cloud",
    "novita", "nscale", "nvidia_nim", "ollama", "ollama_chat", "openai", "openrouter", "perplexity", "replicate",
    "sagemaker", "sambanova", "snowflake", "together_ai", "vertex_ai", "vllm", "voyage", "watsonx", "xai",
})


def catalog_provider(external: str) -> str | None:
    """The catalog's provider for an external provider name; None when nothing path-safe can be
    made of it."""
    for pattern, name in ALIASES:
        if fnmatch.fnmatchcase(external, pattern):
            return name
    slug = re.sub(r"[^a-z0-9_-]+", "-", external.lower()).strip("-_")
    return slug[:64] if slug and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", slug) else None


def litellm_prefix(provider: str) -> str | None:
    """The prefix LiteLLM routes a catalog provider's models by, or None when LiteLLM does not know it."""
    prefix = LITELLM_PREFIX.get(provider, provider)
    return prefix if prefix in LITELLM_PROVIDERS else None
