"""The compiler's fingerprint: what every cache key holds, so that another version of modelreg
(any change to its code or schemas) never reads an entry this one wrote."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from modelreg.schemas import schema_dir


@cache
def compiler_fingerprint() -> str:
    """A digest of everything that shapes a snapshot: this installation's package and schemas."""
    return fingerprint(Path(__file__).resolve().parents[1], schema_dir())


def fingerprint(package: Path, schemas: Path) -> str:
    """A digest of every module of `package`, in every subpackage, and of the schemas in
    `schemas`, each named by its path: a change to any of them gives another digest."""
    digest = hashlib.sha256()
    files = [(path.relative_to(package).as_posix(), path) for path in package.rglob("*.py")]
    files += [(f"schemas/{path.name}", path) for path in schemas.glob("*.schema.json")]
    for name, path in sorted(files):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
