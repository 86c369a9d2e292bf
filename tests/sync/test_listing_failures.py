"""A listing that is not whole changes nothing: every failure exits 1 with a message naming the URL
and the page, and leaves no branch, no commit and no file behind."""

from __future__ import annotations

import re
import time

import pytest

from modelreg.errors import ListingError
from modelreg.sync.formats import fetch_listing, load_format
from modelreg.sync.http import Limits, ListingClient
from tests.git_helpers import git
from tests.sync.conftest import Synced
from tests.sync.listing_server import KEY, Fault

FAILURES = [
    ("a 500", 1, Fault("status", 500, {"Retry-After": "0"}), r"page 1: the server answered 500 Internal Server Error$"),
    ("a 401", 1, Fault("status", 401), r"page 1: the server answered 401 Unauthorized \(check the API key\)$"),
    ("a timeout", 1, Fault("hang"), r"page 1: no whole answer within 1 s$"),
    ("a malformed body", 1, Fault("malformed"), r"page 1: the body is not JSON \(line 1, column \d+\)$"),
    ("a 20 MB body", 1, Fault("huge"), r"page 1: the answer is over the limit of 16,777,216 bytes$"),
    ("a drip", 1, Fault("drip"), r"page 1: no whole answer within 1 s$"),
    ("a body cut short", 1, Fault("cut"), r"page 1: the answer (was cut short \(\d+ of \d+ bytes\)|was not received "
                                          r"whole \(IncompleteRead\))$"),
    ("a page failing halfway", 2, Fault("status", 503, {"Retry-After": "0"}),
     r"page 2: the server answered 503 Service Unavailable$"),
    ("a missing field halfway", 2, Fault("missing-field"), r"page 2: the field `data\[0\]\.id` is missing$"),
]


@pytest.mark.parametrize(("what", "page", "fault", "message"), FAILURES, ids=[f[0] for f in FAILURES])
@pytest.mark.parametrize("mode", [(), ("--commit",)], ids=["branch", "commit"])
def test_an_incomplete_listing_changes_nothing(make_synced, what: str, page: int, fault: Fault, message: str,
                                               mode: tuple[str, ...]) -> None:
    synced: Synced = make_synced("anthropic", page_size=2)
    synced.server.faults[page] = fault
    head = synced.head()
    started = time.monotonic()
    result = synced.sync("--timeout", "1", *mode)
    assert time.monotonic() - started < 8
    assert result.code == 1
    last = result.err.strip().splitlines()[-1]
    assert re.fullmatch(rf"modelreg: error: sync acme: {re.escape(synced.server.url)}: {message}", last), last
    assert result.out == "sync acme: failed, nothing changed (the error is on stderr)\n"
    assert KEY not in result.out + result.err
    assert synced.branch() is None
    assert synced.head() == head
    assert git(synced.root, "status", "--porcelain", "--ignored") == ""


def test_one_retry_honours_retry_after(make_synced) -> None:
    synced: Synced = make_synced("anthropic", page_size=2)
    synced.server.faults[1] = Fault("status", 429, {"Retry-After": "1"}, times=1)
    started = time.monotonic()
    result = synced.sync("--dry-run")
    assert result.code == 0, result.err
    assert time.monotonic() - started >= 1
    pages = [seen.path for seen in synced.server.seen]
    assert pages == ["/v1/models?limit=1000", "/v1/models?limit=1000", "/v1/models?limit=1000&after_id=chat-small"]


def test_a_retry_after_past_the_bound_is_not_waited_for(make_synced) -> None:
    synced: Synced = make_synced("anthropic")
    synced.server.faults[1] = Fault("status", 429, {"Retry-After": "3600"})
    started = time.monotonic()
    result = synced.sync("--dry-run")
    assert time.monotonic() - started < 5
    assert result.code == 1
    assert "page 1: the server answered 429 Too Many Requests" in result.err
    assert len(synced.server.seen) == 1  # no hammering


def test_the_whole_sync_has_a_deadline(make_synced) -> None:
    synced: Synced = make_synced("anthropic", page_size=1)
    synced.server.faults[3] = Fault("hang")
    result = synced.sync("--dry-run", "--timeout", "5", "--max-time", "1")
    assert result.code == 1
    assert result.err.endswith("page 3: the deadline of the whole sync (1 s) passed\n")


def test_pages_are_capped_and_a_repeating_cursor_ends_the_listing(make_synced) -> None:
    synced: Synced = make_synced("gemini", page_size=1)
    client = ListingClient(Limits(max_pages=2), secret=KEY)
    with pytest.raises(ListingError, match=r"more than 2 pages; the listing is not complete$"):
        fetch_listing(load_format("gemini"), client, synced.server.url, KEY)
    assert len(synced.server.seen) == 2
    synced.server.page = lambda query: (1, {"models": [], "nextPageToken": "again"})  # type: ignore[method-assign]
    with pytest.raises(ListingError, match=r"page 2: the next-page cursor repeats"):
        fetch_listing(load_format("gemini"), ListingClient(secret=KEY), synced.server.url, KEY)


def test_a_failure_is_in_the_json_report_too(make_synced) -> None:
    import json

    from modelreg.schemas import first_error

    synced: Synced = make_synced("anthropic")
    synced.server.faults[1] = Fault("status", 500, {"Retry-After": "0"})
    result = synced.sync("--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert first_error("sync-report", report) is None
    assert report["ok"] is False
    error = f"{synced.server.url}: page 1: the server answered 500 Internal Server Error"
    assert report["providers"][0]["error"] == error
    assert report["providers"][0]["commit"] is None


@pytest.mark.parametrize(("body", "message"), [
    ("[" * 100000 + "]" * 100000, "page 1: the body is not JSON"),
    ('"just a string"', "page 1: the body is not an object"),
    ('{"error": "quota"}', "page 1: the field `models` is missing"),
])
def test_a_body_that_is_not_a_listing_changes_nothing(make_synced, body: str, message: str) -> None:
    synced: Synced = make_synced("gemini")
    synced.server.faults[1] = Fault("body", headers={"body": body})
    result = synced.sync()
    assert result.code == 1
    assert result.err.endswith(f"{synced.server.url}: {message}\n"), result.err
    assert "Traceback" not in result.err and synced.branch() is None


def test_an_empty_listing_is_not_taken_for_every_model_gone(make_synced) -> None:
    synced: Synced = make_synced("gemini")
    assert synced.sync("--commit").code == 0
    head = synced.head()
    synced.server.faults[1] = Fault("body", headers={"body": "{}"})
    result = synced.sync("--commit")
    assert result.code == 1
    assert result.err.endswith("sync acme: the listing holds none of the 3 acme models the catalog follows; an empty "
                               "answer is taken for a broken one, nothing changed\n")
    assert synced.head() == head


def test_the_key_never_follows_a_redirect_to_another_host(make_synced) -> None:
    synced: Synced = make_synced("anthropic")
    elsewhere = synced.server.url.replace("127.0.0.1", "localhost")
    synced.server.faults[1] = Fault("redirect", headers={"Location": elsewhere})
    result = synced.sync()
    assert result.code == 1
    assert result.err.endswith(f"page 1: redirected to another host ({elsewhere}); the API key is not sent there\n")
    assert len(synced.server.seen) == 1


def test_the_key_never_goes_through_a_plain_http_proxy(make_synced, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: Synced = make_synced("anthropic")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    result = synced.sync()
    assert result.code == 1
    assert result.err.endswith("refusing to send the API key over plain http through the proxy http://127.0.0.1:9; "
                               "set NO_PROXY for this host\n")
    assert synced.server.seen == []


def test_a_pasted_key_is_stripped_and_a_broken_one_named_not_shown(make_synced,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    synced: Synced = make_synced("anthropic")
    monkeypatch.setenv("ACME_API_KEY", f"  {KEY}\n")
    assert synced.sync("--dry-run").code == 0
    monkeypatch.setenv("ACME_API_KEY", f"{KEY}\nX-Injected: 1")
    result = synced.sync("--dry-run", "--format", "json")
    assert result.code == 1
    assert result.err.endswith("ACME_API_KEY holds control characters (a line break?); set it to the key alone\n")
    assert KEY not in result.out + result.err


FORMATS = ["openai", "anthropic", "gemini", "mistral", "openrouter", "ollama", "cohere"]
# The request that fails: the last page where the format pages, Ollama's per-model `show`.
LAST = {"anthropic": 2, "gemini": 2, "cohere": 2, "ollama": 2}


@pytest.mark.parametrize("fault", [Fault("status", 500, {"Retry-After": "0"}), Fault("malformed")],
                         ids=["a 500", "a malformed body"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_changes_nothing_when_its_last_request_fails(make_synced, fmt: str, fault: Fault) -> None:
    synced: Synced = make_synced(fmt, page_size=2)
    synced.server.faults[LAST.get(fmt, 1)] = fault
    head = synced.head()
    result = synced.sync("--commit")
    assert result.code == 1
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("modelreg: error: sync acme: http://127.0.0.1:"), last
    assert ("the server answered 500 Internal Server Error" in last) == (fault.kind == "status")
    assert ("the body is not JSON" in last) == (fault.kind == "malformed")
    assert synced.head() == head
    assert git(synced.root, "status", "--porcelain", "--ignored") == ""
