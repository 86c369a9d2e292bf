"""A catalog in git whose provider `acme` lists its models on a server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CAPABILITIES, Run, run_cli, write
from tests.git_helpers import commit_all, git, init_repo
from tests.sync.listing_server import KEY, ListingServer, entry

# 2026-03-01: the date a sync stamps on what went away (SOURCE_DATE_EPOCH).
EPOCH = "1772323200"
TODAY = "2026-03-01"


def provider_yaml(fmt: str, url: str, extra: str = "") -> str:
    return f"""\
name: acme
display_name: Acme AI
api: openai
api_base: https://api.acme.test/v1
api_key_env: ACME_API_KEY
discovery:
  format: {fmt}
  enabled: true
  url: {url}
{extra}defaults:
  features:
    streaming: true
  lifecycle:
    status: active
"""


HAND = """\
name: acme/chat-large
provider: acme
model_id: chat-large-2024
display_name: Chat Large
capabilities: [generation.text-generation]
limits:
  context_window: 128000
  max_output_tokens: 8192
"""


@dataclass
class Synced:
    root: Path
    catalog: Path
    server: ListingServer

    def sync(self, *args: str) -> Run:
        return run_cli("sync", "acme", "--catalog", str(self.catalog), "--timeout", "2", *args)

    def head(self) -> str:
        return git(self.root, "rev-parse", "HEAD")

    def branch(self) -> str | None:
        return git(self.root, "rev-parse", "-q", "--verify", "refs/heads/sync/acme", check=False) or None

    def show(self, rel: str, rev: str = "sync/acme") -> str:
        return git(self.root, "show", f"{rev}:models.d/{rel}")


@pytest.fixture
def make_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Synced]]:
    """Build a catalog in git with provider acme listing `entries` in `fmt`."""
    monkeypatch.setenv("ACME_API_KEY", KEY)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    servers: list[ListingServer] = []

    def make(fmt: str = "anthropic", entries: list[dict[str, Any]] | None = None, *, extra: str = "",
             hand: bool = True, page_size: int = 2, **server: Any) -> Synced:
        if entries is None:
            entries = [entry(fmt, "chat-large-2024", context=200000), entry(fmt, "chat-small"),
                       entry(fmt, "chat-mini", context=32000)]
        listing = ListingServer(fmt, entries, page_size=page_size, **server)
        servers.append(listing)
        root = init_repo(tmp_path / "repo")
        catalog = root / "models.d"
        write(catalog, "capabilities.yaml", CAPABILITIES.replace(
            "  json_mode: Returns JSON.\n", "  json_mode: Returns JSON.\n  pdf_input: Reads PDFs.\n"))
        write(catalog, "acme/provider.yaml", provider_yaml(fmt, listing.url, extra))
        if hand:
            write(catalog, "acme/chat-large.yaml", HAND)
        commit_all(root, "catalog")
        return Synced(root, catalog, listing)

    yield make
    for listing in servers:
        listing.close()
