"""The compiler's bounds: too many models, or a snapshot too large, fail fast and clearly, and nothing
is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelreg import compile_catalog
from modelreg.build.limits import Limits
from modelreg.check import catalog_check
from modelreg.errors import LimitExceeded
from tests.conftest import run_cli, write
from tests.git_helpers import commit_all, init_repo


def _more_models(catalog: Path, count: int) -> None:
    for i in range(count):
        write(catalog, f"acme/extra-{i}.yaml", f"name: acme/extra-{i}\nprovider: acme\n"
                                               "capabilities: [generation.text-generation.code-generation]\n")


def test_more_models_than_allowed_fail_before_any_file_is_parsed(catalog: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _more_models(catalog, 3)  # 6 model files in all
    parsed: list[object] = []

    def parsing(*args: object, **kwargs: object) -> Iterator[object]:
        parsed.append(args)
        return iter(())

    monkeypatch.setattr(catalog_check, "iter_chunks", parsing)
    out = tmp_path / "out.json"
    run = run_cli("compile", "--catalog", str(catalog), "-o", str(out), "--max-models", "5")
    assert (run.code, run.err) == (1, f"modelreg: error: {catalog}: 6 model files, over the limit of 5 (raise it "
                                      "with --max-models); nothing compiled\n")
    assert parsed == [] and not out.exists()
    monkeypatch.undo()
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out), "--max-models", "6").code == 0


def test_a_revision_is_held_to_the_same_bounds(catalog: Path, tmp_path: Path) -> None:
    _more_models(catalog, 3)
    head = commit_all(init_repo(catalog.parent), "catalog")
    with pytest.raises(LimitExceeded, match=rf"^{catalog} at {head[:12]}: 6 model files, over the limit of 2 "):
        compile_catalog(catalog, rev="HEAD", limits=Limits(max_models=2))


def test_a_snapshot_larger_than_allowed_is_refused_on_its_estimate_and_on_its_bytes(catalog: Path,
                                                                                  tmp_path: Path) -> None:
    size = len(compile_catalog(catalog).raw)
    out = tmp_path / "out.json"
    # Every pool membership of every name, twice: far below the whole snapshot, refused before it is built
    # (without the cache: a memoised snapshot is held to the limit by its bytes, below).
    with pytest.raises(LimitExceeded, match=r"the snapshot would be at least 0\.0 MiB, over the limit of 0\.0 MiB "
                                            r"\(raise it with --max-snapshot-mb\); nothing written$"):
        compile_catalog(catalog, limits=Limits(max_snapshot_bytes=100), cache=False)
    with pytest.raises(LimitExceeded, match=rf"^{catalog}: the snapshot would be 0\.0 MiB, over the limit of"):
        compile_catalog(catalog, limits=Limits(max_snapshot_bytes=size - 1))
    assert len(compile_catalog(catalog, limits=Limits(max_snapshot_bytes=size)).raw) == size
    assert not out.exists()


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_bound_is_a_positive_whole_number(catalog: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--max-models", "--max-snapshot-mb"):
        assert run_cli("compile", "--catalog", str(catalog), flag, value).code == 2
        assert f"argument {flag}: " in capsys.readouterr().err


def test_a_cached_snapshot_is_held_to_the_bounds_of_the_compile_that_reads_it(catalog: Path, tmp_path: Path) -> None:
    _more_models(catalog, 3)
    commit_all(init_repo(catalog.parent), "catalog")
    out = tmp_path / "out.json"
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(out)).code == 0  # cached now
    run = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(tmp_path / "again.json"),
                  "--max-models", "5")
    assert run.code == 1
    assert "6 models, over the limit of 5 (raise it with --max-models); nothing compiled" in run.err
    assert not (tmp_path / "again.json").exists()
