#!/usr/bin/env python3
"""Regenerate reports/paper_reproduction.md from the paper's released outputs.

Every number in the report comes from running ``emocause evaluate ... --format json``
(the real command line, in a subprocess) on the replication data:

* emotions: ``github-test.csv`` (gold, six 0/1 columns) against the ``*-mapped``
  columns of ``github-test-granular-level-prompting.csv`` (ChatGPT, GPT-4,
  flan-alpaca), plus paired bootstrap tests of macro-F1 between the models;
* causes: ``manual_causes.csv`` ("Cause Span") against the ChatGPT, GPT-4 and
  Flan-Alpaca-XL columns of ``causes.csv``, in ``--bleu paper`` and ``--bleu word`` modes.

The report has no timestamp, so rerunning it on the same data gives the same file.
Exit status: 0 when the paper's headline (GPT-4 BLEU-2 = 0.598, paper mode) is
reproduced within 0.003, 1 when not, 2 on bad input.

Usage: ``make reproduce`` or
``python scripts/reproduce_paper.py [--paper-dir ../shared/data/paper] [--out reports/paper_reproduction.md]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

EMOTION_MODELS = (("ChatGPT", "chatgpt-mapped"), ("GPT-4", "GPT-4-mapped"),
                  ("flan-alpaca", "flan-alpaca-mapped"))
CAUSE_MODELS = (("ChatGPT", "ChatGPT"), ("GPT-4", "GPT-4"), ("flan-alpaca", "Flan-Alpaca-XL"))
COMPARISONS = (("GPT-4", "ChatGPT"), ("GPT-4", "flan-alpaca"), ("ChatGPT", "flan-alpaca"))
FILES = ("github-test.csv", "github-test-granular-level-prompting.csv", "causes.csv", "manual_causes.csv")

#: The paper's headline and what the replication notebook printed (blue_score/bleu.ipynb,
#: github.com/imranraad07/SE-Emotion-Cause-Replication at commit 3f6548a4).
HEADLINE = ("GPT-4", "2", 0.598, 0.003)
NOTEBOOK_URL = ("https://github.com/imranraad07/SE-Emotion-Cause-Replication/blob/"
                "3f6548a4d55e91870abe720982ac85ebe1c743ea/blue_score/bleu.ipynb")
NOTEBOOK_BLEU = {
    "ChatGPT": (0.5216223155541132, 0.48862693512857797, 0.4666842196987067, 0.4504333236694316),
    "GPT-4": (0.6373626036317592, 0.5975115667777628, 0.5711087979153057, 0.5543213195547464),
    "flan-alpaca": (0.5710519279089656, 0.5428681782625324, 0.524756866685228, 0.5077396989640749),
}
#: Mean words per span printed by the notebook (cleaned, lemmatised, stemmed text).
NOTEBOOK_WORDS = {"gold": 7.428888888888889, "GPT-4": 8.846666666666666, "ChatGPT": 8.642222222222221,
                  "flan-alpaca": 13.115555555555556}


def emocause(*args: object) -> dict[str, Any]:
    """Run ``emocause ARGS --format json`` and parse its stdout."""
    cmd = [sys.executable, "-m", "emocause", *map(str, args), "--format", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"error: `emocause {' '.join(map(str, args))}` exited with {proc.returncode}")
    return json.loads(proc.stdout)


def ci(value: float, interval: list[float] | None, digits: int = 3) -> str:
    if not interval:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(paper: Path, boot: int, seed: int, progress) -> dict[str, Any]:
    gold_e, pred_e = paper / "github-test.csv", paper / "github-test-granular-level-prompting.csv"
    gold_c, pred_c = paper / "manual_causes.csv", paper / "causes.csv"
    out: dict[str, Any] = {"emotions": {}, "compare": {}, "causes": {}}
    for name, col in EMOTION_MODELS:
        out["emotions"][name] = emocause("evaluate", "emotions", "--gold", gold_e, "--pred", pred_e,
                                         "--pred-col", col, "--bootstrap", boot, "--seed", seed)
        progress()
    cols = dict(EMOTION_MODELS)
    for a, b in COMPARISONS:
        r = emocause("evaluate", "emotions", "--gold", gold_e, "--pred", pred_e, "--pred-col", cols[b],
                     "--compare", pred_e, "--compare-col", cols[a], "--bootstrap", boot, "--seed", seed)
        out["compare"][(a, b)] = r["compare"]
        progress()
    # The gold columns carried inside the granular file, scored as predictions: F1 = 1 iff identical.
    out["gold_check"] = emocause("evaluate", "emotions", "--gold", gold_e, "--pred", pred_e, "--pred-col",
                                 "Anger,Love,Fear,Joy,Sadness,Surprise", "--bootstrap", 0)
    progress()
    for name, col in CAUSE_MODELS:
        for mode in ("paper", "word"):
            out["causes"][(name, mode)] = emocause(
                "evaluate", "causes", "--gold", gold_c, "--pred", pred_c, "--pred-col", col,
                "--bleu", mode, "--bootstrap", boot, "--seed", seed)
            progress()
    return out


def render(res: dict[str, Any], paper_arg: str, paper: Path, boot: int, seed: int) -> tuple[str, bool]:
    from emocause import __version__

    L: list[str] = []
    add = L.append
    name, order, target, tol = HEADLINE
    got = res["causes"][(name, "paper")]["bleu"][order]
    ok = abs(got - target) <= tol
    add("# Reproduction of the paper's figures")
    add("")
    add("*Uncovering the Causes of Emotions in Software Developer Communication Using Zero-shot LLMs* "
        "(Imran, Chatterjee, Damevski, ICSE 2024), recomputed by `emocause evaluate` from the released "
        "model outputs.")
    add("")
    add(f"Generated by `make reproduce` (`python scripts/reproduce_paper.py --paper-dir {paper_arg}`) with "
        f"emocause {__version__}; bootstrap: {boot} resamples of rows, seed {seed}, 95% percentile "
        f"intervals in brackets. Do not edit by hand.")
    add("")
    add(f"**Headline: {name} BLEU-{order} (paper mode) = {got:.4f}; the paper reports {target}. "
        f"{'Reproduced' if ok else 'NOT reproduced'} (tolerance {tol}).** "
        f"The same outputs score {res['causes'][(name, 'word')]['bleu'][order]:.3f} in word-level BLEU-{order} "
        f"(sacrebleu, row average) and {res['causes'][(name, 'word')]['corpus_bleu'][order]:.3f} at corpus level.")
    add("")
    add("Inputs (SHA-256, first 16 hex digits):")
    add("")
    for f in FILES:
        add(f"- `{f}`: `{sha(paper / f)[:16]}`")
    add("")

    add("## 1. Emotion classification on the GitHub test set")
    add("")
    e0 = res["emotions"][EMOTION_MODELS[0][0]]
    add(f"Gold: `github-test.csv`, {e0['n']} comments, six 0/1 columns; predictions: the `*-mapped` "
        "columns of `github-test-granular-level-prompting.csv` (the models' fine-grained answers mapped to "
        "the six basic emotions; `Hallucination` and `Neutral` count as no emotion). Rows joined on `id` "
        f"({e0['join']['matched']} of {e0['join']['gold_rows']} matched). Each emotion is its own binary "
        "task: F1 of the positive class.")
    add("")
    add("### F1 per emotion")
    add("")
    labels = e0["labels"]
    add("| model | " + " | ".join(labels) + " | macro F1 | micro F1 |")
    add("|---|" + "---:|" * (len(labels) + 2))
    for model, _ in EMOTION_MODELS:
        r = res["emotions"][model]
        cells = [ci(r["per_label"][lab]["f1"], r["ci"]["per_label"][lab]["f1"]) for lab in labels]
        cells += [ci(r["macro"]["f1"], r["ci"]["macro"]["f1"]), ci(r["micro"]["f1"], r["ci"]["micro"]["f1"])]
        add(f"| {model} | " + " | ".join(cells) + " |")
    add("| support | " + " | ".join(str(e0["per_label"][lab]["support"]) for lab in labels) + " | | |")
    add("")
    add("### Precision and recall per emotion")
    add("")
    add("| model | metric | " + " | ".join(labels) + " | macro |")
    add("|---|---|" + "---:|" * (len(labels) + 1))
    for model, _ in EMOTION_MODELS:
        r = res["emotions"][model]
        for m in ("precision", "recall"):
            cells = [ci(r["per_label"][lab][m], r["ci"]["per_label"][lab][m]) for lab in labels]
            add(f"| {model} | {m} | " + " | ".join(cells) + f" | {ci(r['macro'][m], r['ci']['macro'][m])} |")
    add("")
    add("### Paired bootstrap tests of macro-F1")
    add("")
    add("| comparison | macro-F1 A | macro-F1 B | A - B | 95% CI | p |")
    add("|---|---:|---:|---:|---:|---:|")
    for (a, b), c in res["compare"].items():
        add(f"| {a} (A) vs {b} (B) | {c['b']:.3f} | {c['a']:.3f} | {c['diff']:+.3f} | "
            f"[{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}] | {c['p_value']:.3f} |")
    add("")
    unknown = {m: res["emotions"][m]["unrecognised"]["pred"] for m, _ in EMOTION_MODELS}
    if any(unknown.values()):
        add("Labels that are no emotion of the taxonomy (counted as no emotion): " + "; ".join(
            f"{m}: " + ", ".join(f"`{k}` x{v}" for k, v in u.items()) for m, u in unknown.items() if u) + ".")
        add("")

    add("## 2. Emotion-cause extraction: 450 annotated comments")
    add("")
    c0 = res["causes"][(CAUSE_MODELS[0][0], "paper")]
    add(f"Gold: `manual_causes.csv` (`Cause Span`); predictions: the model columns of `causes.csv`; "
        f"rows joined on `id` ({c0['join']['matched']} matched). BLEU scores are averages over rows of "
        "sentence-level BLEU, on the 0-1 scale.")
    add("")
    for mode, title in (("paper", "Paper mode (`--bleu paper`): character n-grams of cleaned text, "
                                  "NLTK semantics, no smoothing"),
                        ("word", "Word mode (`--bleu word`, default): sacrebleu over words, row average")):
        add(f"### {title}")
        add("")
        add("| model | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 |")
        add("|---|---:|---:|---:|---:|")
        for model, _ in CAUSE_MODELS:
            r = res["causes"][(model, mode)]
            add(f"| {model} | " + " | ".join(ci(r["bleu"][k], r["ci"]["bleu"][k]) for k in "1234") + " |")
        add("")
        if mode == "word":
            add("Corpus-level word BLEU (n-gram counts pooled over rows):")
            add("")
            add("| model | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 |")
            add("|---|---:|---:|---:|---:|")
            for model, _ in CAUSE_MODELS:
                r = res["causes"][(model, mode)]
                add(f"| {model} | " + " | ".join(ci(r["corpus_bleu"][k], r["ci"]["corpus_bleu"][k])
                                                 for k in "1234") + " |")
            add("")
            sig = res["causes"][(CAUSE_MODELS[0][0], "word")]["signature"]
            add(f"sacrebleu signatures: sentence `{sig['sentence']}`; corpus `{sig['corpus']}`.")
        else:
            add(f"Signature: `{c0['signature']['sentence']}`.")
        add("")
    add("### Span agreement, lengths and grounding")
    add("")
    add("| model | token F1 | exact match | mean words (cleaned) | mean words (raw) | grounded share |")
    add("|---|---:|---:|---:|---:|---:|")
    rp0, rw0 = res["causes"][(CAUSE_MODELS[0][0], "paper")], res["causes"][(CAUSE_MODELS[0][0], "word")]
    add(f"| gold | | | {ci(rp0['span_words']['gold'], rp0['ci']['span_words']['gold'], 2)} | "
        f"{ci(rw0['span_words']['gold'], rw0['ci']['span_words']['gold'], 2)} | |")
    for model, _ in CAUSE_MODELS:
        rp, rw = res["causes"][(model, "paper")], res["causes"][(model, "word")]
        g = rp["grounded"]
        add(f"| {model} | {ci(rp['token_f1'], rp['ci']['token_f1'])} | "
            f"{ci(rp['exact_match'], rp['ci']['exact_match'])} | "
            f"{ci(rp['span_words']['pred'], rp['ci']['span_words']['pred'], 2)} | "
            f"{ci(rw['span_words']['pred'], rw['ci']['span_words']['pred'], 2)} | "
            f"{ci(g['share'], rp['ci']['grounded'])} ({g['spans']} spans) |")
    add("")
    empties = {m: res["causes"][(m, "paper")]["empty_predictions"] for m, _ in CAUSE_MODELS}
    add("Mean words: *cleaned* counts the words of the paper-mode cleaned text, as the notebook does; "
        "*raw* counts whitespace-separated words. Grounded share: the predicted spans (non-empty) found in "
        "the comment exactly, after case/whitespace normalisation, or by fuzzy alignment (score >= 85). "
        "Empty predictions (scored 0): " + ", ".join(f"{m} {k}" for m, k in empties.items()) + ".")
    add("")

    add("## 3. Reproduced figures next to the published ones")
    add("")
    add("| figure | published | reproduced | difference |")
    add("|---|---:|---:|---:|")
    add(f"| GPT-4 BLEU-2 (paper's headline) | {target:.3f} | {got:.4f} | {got - target:+.4f} |")
    for model, _ in CAUSE_MODELS:
        r = res["causes"][(model, "paper")]
        for k, pub in zip("1234", NOTEBOOK_BLEU[model]):
            add(f"| {model} BLEU-{k} (notebook) | {pub:.4f} | {r['bleu'][k]:.4f} | {r['bleu'][k] - pub:+.4f} |")
    add(f"| gold mean words (notebook) | {NOTEBOOK_WORDS['gold']:.2f} | {rp0['span_words']['gold']:.2f} | "
        f"{rp0['span_words']['gold'] - NOTEBOOK_WORDS['gold']:+.2f} |")
    for model, _ in CAUSE_MODELS:
        w = res["causes"][(model, "paper")]["span_words"]["pred"]
        add(f"| {model} mean words (notebook) | {NOTEBOOK_WORDS[model]:.2f} | {w:.2f} | "
            f"{w - NOTEBOOK_WORDS[model]:+.2f} |")
    add("")

    max_dev = max(abs(res["causes"][(m, "paper")]["bleu"][k] - pub)
                  for m, _ in CAUSE_MODELS for k, pub in zip("1234", NOTEBOOK_BLEU[m]))
    add("## Notes: where the published numbers come from")
    add("")
    add(f"- **BLEU.** The paper's BLEU figures come from the replication notebook `blue_score/bleu.ipynb` "
        f"({NOTEBOOK_URL}); its printed outputs are the *published* column above. The notebook cleans each "
        "text (printable ASCII, non-alphanumeric runs to one space, lowercase), then word-tokenises, "
        "lemmatises (WordNet, POS-tagged) and Porter-stems it, and calls NLTK's `sentence_bleu([gold], "
        "prediction)` on the resulting *strings*: NLTK then counts character n-grams, not words. Weights are "
        "(1,0,0,0), (0.5,0.5), (0.33,0.33,0.33) and (0.25,)*4, with no smoothing, averaged over the 450 rows. "
        "`--bleu paper` implements exactly this minus lemmatisation and stemming (they need NLTK data packages); "
        f"that omission moves the twelve BLEU figures by at most {max_dev:.4f}.")
    add("- **Which model is 0.598.** The 0.598 BLEU-2 is the GPT-4 column of `causes.csv`. Measured over "
        "words with a standard tool (sacrebleu) the same outputs score about "
        f"{res['causes'][('GPT-4', 'word')]['bleu']['2']:.2f} (row average); character-level BLEU rewards "
        "partial word overlap and is not comparable with word-level BLEU reported elsewhere.")
    add("- **Span lengths.** The notebook prints 8.85 mean words for its `column_gpt4` (the GPT-4 column) and "
        "8.64 for `column_chatgpt`; a third-party summary of the paper lists 8.85, 8.64 and 13.12 in the order "
        "ChatGPT, GPT-4, flan-alpaca, so the paper's text may swap the first two. The table above follows the "
        "columns of `causes.csv`.")
    add("- **Emotion F1.** The per-emotion F1 of the three LLMs here is what the released granular-prompting "
        "outputs give; the paper's own table was not available to this reproduction for a cell-by-cell check. "
        "The gold columns inside `github-test-granular-level-prompting.csv` "
        + ("are identical to `github-test.csv` (scored against it, their macro-F1 is 1.000)"
           if res["gold_check"]["macro"]["f1"] == 1.0 else
           f"differ from `github-test.csv` (macro-F1 {res['gold_check']['macro']['f1']:.3f} against it)")
        + ". Precision intervals reaching 0 or 1 (e.g. Fear, with "
        "very few predicted positives) are genuine: resamples without a predicted positive have precision 0 "
        "by definition.")
    add("- **Intervals** are non-parametric bootstrap percentile intervals over comments; the paired tests "
        "resample the same comments for both models (two-sided p from the centred bootstrap distribution).")
    return "\n".join(L) + "\n", ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paper-dir", default="../shared/data/paper",
                    help="Directory with the replication data (default: ../shared/data/paper).")
    ap.add_argument("--out", default="reports/paper_reproduction.md", help="Report to write.")
    ap.add_argument("--bootstrap", type=int, default=1000, help="Bootstrap resamples (default 1000).")
    ap.add_argument("--seed", type=int, default=0, help="Bootstrap seed (default 0).")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from emocause.progress import bar, info, summary

    paper = Path(args.paper_dir)
    if not paper.is_absolute():
        paper = (Path.cwd() / paper).resolve()
    missing = [f for f in FILES if not (paper / f).is_file()]
    if missing:
        print(f"error: {paper}: missing {', '.join(missing)} (pass --paper-dir, or PAPER=... to make)",
              file=sys.stderr)
        return 2
    if args.bootstrap < 1:
        print("error: --bootstrap must be at least 1", file=sys.stderr)
        return 2
    runs = len(EMOTION_MODELS) + len(COMPARISONS) + 1 + 2 * len(CAUSE_MODELS)
    with bar("emocause evaluate", runs) as b:
        res = run(paper, args.bootstrap, args.seed, b.advance)
    text, ok = render(res, args.paper_dir, paper, args.bootstrap, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    name, order, target, _ = HEADLINE
    got = res["causes"][(name, "paper")]["bleu"][order]
    summary(f"paper reproduction -> {out}", {
        "evaluate runs": runs, f"{name} BLEU-{order} (paper mode)": f"{got:.4f} (published {target})",
        **{f"{m} macro-F1": f"{res['emotions'][m]['macro']['f1']:.3f}" for m, _ in EMOTION_MODELS},
        "headline reproduced": "yes" if ok else "NO"})
    if not ok:
        info(f"the headline {name} BLEU-{order} = {target} was not reproduced")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
