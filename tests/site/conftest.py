"""Catalogs in real git repositories for the site's tests, and reading what a site holds."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHAT, write
from tests.git_helpers import commit_all, init_repo

FIRST = "2024-01-02T03:04:05+00:00"
SECOND = "2024-02-03T04:05:06+00:00"
# A commit subject, a description and a display name that would run as markup if anything let them.
HOSTILE_SUBJECT = "tune <script>window.pwned = 1</script>"
HOSTILE_DESCRIPTION = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> & more'
HOSTILE_DISPLAY = '"><b id=injected>bold</b>'
CHAT_XL = "name: acme/chat-xl\nprovider: acme\ncapabilities: [chat]\n"


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@pytest.fixture
def history(catalog: Path) -> tuple[str, str]:
    """The small catalog in git in two commits: the catalog, then one that adds `acme/chat-xl`
    and moves `acme/chat-large` to the front of its pools (priority 1). Returns both commits."""
    root = init_repo(catalog.parent)
    first = commit_all(root, "catalog", date=FIRST)
    write(catalog, "acme/chat-large.yaml", CHAT.replace("priority: 10", "priority: 1")
          + f"description: '{HOSTILE_DESCRIPTION}'\ndisplay_name: '{HOSTILE_DISPLAY}'\n")
    write(catalog, "acme/chat-xl.yaml", CHAT_XL)
    second = commit_all(root, HOSTILE_SUBJECT, date=SECOND)
    return first, second


def payload(site: Path) -> dict[str, Any]:
    """`data.js` of a site, parsed."""
    text = (site / "data.js").read_text(encoding="ascii")
    prefix = "window.MODELREG_SITE = "
    assert text.startswith(prefix) and text.endswith(";\n")
    data: dict[str, Any] = json.loads(text[len(prefix):-2])
    return data


def models_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The payload's models by name, each as a mapping of its fields."""
    return {row[0]: dict(zip(data["fields"], row, strict=True)) for row in data["models"]}


def files_of(site: Path) -> dict[str, bytes]:
    return {path.relative_to(site).as_posix(): path.read_bytes() for path in sorted(site.rglob("*"))
            if path.is_file()}
