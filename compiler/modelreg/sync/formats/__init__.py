"""Listing formats: one module per provider API, each turning its pages into `Listed` models.

A format says how a page is asked for (page size, cursor), how the key is sent, and how a page
reads. Fetching pages one after another, and reading a saved listing, are the same for all of them.
"""

from __future__ import annotations

import importlib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelreg.errors import ListingError
from modelreg.sync.http import ListingClient, shown_url
from modelreg.sync.listing import Listed, Page

# A page read: its models, and the cursor of the next page (None on the last).
PageRead = tuple[list[Listed], str | None]


@dataclass(frozen=True)
class ListingFormat:
    """How one provider API lists its models."""

    name: str
    read_page: Callable[[Page], PageRead]
    query: Callable[[str | None], Mapping[str, str]]
    """The query of a page: the largest page size the API allows, and the cursor."""
    auth: Callable[[str], Mapping[str, str]] | None
    """The headers that carry the key (None: the API takes none)."""
    fetch: Callable[[ListingFormat, ListingClient, str, str | None], list[Listed]] | None = None
    """A listing that is more than a series of pages (Ollama's one request per model)."""


def bearer(key: str) -> Mapping[str, str]:
    return {"Authorization": f"Bearer {key}"}


def no_query(cursor: str | None) -> Mapping[str, str]:
    return {}


def load_format(name: str) -> ListingFormat:
    """The format named `name` (one of `config.FORMATS`)."""
    module = importlib.import_module(f"modelreg.sync.formats.{name}")
    found: ListingFormat = module.FORMAT
    return found


def with_query(url: str, query: Mapping[str, str]) -> str:
    """`url` with `query` added to (or replacing keys of) its own query."""
    parts = urllib.parse.urlsplit(url)
    pairs = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k not in query]
    pairs += list(query.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(pairs)))


def fetch_listing(listing: ListingFormat, client: ListingClient, url: str, key: str | None) -> list[Listed]:
    """Every page of the listing at `url`, or ListingError: a listing is whole or it is nothing."""
    if listing.fetch is not None:
        return listing.fetch(listing, client, url, key)
    headers = dict(listing.auth(key)) if listing.auth is not None and key else {}
    found: list[Listed] = []
    cursor: str | None = None
    seen: set[str] = set()
    number = 1
    while True:
        page_url = with_query(url, listing.query(cursor))
        what = f"page {number}"
        body = client.get_json(page_url, what=what, headers=headers)
        models, cursor = listing.read_page(Page(body, f"{shown_url(url)}: {what}"))
        found.extend(models)
        if cursor is None:
            return found
        if cursor in seen:  # a server that hands out the same cursor again would never end
            raise ListingError(f"{shown_url(url)}: {what}: the next-page cursor repeats; the listing is not complete")
        seen.add(cursor)
        number += 1


def read_saved(listing: ListingFormat, body: Any, where: str) -> list[Listed]:
    """The models of a saved listing (one response body); ListingError when it is one page of
    several."""
    models, cursor = listing.read_page(Page(body, where))
    if cursor is not None:
        raise ListingError(f"{where}: this is one page of a longer listing (it names a next page); "
                           "save the whole listing or sync from the network")
    return models
