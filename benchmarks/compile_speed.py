"""Compile speed against the floor of just parsing: `python -m benchmarks.compile_speed [-n 10000]`.

Generates a catalog, then in the same run times (a) reading and parsing every file with PyYAML's
C loader and (b) a full compile (validate, resolve, pools, snapshot bytes), and prints the ratio.
The target is a ratio of at most 2.0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.catalog_gen import generate_catalog
from modelreg.build.compile import compile_catalog


def parse_only(root: Path) -> int:
    count = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".yaml"):
                with open(os.path.join(dirpath, name), "rb") as fh:
                    yaml.load(fh.read(), Loader=yaml.CSafeLoader)
                count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--models", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-git", action="store_true",
                        help="compile outside a git repository (no version, no registered_at)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "models.d"
        generate_catalog(root, args.models)
        if not args.no_git:
            # In a repository the compile also names the commit and reads registered_at from history.
            env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
                   "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.test"}
            for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "catalog"]):
                subprocess.run(cmd, cwd=tmp, check=True, env=env)
            os.environ["MODELREG_CACHE"] = "0"  # time the compile itself, not a cache hit
        parse_only(root)  # warm the page cache
        parse_times, compile_times = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            files = parse_only(root)
            parse_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            snapshot = compile_catalog(root)
            _ = snapshot.raw
            compile_times.append(time.perf_counter() - start)
        parse_s = statistics.median(parse_times)
        compile_s = statistics.median(compile_times)
        print(f"files: {files} ({args.models} models, {'outside git' if args.no_git else 'in a git repository'})")
        print(f"read + parse (PyYAML C loader): {parse_s:.3f} s")
        print(f"full compile:                   {compile_s:.3f} s")
        print(f"ratio: {compile_s / parse_s:.2f} (target <= 2.00)")


if __name__ == "__main__":
    main()
