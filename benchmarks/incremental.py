"""Incremental compile against the floor of just parsing, whole processes:
`python -m benchmarks.incremental [-n 10000] [--large 100000] [--repeat 3] [--json FILE]`.

Generates a catalog in a git repository, then in the same run times, as separate processes and
taking the median of `--repeat` runs: reading every file's bytes (the physical floor), reading and
parsing every file with PyYAML's C loader (the floor the ratios are to), and each case of the
incremental-compile table: a cold compile without the cache, a compile with nothing changed, one
after a one-file change, `validate FILE` of one changed file (what pre-commit runs), `compile
--rev X` with X's parent compiled, and a cold compile of `--large` models (its time to the
`-n` one, and its peak memory). Prints a table, then the same figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGETS = {"cold": 0.5, "noop": 0.1, "one_file": 0.15, "validate_one": 0.1, "rev_next": 0.15}
LABELS = {
    "read_bytes": "reading every file's bytes",
    "cold": "full compile, cold, no cache",
    "noop": "compile, nothing changed, warm cache",
    "one_file": "compile, one model file changed, warm cache",
    "validate_one": "validate FILE, one file changed (pre-commit)",
    "rev_next": "compile --rev X, parent of X cached, one file differs",
}
_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.test"}


def floor_main(root: str, parse: bool) -> None:
    """The floor processes: read (and with `parse`, parse) every YAML file under `root`."""
    import yaml

    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".yaml"):
                with open(os.path.join(dirpath, name), "rb") as fh:
                    raw = fh.read()
                if parse:
                    yaml.load(raw, Loader=yaml.CSafeLoader)


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Seconds and peak memory (bytes) of one process; it must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err}")
    return elapsed, usage.ru_maxrss * 1024


def median_of(repeat: int, prepare: Callable[[int], None], argv: Callable[[], list[str]], cwd: Path,
              env: dict[str, str]) -> tuple[float, int]:
    times, peak = [], 0
    for i in range(repeat):
        prepare(i)
        seconds, memory = run(argv(), cwd, env)
        times.append(seconds)
        peak = max(peak, memory)
    return statistics.median(times), peak


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, env={**os.environ, **_ENV}, stdout=subprocess.DEVNULL)


def toggle(path: Path, i: int) -> None:
    """Change one model file to a new content each time (its priority)."""
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("priority:")]
    path.write_text("\n".join([*lines, f"priority: {i % 90 + 5}"]) + "\n", encoding="utf-8")


def _a_model(provider: Path) -> Path:
    return sorted(p for p in provider.glob("*.yaml") if p.name != "provider.yaml")[-1]


def measure(models: int, repeat: int, large: int) -> dict[str, Any]:
    env = {**os.environ, **_ENV}
    env.pop("MODELREG_CACHE", None)
    results: dict[str, Any] = {"models": models, "repeat": repeat, "python": sys.version.split()[0]}
    # Every process imports from cached bytecode, as an installed package does: written once, to a
    # directory of this run's (PYTHONDONTWRITEBYTECODE would compile every module in every process).
    pycache = tempfile.TemporaryDirectory()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache.name
    results["bytecode"] = "cached"
    with pycache:
        return _measure(models, repeat, large, env, results)


def _measure(models: int, repeat: int, large: int, env: dict[str, str], results: dict[str, Any]) -> dict[str, Any]:
    # Here, not at the top: the floor processes import this module and nothing of modelreg.
    from benchmarks.catalog_gen import generate_catalog

    py = [sys.executable]
    modelreg = [*py, "-m", "modelreg"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = work / "models.d"
        generate_catalog(root, models)
        git(work, "init", "-q")
        git(work, "add", "-A")
        git(work, "commit", "-qm", "catalog")
        out = str(work / "registry.json")
        nothing: Callable[[int], None] = lambda _i: None  # noqa: E731
        floor = [*py, "-c", "import sys; from benchmarks.incremental import floor_main; "
                 "floor_main(sys.argv[1], sys.argv[2] == 'parse')", str(root)]
        bench_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                        env.get("PYTHONPATH")]))}
        run([*floor, "parse"], work, bench_env)  # the page cache warm for all
        parse_s, _ = median_of(repeat, nothing, lambda: [*floor, "parse"], work, bench_env)
        read_s, _ = median_of(repeat, nothing, lambda: [*floor, "read"], work, bench_env)
        results["floor_parse_s"] = parse_s
        cases: dict[str, tuple[float, int]] = {"read_bytes": (read_s, 0)}
        # Bytecode written, files in the page cache: every case below starts from there.
        run([*modelreg, "compile", "--catalog", str(root), "-o", out, "--no-cache"], work, env)
        cases["cold"] = median_of(repeat, nothing, lambda: [*modelreg, "compile", "--catalog", str(root), "-o", out,
                                                           "--no-cache"], work, env)
        run([*modelreg, "compile", "--catalog", str(root), "-o", out], work, env)  # warm the cache
        compile_cmd = [*modelreg, "compile", "--catalog", str(root), "-o", out]
        cases["noop"] = median_of(repeat, nothing, lambda: compile_cmd, work, env)
        model = _a_model(root / "provider00")
        cases["one_file"] = median_of(repeat, lambda i: toggle(model, i), lambda: compile_cmd, work, env)
        other = _a_model(root / "provider01")
        cases["validate_one"] = median_of(repeat, lambda i: toggle(other, i + 1000),
                                          lambda: [*modelreg, "validate", str(other)], work, env)

        def next_commit(i: int) -> None:
            toggle(model, i + 2000)
            git(work, "commit", "-qam", f"change {i}")
            run([*modelreg, "compile", "--catalog", str(root), "--rev", "HEAD~1", "-o", out], work, env)

        cases["rev_next"] = median_of(repeat, next_commit, lambda: [*modelreg, "compile", "--catalog", str(root),
                                                                   "--rev", "HEAD", "-o", out], work, env)
    for name, (seconds, memory) in cases.items():
        row: dict[str, Any] = {"label": LABELS[name], "seconds": seconds, "ratio": seconds / parse_s}
        if memory:
            row["peak_mib"] = memory / (1 << 20)
        if name in TARGETS:
            row["target"] = TARGETS[name]
        results[name] = row
    if large:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "models.d"
            generate_catalog(root, large)
            # The page cache warm, as for the cases above.
            run([*py, "-c", "import sys; from benchmarks.incremental import floor_main; floor_main(sys.argv[1], False)",
                 str(root)], Path(tmp), bench_env)
            seconds, memory = run([*modelreg, "compile", "--catalog", str(root), "-o", str(Path(tmp) / "r.json"),
                                   "--no-cache", "--max-snapshot-mb", "2048", "--max-models", str(large)],
                                  Path(tmp), env)
        results["large"] = {"label": f"{large:,} models, cold", "models": large, "seconds": seconds,
                            "times_the_cold": seconds / cases["cold"][0], "peak_mib": memory / (1 << 20),
                            "target": "at most 10x the cold time, peak under 1 GiB"}
    return results


def table(results: dict[str, Any]) -> str:
    lines = [f"{results['models']:,} models, medians of {results['repeat']} whole processes; "
             f"floor (read + parse, PyYAML C loader): {results['floor_parse_s']:.3f} s",
             "", "| case | seconds | ratio to floor | target | peak MiB |", "| --- | --- | --- | --- | --- |"]
    for name in LABELS:
        row = results[name]
        peak = f"{row['peak_mib']:.0f}" if "peak_mib" in row else ""
        lines.append(f"| {row['label']} | {row['seconds']:.3f} | {row['ratio']:.3f} | {row.get('target', '')} "
                     f"| {peak} |")
    if "large" in results:
        row = results["large"]
        lines.append(f"| {row['label']} | {row['seconds']:.3f} | {row['times_the_cold']:.1f}x the cold compile "
                     f"| at most 10x, under 1 GiB | {row['peak_mib']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--models", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", type=int, default=100_000, help="models of the large cold compile (0: skip it)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args()
    results = measure(args.models, args.repeat, args.large)
    print(table(results))
    text = json.dumps(results, indent=2, sort_keys=True)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
