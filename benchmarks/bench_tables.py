#!/usr/bin/env python3
"""Time emocause's strict table reader and writer against plain pandas.

    python -m benchmarks.bench_tables [--rows 200000] [--repeat 3]

emocause reads CSV with Python's csv module so that every record's field count is
checked and a bad line is named (pandas shifts the values of a ragged row into the
wrong columns instead).  This prints what that costs against ``pandas.read_csv``
(C engine, same string dtypes) on comment-like rows, and the cost of compression
on write and read (``.csv.gz``, ``.csv.zst``, ``.jsonl.gz``).  Best of --repeat runs.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from benchmarks.bench_evaluate import best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import pandas as pd

    from emocause import tables

    rng = random.Random(0)
    words = ("the build fails again because of this flaky test, thanks for the fix \"quoted\" "
             "I am not sure why CI is red; LGTM").split()
    df = pd.DataFrame({"id": [f"c{i}" for i in range(args.rows)],
                       "text": [" ".join(rng.choice(words) for _ in range(rng.randint(5, 120)))
                                for _ in range(args.rows)],
                       "author": [rng.choice(["alice", "bob", "carol"]) for _ in range(args.rows)]})
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        plain = d / "comments.csv"
        df.to_csv(plain, index=False)
        mb = plain.stat().st_size / 1e6
        ours = best(lambda: tables.read_table(plain), args.repeat)
        theirs = best(lambda: pd.read_csv(plain, dtype=str, keep_default_na=False, na_values=[]), args.repeat)
        print(f"read {args.rows:,} rows, {mb:.1f} MB CSV: emocause {ours:.2f} s ({mb / ours:.0f} MB/s), "
              f"pandas C engine {theirs:.2f} s ({mb / theirs:.0f} MB/s), ratio {ours / theirs:.2f}x")
        w_ours = best(lambda: tables.write_table(df, d / "w.csv"), args.repeat)
        w_theirs = best(lambda: df.to_csv(d / "w2.csv", index=False), args.repeat)
        print(f"write CSV: emocause {w_ours:.2f} s (atomic), pandas {w_theirs:.2f} s, ratio {w_ours / w_theirs:.2f}x")
        for name in ("out.csv.gz", "out.csv.zst", "out.jsonl.gz", "out.parquet"):
            path = d / name
            w = best(lambda: tables.write_table(df, path), args.repeat)
            r = best(lambda: tables.read_table(path), args.repeat)
            print(f"{name:13} write {w:.2f} s, read {r:.2f} s, {path.stat().st_size / 1e6:.1f} MB "
                  f"({path.stat().st_size / 1e6 / mb:.0%} of the CSV)")


if __name__ == "__main__":
    main()
