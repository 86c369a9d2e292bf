"""Git-state speed: `python -m benchmarks.git_state [-n 10000] [--commits 1000]`.

Builds a catalog of N models with a history of C commits (through `git fast-import`, so the setup
takes seconds), then times, and prints:

- `registered_at` for every model: the one `git log` pass over the whole history;
- `modelreg diff HEAD~1 HEAD` (the last commit adds and changes models): cold, with no cached
  snapshot (one side is compiled in full, the other derived from it), and warm, after
  `modelreg compile --rev HEAD` cached HEAD's snapshot; each in-process, and as a fresh process;
- `register` of one model: `ModelRegistry.register()` on an open registry, and
  `modelreg register FILE` as a fresh process.

The targets: registered_at and the diff under 1 s each, register under 0.5 s.
"""

from __future__ import annotations

import argparse
import compileall
import io
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import modelreg
from benchmarks.catalog_gen import generate_catalog
from modelreg.cli.main import main
from modelreg.git.registration_dates import RegistrationDates
from modelreg.git.repository import CatalogRepository
from modelreg.models import ModelDefinition
from modelreg.registry import ModelRegistry

START = 1_700_000_000


def build_history(root: Path, models: int, commits: int, *, seed: int = 0) -> None:
    """A repository at `root` whose `models.d` gains models over `commits` commits; every commit
    after the first also changes the priority of two earlier models."""
    generated = root / "generated"
    generate_catalog(generated, models, seed=seed)
    files = {p.relative_to(generated).as_posix(): p.read_bytes() for p in sorted(generated.rglob("*.yaml"))}
    shutil.rmtree(generated)
    fixed = sorted(rel for rel in files if rel.count("/") == 0 or rel.endswith("/provider.yaml"))
    model_paths = sorted(rel for rel in files if rel not in fixed)
    per_commit = -(-len(model_paths) // commits)
    rng = random.Random(seed)
    stream: list[bytes] = []

    def data(content: bytes) -> None:
        stream.extend((b"data %d\n" % len(content), content, b"\n"))

    added: list[str] = []
    for i in range(commits):
        batch = model_paths[i * per_commit:(i + 1) * per_commit]
        stream.append(b"commit refs/heads/main\n")
        stream.append(b"committer Bench <bench@example.com> %d +0000\n" % (START + 60 * i))
        data(b"commit %d" % i)
        for rel in (fixed if i == 0 else []) + batch:
            stream.append(b"M 100644 inline models.d/%s\n" % rel.encode())
            data(files[rel])
        for rel in rng.sample(added, min(2, len(added))):
            files[rel] = re.sub(rb"priority: \d+", b"priority: %d" % rng.randint(0, 500), files[rel])
            stream.append(b"M 100644 inline models.d/%s\n" % rel.encode())
            data(files[rel])
        added += batch
    repo = root / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], input=b"".join(stream), cwd=repo, check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=repo, check=True)
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com")):
        subprocess.run(["git", "config", key, value], cwd=repo, check=True)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def cli(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    if code not in (0, 1):
        raise SystemExit(f"modelreg {' '.join(argv)} failed ({code}): {err.getvalue()}")
    return out.getvalue()


def process(*argv: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "modelreg", *argv], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def clear_cache(repo: Path) -> None:
    shutil.rmtree(repo / ".git" / "modelreg" / "snapshots", ignore_errors=True)


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--models", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    # A fresh process imports modelreg's modules from their bytecode, as an installed package
    # has it; a checkout run with PYTHONDONTWRITEBYTECODE would recompile every module each time.
    compileall.compile_dir(Path(modelreg.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        setup, _ = timed(lambda: build_history(root, args.models, args.commits))
        repo = root / "repo"
        catalog = repo / "models.d"
        print(f"setup: {args.models} models, {args.commits} commits in {setup:.1f} s (git fast-import)")

        found = CatalogRepository.find(catalog)
        assert found is not None
        state = RegistrationDates(found)
        head = found.resolve("HEAD")
        runs = [timed(lambda: state.dates(head)) for _ in range(args.repeat)]
        dated = len(state.dates(head))
        assert dated >= args.models, dated
        print(f"registered_at, every model (one git log):     {statistics.median(t for t, _ in runs):.3f} s "
              f"({dated} files dated)")

        cold = []
        for _ in range(args.repeat):
            clear_cache(repo)
            cold.append(timed(lambda: cli("diff", "HEAD~1", "HEAD", "--catalog", str(catalog)))[0])
        summary = cli("diff", "HEAD~1", "HEAD", "--catalog", str(catalog)).splitlines()[0]
        print(f"diff HEAD~1 HEAD, cold (no cached snapshot):  {statistics.median(cold):.3f} s  [{summary}]")
        fresh_cold = []
        for _ in range(args.repeat):
            clear_cache(repo)
            fresh_cold.append(process("diff", "HEAD~1", "HEAD", "--catalog", str(catalog), cwd=repo))
        print(f"  the same as a fresh `modelreg` process:     {statistics.median(fresh_cold):.3f} s")
        clear_cache(repo)
        compile_s, _ = timed(lambda: cli("compile", "--catalog", str(catalog), "--rev", "HEAD",
                                         "-o", str(root / "registry.json")))
        print(f"compile --rev HEAD (caches HEAD's snapshot):  {compile_s:.3f} s")
        warm = [timed(lambda: cli("diff", "HEAD~1", "HEAD", "--catalog", str(catalog)))[0]
                for _ in range(args.repeat)]
        print(f"diff HEAD~1 HEAD, warm (HEAD cached):         {statistics.median(warm):.3f} s")
        fresh = [process("diff", "HEAD~1", "HEAD", "--catalog", str(catalog), cwd=repo) for _ in range(args.repeat)]
        print(f"  the same as a fresh `modelreg` process:     {statistics.median(fresh):.3f} s")

        open_s, registry = timed(lambda: ModelRegistry(catalog))
        assert isinstance(registry, ModelRegistry)
        print(f"ModelRegistry(catalog) (full read):           {open_s:.3f} s")
        register = []
        for i in range(max(args.repeat, 5)):
            definition = ModelDefinition(name=f"provider00/bench-{i}", provider="provider00",
                                         capabilities=["generation.text-generation"], priority=i)
            register.append(timed(lambda d=definition: registry.register(d))[0])  # type: ignore[misc]
        print(f"register one model (ModelRegistry.register):  {statistics.median(register):.3f} s")
        source = root / "incoming.yaml"
        times = []
        for i in range(args.repeat):
            source.write_text(f"name: provider01/cli-{i}\nprovider: provider01\ncapabilities: [chat]\n")
            times.append(process("register", str(source), "--catalog", str(catalog), cwd=repo))
        print(f"register one model (fresh `modelreg register` process): {statistics.median(times):.3f} s")
        status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True,
                                check=True).stdout
        assert status == "", status


if __name__ == "__main__":
    main_()
