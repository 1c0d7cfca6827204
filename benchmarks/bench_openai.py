"""Throughput of the openai backend against a local server with injected latency.

Runs `emocause classify` (in-process, through the real CLI and the real openai
client) on N distinct comments against tests/fake_openai.py with a fixed
per-request latency, then a second time on the warm cache.

    python -m benchmarks.bench_openai [--n 1000] [--latency 0.1] [--concurrency 16]

Prints wall time against the sequential time (N x latency) and against the ideal
at the chosen concurrency (N x latency / concurrency); target >= 80% of ideal.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("EMOCAUSE_PROGRESS", "0")

import pandas as pd

from emocause.cli.app import main
from tests.fakes.openai import FakeOpenAI, keyword_responder


def run(n: int, latency: float, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        src = tmpdir / "comments.csv"
        pd.DataFrame({"id": range(n), "text": [f"Comment {i}: the build is broken again on job {i}."
                                                 for i in range(n)]}).to_csv(src, index=False)
        cache = tmpdir / "cache.sqlite"
        with FakeOpenAI(keyword_responder({"broken": "Annoyance"}), latency=latency) as server:
            args = ["classify", str(src), "--out", str(tmpdir / "out.csv"), "--backend", "openai",
                    "--model", "bench", "--base-url", server.url, "--concurrency", str(concurrency),
                    "--cache", str(cache)]
            t0 = time.perf_counter()
            assert main(args) == 0
            cold = time.perf_counter() - t0
            cold_requests = server.count
            t0 = time.perf_counter()
            assert main(args) == 0
            warm = time.perf_counter() - t0
            warm_requests = server.count - cold_requests
    sequential = n * latency
    ideal = n * latency / concurrency
    return {"n": n, "latency_s": latency, "concurrency": concurrency, "cold_wall_s": cold,
            "cold_requests": cold_requests, "sequential_s": sequential, "ideal_s": ideal,
            "speedup_vs_sequential": sequential / cold, "share_of_ideal": ideal / cold,
            "warm_wall_s": warm, "warm_requests": warm_requests}


def main_() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16])
    args = ap.parse_args()
    print(f"{'conc':>5} {'wall s':>8} {'seq s':>8} {'ideal s':>8} {'x seq':>7} {'% ideal':>8} "
          f"{'warm s':>7} {'warm req':>8}")
    for c in args.concurrency:
        r = run(args.n, args.latency, c)
        print(f"{c:>5} {r['cold_wall_s']:>8.2f} {r['sequential_s']:>8.1f} {r['ideal_s']:>8.2f} "
              f"{r['speedup_vs_sequential']:>7.1f} {100 * r['share_of_ideal']:>7.1f}% "
              f"{r['warm_wall_s']:>7.2f} {r['warm_requests']:>8}")
        assert r["cold_requests"] == args.n


if __name__ == "__main__":
    main_()
