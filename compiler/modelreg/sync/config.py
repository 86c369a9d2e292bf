"""A provider's `discovery` settings (`provider.yaml`), as sync uses them: the format, the URL,
which models it follows, the rules that fill in what a listing does not say, and the key."""

from __future__ import annotations

import fnmatch
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelreg.errors import UsageError

# Formats sync can call itself; the others are read only from a saved listing (`--listing`).
NETWORK_FORMATS = ("openai", "anthropic", "gemini", "mistral", "openrouter", "ollama", "cohere")
SAVED_FORMATS = ("bedrock",)
FORMATS = NETWORK_FORMATS + SAVED_FORMATS


@dataclass(frozen=True)
class Rule:
    """What a provider knows about models whose ID matches `match` and the listing does not say."""

    match: str
    capabilities: tuple[str, ...] = ()
    features: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Discovery:
    """One provider's discovery settings."""

    provider: str
    format: str | None
    url: str | None
    enabled: bool
    api_key_env: str | None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    @property
    def networked(self) -> bool:
        """Whether sync can fetch this provider's listing itself."""
        return self.format in NETWORK_FORMATS and self.url is not None

    def wants(self, model_id: str) -> bool:
        """Whether the catalog follows this model (its ID passes `include` and `exclude`)."""
        if self.include and not any(fnmatch.fnmatchcase(model_id, glob) for glob in self.include):
            return False
        return not any(fnmatch.fnmatchcase(model_id, glob) for glob in self.exclude)

    def rule_for(self, model_id: str) -> Rule | None:
        """The first rule whose glob matches the model ID (specific ones go first), or None."""
        return next((rule for rule in self.rules if fnmatch.fnmatchcase(model_id, rule.match)), None)


def discovery_of(provider: str, document: Mapping[str, Any]) -> Discovery:
    """The discovery settings of a provider file's (schema-valid) content."""
    block: Mapping[str, Any] = document.get("discovery") or {}
    url = block.get("url")
    endpoint = block.get("endpoint")
    base = document.get("api_base")
    if url is None and endpoint is not None and base is not None:
        parts = urllib.parse.urlsplit(base)
        url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + endpoint, "", ""))
    rules = tuple(Rule(r["match"], tuple(r.get("capabilities", ())), dict(r.get("features", {})))
                  for r in block.get("rules", ()))
    return Discovery(provider, block.get("format"), url, bool(block.get("enabled", bool(block))),
                     document.get("api_key_env"), tuple(block.get("include", ())), tuple(block.get("exclude", ())),
                     rules)


def require_format(discovery: Discovery, *, saved: bool) -> str:
    """The format to read the listing in; UsageError when the provider has none, or when it can
    only be read from a saved listing and none was given."""
    if discovery.format is None:
        raise UsageError(f"provider `{discovery.provider}` has no `discovery.format` in its provider.yaml "
                         f"(one of {', '.join(FORMATS)})")
    if not saved:
        if discovery.format in SAVED_FORMATS:
            raise UsageError(f"provider `{discovery.provider}`: the {discovery.format} listing is read from a saved "
                             "file; give it with --listing FILE")
        if discovery.url is None:
            raise UsageError(f"provider `{discovery.provider}` has no discovery URL: set `discovery.url`, or "
                             "`discovery.endpoint` and `api_base`")
    return discovery.format
