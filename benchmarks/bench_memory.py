"""Peak memory of ``classify`` through the openai backend: streamed against the whole-table path.

Writes N distinct comments (CSV), starts ``tests/fakes/openai.py`` in its own process (latency 0,
request bodies not kept), and runs ``emocause.classify(path, out=...)`` in a fresh subprocess per
run, once streamed (``stream=True``, the default for a file with ``out``) and once whole
(``stream=False``, the old behaviour), with a fresh SQLite cache each time.  The peak RSS of each
run comes from ``os.wait4`` (the kernel's high-water mark of that process alone).  The curve shows
whether memory grows with the input.

    python -m benchmarks.bench_memory                          # 10k, 50k, 200k rows, both paths
    python -m benchmarks.bench_memory --sizes 1000000 --only stream --out-format parquet
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_openai import ROOT, Server

RUN = """
import sys, emocause
src, out, cache, url, stream, chunk = sys.argv[1:7]
r = emocause.classify(src, out=out, backend="openai", model="bench", base_url=url, cache=cache,
                      concurrency=64, stream=stream == "1", chunk_rows=int(chunk))
assert r.counts["failed"] == 0 and r.counts["rows"] > 0, r.counts
"""


def write_input(path: Path, n: int) -> None:
    """N comments of 150-400 characters, each distinct (every row is one request)."""
    words = "the build is broken again after the merge so please revert thanks for the quick fix".split()
    with path.open("w", encoding="utf-8") as f:
        f.write("id,text\n")
        for i in range(n):
            k = 25 + i % 45
            f.write(f"c{i},comment {i}: " + " ".join(words[(i + j) % len(words)] for j in range(k)) + "\n")


def run(src: Path, out: Path, url: str, stream: bool, chunk: int) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one classify run in a fresh process."""
    with tempfile.TemporaryDirectory(dir=src.parent) as tmp:
        env = {**os.environ, "EMOCAUSE_PROGRESS": "0", "PYTHONPATH": str(ROOT)}
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", RUN, str(src), str(out), str(Path(tmp) / "c.sqlite"), url,
                                 "1" if stream else "0", str(chunk)], env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"run failed with exit code {proc.returncode}")
        return time.perf_counter() - t0, usage.ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    ap.add_argument("--only", choices=["stream", "whole"], help="run one path only")
    ap.add_argument("--chunk-rows", type=int, default=10_000)
    ap.add_argument("--out-format", default="parquet", help="extension of the output table")
    args = ap.parse_args(argv)
    paths = [p for p in ("stream", "whole") if args.only in (None, p)]
    server = Server(0.0, "--no-record")
    print(f"classify through the openai backend, local server (latency 0), concurrency 64, "
          f"chunk {args.chunk_rows:,} rows, output .{args.out_format}")
    print(f"{'rows':>9} {'path':>7} {'seconds':>8} {'rows/s':>8} {'peak RSS MiB':>13}")
    try:
        with tempfile.TemporaryDirectory(prefix="emocause-mem-") as tmp:
            results: dict[str, list[tuple[int, float]]] = {p: [] for p in paths}
            for n in args.sizes:
                src = Path(tmp) / f"in-{n}.csv"
                write_input(src, n)
                for path in paths:
                    out = Path(tmp) / f"out-{n}-{path}.{args.out_format}"
                    seconds, rss = run(src, out, server.url, path == "stream", args.chunk_rows)
                    results[path].append((n, rss))
                    print(f"{n:>9,} {path:>7} {seconds:>8.1f} {n / seconds:>8,.0f} {rss:>13,.0f}", flush=True)
                    out.unlink()
                src.unlink()
            for path, curve in results.items():
                if len(curve) > 1:
                    (n0, r0), (n1, r1) = curve[0], curve[-1]
                    print(f"{path}: {1024 * (r1 - r0) / (n1 - n0):.2f} KiB per extra row "
                          f"({r0:,.0f} -> {r1:,.0f} MiB from {n0:,} to {n1:,} rows)")
    finally:
        server.close()


if __name__ == "__main__":
    main()
