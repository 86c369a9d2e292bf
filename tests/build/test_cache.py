"""The snapshot cache's key: a fingerprint of the compiler that every module of the package, in every
subpackage, and every schema enters."""

from __future__ import annotations

import shutil
from pathlib import Path

from modelreg.build.fingerprint import compiler_fingerprint, fingerprint
from modelreg.schemas import schema_dir
from tests.conftest import REPO


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "modelreg"
    shutil.copytree(REPO / "compiler" / "modelreg", package, ignore=shutil.ignore_patterns("__pycache__"))
    schemas = tmp_path / "schemas"
    shutil.copytree(schema_dir(), schemas)
    return package, schemas


def test_the_fingerprint_is_that_of_the_package_and_its_schemas(tmp_path: Path) -> None:
    package, schemas = _copy(tmp_path)
    assert fingerprint(package, schemas) == compiler_fingerprint()


def test_a_change_to_any_module_or_schema_changes_the_fingerprint(tmp_path: Path) -> None:
    package, schemas = _copy(tmp_path)
    seen = {fingerprint(package, schemas)}
    for rel in ("check/file_check.py", "build/derive.py", "git/runner.py", "runtime/router.py", "errors.py"):
        with (package / rel).open("a", encoding="utf-8") as fh:
            fh.write("# changed\n")
        seen.add(fingerprint(package, schemas))
    (package / "catalog" / "new_rule.py").write_text("RULE = 1\n", encoding="utf-8")
    seen.add(fingerprint(package, schemas))
    # Moved, not changed: the same bytes under another path are another compiler.
    (package / "catalog" / "new_rule.py").rename(package / "check" / "new_rule.py")
    seen.add(fingerprint(package, schemas))
    with (schemas / "model.schema.json").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    seen.add(fingerprint(package, schemas))
    assert len(seen) == 9
    # What is not code or a schema does not count.
    (package / "build" / "NOTES.txt").write_text("notes\n", encoding="utf-8")
    assert fingerprint(package, schemas) in seen
