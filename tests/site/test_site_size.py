"""The site of 10,000 models stays light: its pages, everything but `api.json`, under a few MB."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.catalog_gen import generate_catalog
from tests.conftest import run_cli, write
from tests.git_helpers import commit_all, init_repo
from tests.site.conftest import files_of, models_of, payload

MODELS = 10_000
# What a visitor's browser loads, at most, for the whole site of 10,000 models.
PAGES_LIMIT = 4 * 1024 * 1024


@pytest.mark.slow
def test_the_pages_of_ten_thousand_models_stay_under_four_mib(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    catalog = root / "models.d"
    generate_catalog(catalog, MODELS)
    commit_all(root, "catalog")
    model = catalog / "provider01" / "model-00001.yaml"
    text = model.read_text(encoding="utf-8")
    write(catalog, "provider01/model-00001.yaml", text[:text.index("priority:")] + "priority: 0\n")
    commit_all(root, "provider01/model-00001 first")
    out = tmp_path / "site"
    run = run_cli("site", "--catalog", str(catalog), "-o", str(out))
    assert (run.code, run.err) == (0, "")
    # It moves to the front of its three pools: audio.speech-to-text, audio and classification.
    assert run.out.endswith("\nlast change: 1 model changed; 3 pools changed\n")
    sizes = {name: len(data) for name, data in files_of(out).items()}
    pages = sum(size for name, size in sizes.items() if name != "api.json")
    assert pages < PAGES_LIMIT, f"the pages of {MODELS:,} models weigh {pages:,} bytes: {sizes}"
    assert sizes["api.json"] > pages  # the snapshot itself is what the pages do not repeat
    models = models_of(payload(out))
    assert len(models) == MODELS
    assert models["provider01/model-00001"]["commits"] == 2
