"""Frozen catalogs compile to the exact bytes recorded before the package took its present shape.

`tests/data/frozen/` holds two catalogs as they were: the bundled one and a generated one of 10,000
models. Each is compiled outside git, and at two commits of a repository whose commits (author,
dates, messages) are fixed, so their ids and every `registered_at` are too. The digests, and the
hashes of the diff and validate reports, were written by the code before the move into `modelreg/`;
any change to what a compile produces shows up here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.git_helpers import git

FROZEN = REPO / "tests" / "data" / "frozen"
DATES = ("2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00")
EXPECTED = {
    "bundled": {
        "commits": ["95c2be618ea00c78309e0f677e4d8935a7bfd64e", "a33ad3e8b9d595dddc8800cbb5825e6a925d5285"],
        "outside git": "sha256:31da2d18c71b33edb9879d87d25c70ba0a149423dbc05f7ef2e7448e51df569e",
        "HEAD": "sha256:339e9c4c09a39c21f2b7148c008ed69792f6d2fcf98a1214ebbc33e80dc7a958",
        "HEAD~1": "sha256:b8bdce4b75409668d9aab871056827ca4b0e433ab09e5fad53c0aa49009cf7a4",
        "diff json": "98a24f48c4c66637e0fbe53c94134d1024fc0660a777e85e7f46e34e96905935",
        "diff markdown": "3ecdd1ebf8386a8241e0f3713e94efa373b5ee946d58e0f2e4526728e79cf150",
        "validate json": "0a8d05bc5c028d0e14d796e1f6c5eb2ff658da0bb46ad8147e4de16b504ef2d8",
    },
    "generated-10000": {
        "commits": ["333938e2812536fc7e9b5a1b8525ddeb6f038d76", "ecb1f93a94f1f37efe49b7dbb8ba44066c8a3f51"],
        "outside git": "sha256:777b11f7c22ff82cc21b599b38b6b0820c75a5c18cff42cf1a286e2b6836a6ad",
        "HEAD": "sha256:bd571ac7270b2aaad06666c58675055eb522e7d5d4a04e37663ebb8aa8be0f03",
        "HEAD~1": "sha256:8787ccd2681a891d7b737e50e51039c1ae70b0a689caa704d7c92855ae835f35",
        "diff json": "653ab3ee7a1231c46f01351b9f9b2334a9d0ecc72b5ca5ac276f11bb707a2d51",
        "diff markdown": "1bc97312b668821da9b23f6112f6b58e50a828f753eb5609e3656930c13d9fef",
        "validate json": "6b0e323dc48afca11a96940f1fcb1828b613fa062d51c907c930ef06cb52787a",
    },
}


def frozen_repository(name: str, root: Path) -> Path:
    """The frozen catalog `name` as `root/models.d` in a repository of two fixed commits: the tree,
    the providers and the first half of the provider directories, then the rest."""
    root.mkdir(parents=True)
    # tar itself: Python's tarfile takes seconds over 10,000 members.
    subprocess.run(["tar", "-xJf", str(FROZEN / f"{name}.tar.xz"), "-C", str(root)], check=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Frozen Catalog")
    git(root, "config", "user.email", "frozen@example.com")
    providers = sorted(p.name for p in (root / "models.d").iterdir() if p.is_dir())
    first = providers[: len(providers) // 2]
    git(root, "add", "models.d/capabilities.yaml", *[f"models.d/{p}/provider.yaml" for p in providers],
        *[f"models.d/{p}" for p in first])
    git(root, "commit", "-q", "-m", "first half", date=DATES[0])
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "second half", date=DATES[1])
    return root


def _digest(path: Path) -> str:
    digest: str = json.loads(path.read_bytes())["$digest"]
    return digest


def modelreg(*argv: str) -> bytes:
    """Run `modelreg ARGV` as a process of its own, as a user runs it; its stdout."""
    ran = subprocess.run([sys.executable, "-m", "modelreg", *argv], capture_output=True, check=False)
    assert ran.returncode == 0, ran.stderr.decode()
    return ran.stdout


def _report(*argv: str) -> str:
    return hashlib.sha256(modelreg(*argv)).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_frozen_catalog_compiles_to_the_recorded_bytes(name: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    expected = EXPECTED[name]
    root = frozen_repository(name, tmp_path / "repo")
    assert git(root, "rev-list", "HEAD").split() == expected["commits"]  # newest first
    plain = tmp_path / "plain"
    shutil.copytree(root / "models.d", plain / "models.d")
    out = tmp_path / "out.json"

    monkeypatch.chdir(plain)
    modelreg("compile", "--catalog", "models.d", "-o", str(out))
    assert _digest(out) == expected["outside git"]

    monkeypatch.chdir(root)
    monkeypatch.setenv("MODELREG_CACHE", "0")
    for rev in ("HEAD", "HEAD~1"):
        modelreg("compile", "--catalog", "models.d", "--rev", rev, "-o", str(out))
        assert _digest(out) == expected[rev], rev
    # A cold diff: both sides compiled, dates read only between them.
    assert _report("diff", "HEAD~1", "HEAD", "--format", "json") == expected["diff json"]
    # Every other way, on the small catalog (the large one's share of the suite stays small).
    thorough = name == "bundled"
    if thorough:
        modelreg("compile", "--catalog", "models.d", "-o", str(out))  # the clean work tree is HEAD
        assert _digest(out) == expected["HEAD"]
        assert _report("validate", "--catalog", "models.d", "--format", "json") == expected["validate json"]
        assert _report("diff", "HEAD~1", "HEAD", "--format", "markdown") == expected["diff markdown"]

    # With the cache: a compile fills it (and is then served from it); a diff derives HEAD from it.
    monkeypatch.delenv("MODELREG_CACHE")
    for _ in range(2 if thorough else 1):
        modelreg("compile", "--catalog", "models.d", "--rev", "HEAD~1", "-o", str(out))
        assert _digest(out) == expected["HEAD~1"]
    if thorough:
        assert _report("diff", "HEAD~1", "HEAD", "--format", "json") == expected["diff json"]
    assert _report("diff", "HEAD~1", "HEAD", "--format", "markdown") == expected["diff markdown"]
