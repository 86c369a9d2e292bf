"""The pool diff of a huge change still fits GitHub's 1 MiB job summary, and says what it left out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.catalog_gen import generate_catalog
from compiler.compile import compile_catalog
from tests.conftest import run_cli

GITHUB_SUMMARY_CAP = 1024 * 1024
MODELS = 10_000


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Snapshots of a catalog with no models and of the same catalog with 10,000 models."""
    root = tmp_path_factory.mktemp("huge")
    for name, models in (("empty", 0), ("full", MODELS)):
        generate_catalog(root / name / "models.d", models)
        compile_catalog(root / name / "models.d").write(root / f"{name}.json")
    return root / "empty.json", root / "full.json", root / "full" / "models.d"


@pytest.mark.slow
@pytest.mark.parametrize(("direction", "verb"), [("added", "added"), ("removed", "removed")])
def test_markdown_diff_of_10000_models_stays_under_the_summary_cap(
        snapshots: tuple[Path, Path, Path], direction: str, verb: str) -> None:
    empty, full, catalog = snapshots
    base, head = (empty, full) if direction == "added" else (full, empty)
    result = run_cli("diff", str(base), str(head), "--format", "markdown", "--catalog", str(catalog))
    assert result.code == 0, result.err
    size = len(result.out.encode("utf-8"))
    assert 512 * 1024 < size < GITHUB_SUMMARY_CAP

    lines = result.out.splitlines()
    # The reviewer's answer comes first: the summary line, then the table of pool changes.
    assert lines[2] == f"**{MODELS} models {verb}; 30 pools changed**"
    assert lines[4] == "| capability | before | after | entered | left | moved |"
    # Cut cleanly: every collapsed section is closed, and the end says what is missing and where.
    assert result.out.count("<details>") == result.out.count("</details>") >= 1
    match = re.fullmatch(r"\*\*truncated: (\d+) more changes, see the artifact\*\* "
                         r"\(`modelreg diff --format json` has them all\)", lines[-1])
    assert match and int(match.group(1)) > 0, lines[-1]

    # Without --exit-code a change is not a failure: the pull-request job passes on it.
    assert run_cli("diff", str(base), str(head), "--format", "markdown", "--catalog", str(catalog),
                   "--exit-code").code == 1
