"""Discovery sync speed: `python -m benchmarks.sync_speed [-n 1000] [--runs 5]`.

Serves an OpenAI-format listing of N models from 127.0.0.1, against a repository that holds the
bundled catalog plus a provider `bench` whose discovery points there, and times whole
`modelreg sync bench` processes (the default mode: a commit on `sync/bench`):

- a sync that adds the N models (the branch is removed before each run);
- a no-op sync of the same listing once they are in (the target: well under a second).

Prints the medians as a table and as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-bench"


def serve(body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def listing(n: int) -> bytes:
    data = [{"id": f"bench-model-{i:05d}", "object": "model", "created": 1700000000, "owned_by": "bench",
             "context_length": 8192 * (1 + i % 16)} for i in range(n)]
    return json.dumps({"object": "list", "data": data}).encode()


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def setup(root: Path, url: str) -> None:
    root.mkdir(parents=True)
    shutil.copytree(REPO / "models.d", root / "models.d")
    provider = root / "models.d" / "bench" / "provider.yaml"
    provider.parent.mkdir()
    provider.write_text(f"""\
name: bench
display_name: Bench
api: openai
api_base: http://127.0.0.1/v1
api_key_env: BENCH_API_KEY
discovery:
  format: openai
  enabled: true
  url: {url}
  rules:
    - match: "bench-*"
      capabilities: [generation.text-generation]
""")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Bench")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "catalog")


def timed(root: Path) -> tuple[float, str]:
    env = {**os.environ, "BENCH_API_KEY": KEY}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "modelreg", "sync", "bench"], cwd=root, env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sync failed: {proc.stderr}")
    return elapsed, proc.stdout.splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="models in the listing (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each case (default 5)")
    args = parser.parse_args()
    server = serve(listing(args.n))
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/models"
    with tempfile.TemporaryDirectory(prefix="modelreg-sync-bench-") as tmp:
        root = Path(tmp) / "repo"
        setup(root, url)
        adds, noops = [], []
        line_add = line_noop = ""
        for _ in range(args.runs):
            git(root, "branch", "-D", "sync/bench") if git(root, "branch", "--list", "sync/bench") else None
            elapsed, line_add = timed(root)
            adds.append(elapsed)
        for _ in range(args.runs):
            elapsed, line_noop = timed(root)
            noops.append(elapsed)
    server.shutdown()
    results = {"models": args.n, "runs": args.runs,
               "add_seconds": round(statistics.median(adds), 3), "noop_seconds": round(statistics.median(noops), 3),
               "add_report": line_add, "noop_report": line_noop}
    print(f"| case ({args.n} models, whole processes, median of {args.runs}) | seconds |")
    print("|---|---:|")
    print(f"| sync that adds them all | {results['add_seconds']:.3f} |")
    print(f"| no-op sync of the same listing | {results['noop_seconds']:.3f} |")
    print(f"\n{line_add}\n{line_noop}\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
