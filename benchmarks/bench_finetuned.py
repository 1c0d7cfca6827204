"""The fine-tuned default backend: every figure issue 12 asks for, beside the old default and tfidf-svm.

    python -m benchmarks.bench_finetuned                          # the shipped model
    python -m benchmarks.bench_finetuned --model DIR --folds DIR  # a model of your own + its CV folds
    python -m benchmarks.bench_finetuned --skip-quality           # speed and size only

Everything runs through the real CLI (``emocause classify`` / ``causes`` /
``evaluate``), as a user would, in-process.

1. **Quality** on every labelled test set in ``../shared/data/paper`` (never
   trained or tuned on): the paper's GitHub test split, Stack Overflow
   (SOEmotion-Test) and the four JIRA test sets (one emotion each).  For the
   ``finetuned`` backend both its one-label ``emotion`` column and its
   multi-label ``emotions`` column are scored; the old default (``embedding``)
   and ``tfidf-svm`` (``--backend trained``, trained here on github-train.csv)
   are scored on ``emotion``.  Macro-F1 with 95% bootstrap CIs (1,000
   resamples), each emotion its own binary task as in the paper.
2. **Neutral share** predicted vs gold per test set (JIRA: the share of
   comments predicted / labelled with the file's emotion).
3. **Paired bootstrap** (``evaluate emotions --compare``) of the finetuned
   backend against the old default and against tfidf-svm on each test set.
4. **Causes**: BLEU-2 (word and paper mode) against the 450 human spans of
   ``manual_causes.csv`` (every one a github-train comment; the gold emotion is
   asked).  The finetuned backend scores candidate clauses with its emotion
   head; with ``--folds`` each comment is answered by the cross-validation
   fold model that did not train on it (the honest figure, since the shipped
   model was trained on these comments' emotion labels).
5. **Speed**: ``emocause classify`` end to end on 2,000 comments (load,
   tokenise, one forward pass per comment, write), and the artifact's size.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("EMOCAUSE_PROGRESS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd  # noqa: E402

from emocause.cli.app import main as cli  # noqa: E402
from emocause.emotions.taxonomy import BASIC  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER = Path(os.environ.get("EMOCAUSE_SHARED", ROOT.parent / "shared")) / "data" / "paper"
#: test set -> (file, gold columns for ``evaluate --gold-col``; None = the six 0/1 columns)
TEST_SETS = {
    "GitHub test": ("github-test.csv", None),
    "SOEmotion-Test": ("SOEmotion-Test.csv", None),
    **{f"JIRA-{e}-Test": (f"JIRA-{e}-Test.csv", f"label={e}") for e in ("Anger", "Joy", "Love", "Sadness")},
}
BOOTSTRAP = "1000"


def run(*args: object) -> None:
    code = cli([str(a) for a in args])
    if code != 0:
        raise SystemExit(f"emocause {' '.join(map(str, args))} exited {code}")


def evaluate(gold: Path, pred: Path, gold_col: str | None, pred_col: str,
             compare: Path | None = None) -> dict:
    """``emocause evaluate emotions --format json``, captured."""
    import contextlib
    import io

    args = ["evaluate", "emotions", "--gold", gold, "--pred", pred, "--pred-col", pred_col,
            "--bootstrap", BOOTSTRAP, "--format", "json"]
    if gold_col:
        args += ["--gold-col", gold_col]
    if compare is not None:
        args += ["--compare", compare, "--compare-col", "emotion"]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        run(*args)
    return json.loads(buffer.getvalue())


def neutral_shares(gold: pd.DataFrame, pred: pd.DataFrame, gold_col: str | None) -> tuple[float, float]:
    """(gold, predicted) share without emotion; for a one-emotion JIRA file, the share with it."""
    if gold_col:
        emotion = gold_col.split("=")[1]
        return float(gold["label"].astype(int).mean()), float((pred["emotion"] == emotion).mean())
    return float((gold[list(BASIC)].sum(axis=1) == 0).mean()), float((pred["emotion"] == "Neutral").mean())


def ci(d: dict) -> str:
    low, high = d["ci"]["macro"]["f1"]
    return f"{d['macro']['f1']:.3f} [{low:.3f}, {high:.3f}]"


def quality(model_args: list[str], work: Path) -> None:
    svm = work / "svm"
    run("train", PAPER / "github-train.csv", "--model-out", svm)
    backends = {"finetuned": model_args, "embedding (old default)": ["--backend", "embedding"],
                "tfidf-svm": ["--backend", "trained", "--model", svm]}
    table, shares, tests = [], [], []
    for name, (file, gold_col) in TEST_SETS.items():
        gold_path = PAPER / file
        gold = pd.read_csv(gold_path, keep_default_na=False)
        preds = {}
        for backend, args in backends.items():
            out = work / f"{file}.{backend.split()[0]}.csv"
            # JIRA-Joy-Test.csv is released with its text column named "test"
            text_col = [] if {"text", "Text"} & set(gold.columns) else ["--text-col", "test"]
            run("classify", gold_path, "--out", out, *args, *text_col)
            preds[backend] = out
        fine = evaluate(gold_path, preds["finetuned"], gold_col, "emotion")
        multi = evaluate(gold_path, preds["finetuned"], gold_col, "emotions")
        old = evaluate(gold_path, preds["embedding (old default)"], gold_col, "emotion")
        svm_r = evaluate(gold_path, preds["tfidf-svm"], gold_col, "emotion")
        table.append(f"| {name} | {len(gold)} | **{ci(fine)}** | {ci(multi)} | {ci(old)} | {ci(svm_r)} |")
        for backend, path in preds.items():
            g, p = neutral_shares(gold, pd.read_csv(path, keep_default_na=False), gold_col)
            shares.append(f"| {name} | {backend} | {g:.3f} | {p:.3f} | {100 * (p - g):+.1f} |")
        for peer in ("embedding (old default)", "tfidf-svm"):
            c = evaluate(gold_path, preds[peer], gold_col, "emotion", compare=preds["finetuned"])["compare"]
            tests.append(f"| {name} | finetuned - {peer} | {c['diff']:+.3f} | "
                         f"[{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}] | {c['p_value']:.3f} |")
    print("\n## Quality: macro-F1 [95% bootstrap CI], each emotion its own binary task\n")
    print("| test set | n | finetuned `emotion` | finetuned `emotions` (multi-label) | embedding (old default) "
          "| tfidf-svm |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(table))
    print("\n## Neutral share, gold vs predicted (`emotion` column; JIRA: share with the file's emotion)\n")
    print("| test set | backend | gold | predicted | difference (points) |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(shares))
    print("\n## Paired bootstrap of macro-F1 (`evaluate emotions --compare`, 1,000 resamples)\n")
    print("| test set | comparison | difference | 95% CI | p |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(tests))


def causes(model_args: list[str], folds: Path | None, work: Path) -> None:
    train = pd.read_csv(PAPER / "github-train.csv")
    manual = pd.read_csv(PAPER / "manual_causes.csv").merge(train, on="id", how="left")
    manual["gold_emotion"] = [next((e for e in BASIC if row[e] == 1), "") for _, row in manual.iterrows()]
    gold = work / "manual.csv"
    manual[["id", "modified_comment", "Cause Span", "gold_emotion"]].to_csv(gold, index=False)
    runs = {"embedding (old default)": ["--backend", "embedding"], "finetuned (shipped model)": model_args}
    outputs = {}
    for name, args in runs.items():
        out = work / f"causes.{name.split()[0]}.{len(outputs)}.csv"
        run("causes", gold, "--out", out, "--emotion-col", "gold_emotion", *args)
        outputs[name] = out
    if folds is not None:  # each comment answered by the fold model that never saw it
        oof = pd.read_csv(folds / "oof.csv")
        oof = oof[oof["table"] == "github-train.csv"]
        fold_of = dict(zip(train["id"].iloc[oof["row"]].tolist(), oof["fold"].tolist()))
        parts = []
        for k in sorted(set(fold_of.values())):
            subset = manual[manual["id"].map(fold_of) == k]
            src, out = work / f"manual.fold{k}.csv", work / f"causes.fold{k}.csv"
            subset[["id", "modified_comment", "Cause Span", "gold_emotion"]].to_csv(src, index=False)
            run("causes", src, "--out", out, "--emotion-col", "gold_emotion", "--backend", "finetuned",
                "--model", folds / f"fold-{k}")
            parts.append(pd.read_csv(out, keep_default_na=False))
        merged = work / "causes.out-of-fold.csv"
        pd.concat(parts).to_csv(merged, index=False)
        outputs["finetuned (out-of-fold models)"] = merged
    print("\n## Causes: BLEU-2 against the 450 human spans (gold emotion asked)\n")
    print("| backend | BLEU-2 word | BLEU-2 paper mode | exact match |")
    print("|---|---:|---:|---:|")
    import contextlib
    import io

    for name, out in outputs.items():
        cells = []
        for mode in ("word", "paper"):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                run("evaluate", "causes", "--gold", gold, "--pred", out, "--bleu", mode,
                    "--bootstrap", BOOTSTRAP, "--format", "json")
            r = json.loads(buffer.getvalue())
            low, high = r["ci"]["bleu"]["2"]
            cells.append(f"{r['bleu']['2']:.3f} [{low:.3f}, {high:.3f}]")
        print(f"| {name} | {cells[0]} | {cells[1]} | {r['exact_match']:.3f} |")
    print("| GPT-4 (paper, published answers) | 0.512 | 0.598 | |")


def speed(model_args: list[str], work: Path, n: int) -> None:
    texts = pd.concat([pd.read_csv(PAPER / "github-train.csv")["Text"],
                       pd.read_csv(PAPER / "SOEmotion-Test.csv")["Text"]]).astype(str).head(n)
    src = work / "speed.csv"
    pd.DataFrame({"id": range(len(texts)), "text": texts.tolist()}).to_csv(src, index=False)
    print(f"\n## Speed: `emocause classify` on {len(texts):,} comments, end to end, in-process "
          f"({os.cpu_count()} CPUs, load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())})\n")
    print("| backend | wall (s), incl. model load and writing | comments/s end to end | "
          "comments/s answering (run summary) |")
    print("|---|---:|---:|---:|")
    for name, args in (("finetuned", model_args), ("embedding (old default)", ["--backend", "embedding"])):
        out = work / f"speed.{name.split()[0]}.csv"
        t0 = time.perf_counter()
        run("classify", src, "--out", out, *args)
        wall = time.perf_counter() - t0
        manifest = json.loads(Path(f"{out}.manifest.json").read_text())
        answering = manifest["counts"]["seconds"]
        print(f"| {name} | {wall:.1f} | {len(texts) / wall:,.0f} | {len(texts) / answering:,.0f} |")


def size(directory: Path) -> None:
    files = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}
    print(f"\n## Artifact: {directory.name}\n")
    for name, n in files.items():
        print(f"- {name}: {n / 1024:,.1f} KiB")
    print(f"- total: {sum(files.values()) / 1024 / 1024:.2f} MiB (goal < 5 MB)")


def main() -> None:
    from emocause.backends.finetune import SHIPPED

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="a fine-tuned model folder (default: shipped)")
    ap.add_argument("--folds", type=Path, default=None, help="its --folds-out folder (out-of-fold causes)")
    ap.add_argument("--speed-n", type=int, default=2000)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-causes", action="store_true")
    args = ap.parse_args()
    if not PAPER.is_dir():
        raise SystemExit(f"{PAPER} is not present (set EMOCAUSE_SHARED)")
    model_args = ["--backend", "finetuned"] + (["--model", str(args.model)] if args.model else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        size(args.model or SHIPPED)
        speed(model_args, work, args.speed_n)
        if not args.skip_quality:
            quality(model_args, work)
        if not args.skip_causes:
            causes(model_args, args.folds, work)


if __name__ == "__main__":
    main()
