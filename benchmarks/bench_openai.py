"""Throughput and client CPU of the openai backend against local servers, old client as the peer.

Calls the library (:func:`emocause.annotate.runner.run_requests`, the path ``classify`` takes,
with a real SQLite cache committing every answer) on N distinct prompts against
``tests/fakes/openai.py`` running in *separate processes* (so this process's CPU time is the
client's alone), with a fixed per-request latency:

* share of ideal at each concurrency: ideal = N x latency / concurrency;
* client CPU per request at 0 ms latency (process CPU time / N), and the server's, for scale;
* the same for the previous thread-pool client, loaded from git history (``--old-ref``) into a
  temporary module at run time, so both are measured in the same run on the same machine.

    python -m benchmarks.bench_openai                       # 10k prompts, 50 ms, c=64 and 256
    python -m benchmarks.bench_openai --repeat 3            # best of 3 (a machine under load)
    python -m benchmarks.bench_openai --n 2000 --old-n 2000 --concurrency 16 64
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("EMOCAUSE_PROGRESS", "0")

from emocause import backends  # noqa: E402
from emocause.annotate.cache import Cache  # noqa: E402
from emocause.annotate.runner import RunStats, run_requests  # noqa: E402
from emocause.backends.base import Request  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The last commit with the thread-pool client (one thread per request in flight).
OLD_REF = "6b4774a"


class Server:
    """``python -m tests.fakes.openai`` in its own process."""

    def __init__(self, latency: float, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.openai", "--latency", str(latency),
             "--rules", json.dumps({"broken": "Annoyance"}), *extra],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(self.url.replace("/v1", "/_fake/stats"), timeout=10) as r:
            return json.loads(r.read())

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(10)


def old_backend_class(ref: str) -> type:
    """``OpenAIBackend`` as it was at ``ref`` (git show into a temporary module; nothing committed)."""
    source = subprocess.run(["git", "show", f"{ref}:emocause/backends/openai.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="emocause-old-")) / "emocause_old_openai.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("emocause_old_openai", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.OpenAIBackend


def requests(n: int) -> list[Request]:
    return [Request(prompt=f'Classify the emotion of this comment: """Comment {i}: the build is broken '
                           f'again on job {i}."""', text=str(i), task="label", max_tokens=8)
            for i in range(n)]


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def measure(make, urls: list[str], n: int, concurrency: int, with_cache: bool = True) -> dict[str, float]:
    backend = make(urls, concurrency)
    reqs = requests(n)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Cache(Path(tmp) / "cache.sqlite") if with_cache else None
        stats = RunStats()
        c0, t0 = cpu(), time.perf_counter()
        results = run_requests(backend, reqs, cache, stats)
        wall, used = time.perf_counter() - t0, cpu() - c0
        backend.close()
        if cache is not None:
            cache.close()
    ok = sum(1 for r in results if r is not None and r.ok)
    return {"wall_s": wall, "cpu_ms_per_req": 1000 * used / n, "ok": ok, "sent": stats.sent}


def new_client(urls: list[str], concurrency: int):
    return backends.create("openai", model="bench", base_url=urls, concurrency=concurrency)


def old_client_factory(ref: str):
    cls = old_backend_class(ref)

    def make(urls: list[str], concurrency: int):
        return cls(model="bench", base_url=urls[0], concurrency=concurrency)

    return make


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--old-n", type=int, default=None, help="prompts for the old client (default --n)")
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--cpu-n", type=int, default=5_000, help="prompts for the 0 ms CPU measurement")
    ap.add_argument("--old-ref", default=OLD_REF)
    ap.add_argument("--skip-old", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="best of R runs (for a machine under load)")
    args = ap.parse_args()
    old_n = args.old_n or args.n
    clients = [("new (aiohttp, one event loop)", new_client, args.n)]
    if not args.skip_old:
        clients.append((f"old (thread pool, {args.old_ref})", old_client_factory(args.old_ref), old_n))

    print(f"## throughput: {args.latency * 1000:.0f} ms latency per request, server in its own process")
    print(f"{'client':<34} {'conc':>5} {'N':>6} {'wall s':>8} {'ideal s':>8} {'% ideal':>8} "
          f"{'cpu ms/req':>10} {'ok':>6}")
    server = Server(args.latency)
    try:
        for label, make, n in clients:
            for c in args.concurrency:
                r = min((measure(make, [server.url], n, c) for _ in range(args.repeat)),
                        key=lambda x: x["wall_s"])
                ideal = n * args.latency / c
                print(f"{label:<34} {c:>5} {n:>6} {r['wall_s']:>8.2f} {ideal:>8.2f} "
                      f"{100 * ideal / r['wall_s']:>7.1f}% {r['cpu_ms_per_req']:>10.3f} {r['ok']:>6}",
                      flush=True)
    finally:
        server.close()

    print("\n## two endpoints (two server processes), new client")
    servers = [Server(args.latency), Server(args.latency)]
    try:
        for c in args.concurrency:
            r = min((measure(new_client, [s.url for s in servers], args.n, c) for _ in range(args.repeat)),
                    key=lambda x: x["wall_s"])
            ideal = args.n * args.latency / c
            split = [int(s.stats()["chat"]) for s in servers]
            print(f"{'new, 2 endpoints':<34} {c:>5} {args.n:>6} {r['wall_s']:>8.2f} {ideal:>8.2f} "
                  f"{100 * ideal / r['wall_s']:>7.1f}% {r['cpu_ms_per_req']:>10.3f} {r['ok']:>6}  "
                  f"split so far {split}", flush=True)
    finally:
        for s in servers:
            s.close()

    print("\n## client CPU per request at 0 ms latency (process CPU time / N)")
    print(f"{'client':<34} {'conc':>5} {'N':>6} {'with cache':>11} {'cpu ms/req':>10} {'server ms/req':>13}")
    server = Server(0.0)
    try:
        for label, make, _ in clients:
            for with_cache in (True, False):
                before = server.stats()["cpu_s"]
                r = min((measure(make, [server.url], args.cpu_n, 64, with_cache) for _ in range(args.repeat)),
                        key=lambda x: x["cpu_ms_per_req"])
                server_ms = 1000 * (server.stats()["cpu_s"] - before) / (args.cpu_n * args.repeat)
                print(f"{label:<34} {64:>5} {args.cpu_n:>6} {'yes' if with_cache else 'no':>11} "
                      f"{r['cpu_ms_per_req']:>10.3f} {server_ms:>13.3f}", flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
