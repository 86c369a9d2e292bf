"""Import and export speed: `python -m benchmarks.interop_speed [--runs 3]`.

Copies the bundled catalog, then times whole `modelreg` processes on LiteLLM's file
(`tests/data/litellm_model_prices.json`, about 3,000 entries):

- `modelreg import litellm FILE` (into a fresh copy each run), then `modelreg compile` of the result
  (the target: the two together under 5 s);
- `modelreg export litellm` and `modelreg export models-dev` of the imported catalog.

Prints the medians as a table and as JSON, and where the import's time goes (a profile of one
in-process run, by module).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LITELLM_FILE = REPO / "tests" / "data" / "litellm_model_prices.json"


def run(*argv: str, cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "modelreg", *argv], cwd=cwd, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"modelreg {' '.join(argv)} failed: {proc.stderr[-2000:]}")
    return elapsed


def profile_import(work: Path) -> list[tuple[str, float]]:
    """Seconds spent (cumulative) in the import's main steps, from one in-process run."""
    from modelreg.cli.main import main

    catalog = work / "profiled" / "models.d"
    shutil.copytree(REPO / "models.d", catalog)
    profiler = cProfile.Profile()
    profiler.enable()
    main(["import", "litellm", str(LITELLM_FILE), "--catalog", str(catalog)], stdout=io.StringIO(),
         stderr=io.StringIO())
    profiler.disable()
    stats = pstats.Stats(profiler)
    wanted = {"read_litellm": "read and map LiteLLM's file", "plan_import": "plan (match, merge, dump YAML)",
              "_catalog": "read and parse the catalog", "diff_proposed": "check before and after, and diff",
              "_write_all": "write the files"}
    found = []
    for (_, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if name in wanted:
            found.append((wanted[name], row[3]))
    return sorted(found, key=lambda item: -item[1])


def create_floor(catalog: Path, into: Path) -> tuple[int, float]:
    """(files, seconds) to create the import's files with a bare open() and write(): what the file
    system alone costs."""
    files = [(p.relative_to(catalog), p.read_bytes()) for p in catalog.rglob("*.yaml")]
    start = time.perf_counter()
    for rel, data in files:
        target = into / rel
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True)
        with open(target, "wb") as fh:
            fh.write(data)
    return len(files), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelreg-interop-bench-") as tmp:
        work = Path(tmp)
        imports, compiles, exports, exports_md = [], [], [], []
        for i in range(args.runs):
            catalog = work / f"run{i}" / "models.d"
            shutil.copytree(REPO / "models.d", catalog)
            imports.append(run("import", "litellm", str(LITELLM_FILE), "--catalog", str(catalog), cwd=work))
            compiles.append(run("compile", "--catalog", str(catalog), "-o", str(work / f"run{i}" / "registry.json"),
                                cwd=work))
            exports.append(run("export", "litellm", "--snapshot", str(work / f"run{i}" / "registry.json"),
                               "-o", str(work / f"run{i}" / "config.yaml"), cwd=work))
            exports_md.append(run("export", "models-dev", "--snapshot", str(work / f"run{i}" / "registry.json"),
                                  "-o", str(work / f"run{i}" / "api.json"), cwd=work))
        models = len(json.loads((work / "run0" / "registry.json").read_text())["models"])
        steps = profile_import(work)
        floor = create_floor(work / "run0" / "models.d", work / "floor")
    med = {name: round(statistics.median(values), 3) for name, values in
           (("import", imports), ("compile", compiles), ("export_litellm", exports), ("export_models_dev", exports_md))}
    med["import_plus_compile"] = round(med["import"] + med["compile"], 3)
    print(f"| case (LiteLLM's file, {models} models compiled; whole processes, median of {args.runs}) | seconds |")
    print("|---|---:|")
    print(f"| `modelreg import litellm` | {med['import']:.3f} |")
    print(f"| `modelreg compile` of the result | {med['compile']:.3f} |")
    print(f"| import + compile (target under 5 s) | {med['import_plus_compile']:.3f} |")
    print(f"| `modelreg export litellm` | {med['export_litellm']:.3f} |")
    print(f"| `modelreg export models-dev` | {med['export_models_dev']:.3f} |")
    print(f"\nfloor: creating the catalog's {floor[0]} files with a bare open() and write(): {floor[1]:.2f} s")
    print("where an in-process import spends its time (cumulative seconds, under the profiler):")
    for what, seconds in steps:
        print(f"  {what}: {seconds:.2f}")
    print(json.dumps({"models": models, "runs": args.runs, **med, "create_files_floor_seconds": round(floor[1], 3),
                      "import_profile": {what: round(s, 3) for what, s in steps}}, indent=2))


if __name__ == "__main__":
    main()
