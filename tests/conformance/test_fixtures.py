"""The checked-in conformance fixtures are what the generator writes today.

A change to the compiler, the snapshot format or the catalog fixture that forgets to regenerate
them (`python -m tests.conformance.generate`) fails here, before either runtime is checked
against stale answers.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conformance.conftest import FIXTURES
from tests.conformance.generate import HAND_WRITTEN, main


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_fixtures_are_current(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    fresh = _files(tmp_path)
    checked_in = {name: data for name, data in _files(FIXTURES).items() if name not in HAND_WRITTEN}
    stale = sorted(name for name in fresh.keys() | checked_in.keys() if fresh.get(name) != checked_in.get(name))
    assert stale == [], "run `python -m tests.conformance.generate`: these fixtures differ from what it writes"


def test_hand_written_fixtures_are_there() -> None:
    for name in HAND_WRITTEN:
        assert isinstance(json.loads((FIXTURES / name).read_text(encoding="utf-8")), dict), name


def test_every_refused_file_is_in_the_manifest() -> None:
    manifest = json.loads((FIXTURES / "snapshot-files.json").read_text(encoding="utf-8"))
    listed = sorted(case["file"] for case in manifest)
    on_disk = sorted(f"snapshot-files/{p.name}" for p in (FIXTURES / "snapshot-files").iterdir())
    assert listed == on_disk
    assert len(set(listed)) == len(listed)

