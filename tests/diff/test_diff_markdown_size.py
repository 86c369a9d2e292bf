"""The pool diff of a huge change still fits GitHub's 1 MiB job summary, and says what it left out."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from benchmarks.catalog_gen import generate_catalog
from modelreg.build.compile import compile_catalog
from modelreg.build.snapshot import Snapshot
from modelreg.models import Model
from modelreg.resolve.pools import build_pools
from tests.conftest import run_cli

GITHUB_SUMMARY_CAP = 1024 * 1024
MODELS = 10_000


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Snapshots of a catalog with no models and of the same catalog with 10,000 models.

    Only the empty catalog is compiled; the big snapshot is built from models with the compiler's
    own pool builder, as a compile of 10,000 files would build it, in a fraction of the time.
    """
    root = tmp_path_factory.mktemp("huge")
    catalog = root / "models.d"
    generate_catalog(catalog, 0)
    empty = compile_catalog(catalog)
    empty.write(root / "empty.json")
    tree = empty.tree
    live = [node.path for node in tree if node.deprecated is None]
    rng = random.Random(0)
    models = [Model(name=f"provider{i % 20:02d}/model-{i:05d}", provider=f"provider{i % 20:02d}",
                    capabilities=sorted(set(rng.sample(live, rng.choice((1, 1, 2, 3))))),
                    model_id=f"model-{i:05d}:latest", priority=rng.randint(0, 500),
                    source=f"provider{i % 20:02d}/model-{i:05d}.yaml")
              for i in range(MODELS)]
    pools = build_pools(tree, models)
    document = {key: value for key, value in empty.document.items() if key != "$digest"}
    document["models"] = {m.name: m.to_snapshot() for m in sorted(models, key=lambda m: m.name)}
    document["pools"] = {path: pool.names for path, pool in pools.items()}
    Snapshot.from_document(document).write(root / "full.json")
    return root / "empty.json", root / "full.json", catalog


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
