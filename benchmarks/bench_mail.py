"""Throughput of `emocause scrape mbox` on a large gzipped archive built from the real fixtures.

Takes every message of ../shared/data/perceval/mbox (odd encodings, multipart, HTML)
and repeats them with fresh Message-IDs until the archive holds N messages, gzips it,
then runs the library function the CLI calls (``emocause.sources.api.scrape_mbox``)
twice: a cold scrape, and a rerun (the file is unchanged, so it is skipped).

    python -m benchmarks.bench_mail [--n 20000]

Prints messages per second for parsing, decoding, preprocessing, storing and exporting.
"""

from __future__ import annotations

import argparse
import gzip
import mailbox
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("EMOCAUSE_PROGRESS", "0")

from emocause.sources.api import scrape_mbox  # noqa: E402

_MID = re.compile(rb"^Message-ID:[^\n]*\n", re.I | re.M)


def fixtures() -> list[bytes]:
    shared = Path(os.environ.get("EMOCAUSE_SHARED", ROOT.parent / "shared"))
    folder = shared / "data" / "perceval" / "mbox"
    if not folder.is_dir():
        sys.exit(f"error: {folder} not found (set EMOCAUSE_SHARED to the shared/ folder)")
    out = []
    for path in sorted(folder.glob("*.mbox")):
        box = mailbox.mbox(str(path), create=False)
        out += [box.get_bytes(k) for k in box.iterkeys()]
        box.close()
    return [m for m in out if _MID.search(m) and re.search(rb"^Date:", m, re.M)]


def build(path: Path, n: int) -> int:
    msgs = fixtures()
    with gzip.open(path, "wb") as f:
        for i in range(n):
            m = _MID.sub(f"Message-ID: <bench-{i}@example.org>\n".encode(), msgs[i % len(msgs)], count=1)
            m = re.sub(rb"^From ", b">From ", m, flags=re.M)
            f.write(b"From bench@example.org Thu Jan  1 00:00:00 2015\n" + m.rstrip(b"\n") + b"\n\n")
    return len(msgs)


def main_() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "list.mbox.gz"
        distinct = build(archive, a.n)
        out = Path(tmp) / "out.parquet"
        t0 = time.perf_counter()
        res = scrape_mbox(archive, out=out)
        cold = time.perf_counter() - t0
        assert res.counts["messages"] == a.n
        t0 = time.perf_counter()
        scrape_mbox(archive, out=out)
        warm = time.perf_counter() - t0
    print(f"archive: {a.n:,} messages ({distinct} distinct fixture messages), "
          f"{archive.name}, gzip")
    print(f"cold scrape: {cold:.2f} s, {a.n / cold:,.0f} messages/s "
          f"({res.counts['kept']:,} kept, {res.counts['no_date']:,} without a parseable Date)")
    print(f"rerun (file unchanged, skipped): {warm:.2f} s")


if __name__ == "__main__":
    main_()
