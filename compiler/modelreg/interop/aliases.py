"""One table of provider names: what LiteLLM (`litellm_provider`) and models.dev (provider ids)
call a provider, and the catalog's name for it. Both importers and both exporters use it, so an
import of either file lands on the same providers and an export speaks each tool's names.

A name the table does not know becomes a catalog name of its own, made path-safe.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

# External name (or glob) -> catalog provider. Only where it is the same API with the same models:
# Gemini on Vertex is Google's, Anthropic's models on Vertex are not the Anthropic API.
ALIASES: tuple[tuple[str, str], ...] = (
    ("gemini", "google"),
    ("vertex_ai-language-models", "google"),  # Gemini on Vertex
    ("google-vertex", "google"),
    # The rest of Vertex (PaLM, Imagen, Chirp, partner models) is Vertex's own.
    ("vertex_ai-*", "vertex_ai"),
    ("palm", "vertex_ai"),
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
# LiteLLM routes that take the deployment's own `api_base`; the others know their provider's.
OWN_BASE = frozenset({"openai", "anthropic", "azure", "azure_ai", "ollama", "ollama_chat", "vllm", "hosted_vllm",
                      "lm_studio", "openai_like", "custom_openai"})

# The providers LiteLLM routes (`litellm.provider_list` of the pinned version; a test holds the two
# together): a model of any other provider is reported by the export, not written for LiteLLM to drop.
# `chatgpt` and `github_copilot` sign in through a browser, which a proxy's config cannot do: the
# loader drops them, so they are left out here too.
LITELLM_PROVIDERS = frozenset({
    "a2a", "a2a_agent", "ai21", "ai21_chat", "aiml", "aiohttp_openai", "amazon_nova", "anthropic", "anthropic_text",
    "apertis", "assemblyai", "auto_router", "aws_polly", "aws_textract", "azure", "azure_ai", "azure_speech",
    "azure_text", "baseten", "bedrock", "bedrock_mantle", "bespoke", "black_forest_labs", "bytez", "cerebras",
    "charity_engine", "chutes", "clarifai", "cloudflare", "codestral", "cognition", "cohere",
    "cohere_chat", "cometapi", "compactifai", "coralbricks", "cortecs", "cursor", "custom", "custom_openai",
    "darkbloom", "dashscope", "databricks", "databricks_agent", "datarobot", "deepgram", "deepinfra", "deepseek",
    "docker_model_runner", "dotprompt", "edenai", "elevenlabs", "empower", "fal_ai", "featherless_ai",
    "fireworks_ai", "friendliai", "galadriel", "gdc", "gemini", "gigachat", "github",
    "gradient_ai", "groq", "helicone", "heroku", "hosted_vllm", "huggingface", "humanloop", "hyperbolic",
    "inception", "inferenceapis", "infinity", "jina_ai", "lambda_ai", "langflow", "langfuse", "langgraph", "laya",
    "lemonade", "libertai", "litellm_agent", "litellm_proxy", "llamafile", "lm_studio", "manus", "maritalk", "meta",
    "meta_llama", "microsoft_365_copilot", "milvus", "minimax", "mistral", "modelscope", "mongodb", "moonshot",
    "morph", "nadir", "nano-gpt", "nebius", "neosantara", "nlp_cloud", "novita", "nscale", "nvidia_nim",
    "nvidia_riva", "oci", "ollama", "ollama_chat", "oobabooga", "openai", "openai_like", "openrouter", "ovhcloud",
    "parasail", "perplexity", "petals", "pg_vector", "pinstripes", "poe", "predibase", "prism", "publicai",
    "qwen_ai_platform", "qwencloud", "ragflow", "recraft", "reducto", "reka", "replicate", "runwayml", "s3_vectors",
    "sagemaker", "sagemaker_chat", "sagemaker_nova", "sail", "sambanova", "sap", "scaledown", "scaleway", "scx-ai",
    "snowflake", "soniox", "stability", "strands_decider", "synthetic", "tencent", "tensormesh",
    "text-completion-codestral", "text-completion-inception", "text-completion-openai", "together_ai", "topaz",
    "transcribe", "triton", "typesafe", "v0", "valkey", "vercel_ai_gateway", "vertex_ai", "vertex_ai_beta", "vllm",
    "volcengine", "voyage", "wandb", "watsonx", "watsonx_text", "xai", "xiaomi_mimo", "xinference", "zai",
})


def catalog_provider(external: str) -> str | None:
    """The catalog's provider for an external provider name; None when nothing path-safe can be
    made of it."""
    for pattern, name in ALIASES:
        if fnmatch.fnmatchcase(external, pattern):
            return name
    slug = re.sub(r"[^a-z0-9_-]+", "-", external.lower()).strip("-_")
    return slug[:64] if slug and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", slug) else None


def litellm_prefix(provider: str, record: Mapping[str, Any] | None = None) -> str | None:
    """The prefix LiteLLM routes a catalog provider's models by (its `record` from the snapshot
    tells an OpenAI- or Anthropic-compatible API, which LiteLLM reaches as `openai/` or
    `anthropic/` with the provider's `api_base`), or None when LiteLLM cannot route it."""
    prefix = LITELLM_PREFIX.get(provider, provider)
    if prefix in LITELLM_PROVIDERS:
        return prefix
    record = record or {}
    if record.get("api") in ("openai", "anthropic") and record.get("api_base"):
        return str(record["api"])
    return None
