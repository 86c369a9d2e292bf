"""`python -m modelreg.cli.bundle_schemas [DIR]`: rewrite the schemas whose copied `$defs` are
stale (`modelreg.schema_bundle`), for whoever changed a definition that other schemas share.

Exit 0 when every file was already bundled or has been rewritten, 1 when the schemas cannot be
bundled (the message says why).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from modelreg.atomic_files import write_atomic
from modelreg.cli.exit_codes import EXIT_INVALID, EXIT_OK
from modelreg.schema_bundle import SchemaBundleError, stale_files
from modelreg.schemas import schema_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Bundle the schemas of DIR (default: the package's own); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    directory = Path(args[0]) if args else schema_dir()
    try:
        stale = stale_files(directory)
    except SchemaBundleError as exc:
        sys.stderr.write(f"bundle_schemas: error: {exc}\n")
        return EXIT_INVALID
    for path, text in sorted(stale.items()):
        write_atomic(path, text.encode("utf-8"))
        sys.stdout.write(f"rewrote {path}\n")
    if not stale:
        sys.stdout.write(f"{directory}: every schema already stands alone\n")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
