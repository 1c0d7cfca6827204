"""``emocause evaluate emotions`` and ``emocause evaluate causes``: thin adapters.

The work is :func:`emocause.evaluate.scoring.score_emotions` and
:func:`~emocause.evaluate.scoring.score_causes`; these commands turn flags into
their arguments and print the result.  Results go to stdout (nothing else does,
so ``--format json`` output can be piped); warnings go to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from emocause.cli import options as o
from emocause.evaluate.scoring import GOLD_SPAN_DEFAULT

evaluate_app = typer.Typer(
    help="Score predictions against gold data: per-emotion F1, cause-span BLEU, with bootstrap CIs.",
    no_args_is_help=True)

Gold = Annotated[Path, typer.Option("--gold", help="Gold table (CSV, JSONL or Parquet).", show_default=False)]
Pred = Annotated[Path, typer.Option("--pred", help="Predictions table (e.g. the output of `emocause "
                                    "classify` / `emocause causes`).", show_default=False)]
IdCol = Annotated[Optional[str], typer.Option(
    "--id-col", help="Join rows on this column (default: the first of id, ID, comment_id, ... present "
    "in each file; by position when neither file has one).", show_default=False)]
Bootstrap = Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples for 95% "
                                        "confidence intervals (0 = none; at most 100,000).")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap resampling.")]
Format = Annotated[str, typer.Option("--format", "-f", help="table | json | csv | markdown.")]


def _emit(scores, fmt: str) -> None:
    from emocause.progress import printable

    for w in scores.warnings:
        typer.echo(f"warning: {printable(w)}", err=True)
    typer.echo(scores.render(fmt))


@evaluate_app.command("emotions")
def emotions_cmd(
    gold: Gold, pred: Pred,
    gold_col: Annotated[Optional[str], typer.Option(
        "--gold-col", help="Gold label column(s): one label column, or comma-separated 0/1 columns "
        "(COLUMN or COLUMN=Emotion). Default: the six columns Anger..Surprise, else an "
        "emotion/label column.", show_default=False)] = None,
    pred_col: Annotated[Optional[str], typer.Option(
        "--pred-col", help="Prediction label column(s), same syntax. Default: an emotion/label "
        "column, else the six 0/1 columns.", show_default=False)] = None,
    answers: Annotated[Optional[str], typer.Option(
        "--answers", help="--pred-col holds raw model answers to this label prompt (basic, goemotions, "
        "secondary, all-levels or a template file): parse them exactly as classify does.",
        show_default=False)] = None,
    mapping: o.MappingName = "default",
    id_col: IdCol = None, bootstrap: Bootstrap = 1000, seed: Seed = 0,
    compare: Annotated[Optional[Path], typer.Option(
        "--compare", help="A second predictions file: paired bootstrap test of its macro-F1 minus "
        "--pred's.", show_default=False)] = None,
    compare_col: Annotated[Optional[str], typer.Option(
        "--compare-col", help="Label column(s) of --compare (default: --pred-col).",
        show_default=False)] = None,
    fmt: Format = "table",
    encoding: o.Encoding = None, sep: o.Sep = None, bad_lines: o.BadLines = "error",
) -> None:
    """Per-emotion precision, recall, F1 and support, macro/micro averages, bootstrap CIs.

    Each emotion is scored as its own binary task, as in the paper. Labels may be
    six 0/1 columns, one label column, comma-separated labels, or raw answers
    (--answers); names map to the six basic emotions by --mapping; Neutral,
    Unparsed, Hallucination and empty mean no emotion. Rows join on the id column.
    Also prints the recall ceiling: the best recall one label per row can reach.
    """
    from emocause.evaluate.render import check_format
    from emocause.evaluate.scoring import score_emotions

    check_format(fmt)
    with o.reading_tables(encoding, sep, bad_lines):
        result = score_emotions(gold, pred, gold_col=gold_col, pred_col=pred_col, id_col=id_col,
                                answers=answers, mapping=mapping, bootstrap=bootstrap, seed=seed,
                                compare=compare, compare_col=compare_col)
    _emit(result, fmt)


@evaluate_app.command("causes")
def causes_cmd(
    gold: Gold, pred: Pred,
    gold_col: Annotated[str, typer.Option("--gold-col", help="Gold span column.")] = GOLD_SPAN_DEFAULT,
    pred_col: Annotated[Optional[str], typer.Option(
        "--pred-col", help="Predicted span column (default: `cause`, as written by `emocause causes`).",
        show_default=False)] = None,
    bleu: Annotated[str, typer.Option(
        "--bleu", help="word: sacrebleu over words; paper: the paper's character-level NLTK-style "
        "BLEU on cleaned text (see docs/metrics.md).")] = "word",
    id_col: IdCol = None,
    text_col: Annotated[Optional[str], typer.Option(
        "--text-col", help="Comment text, for the grounded share (default: detected in --pred, "
        "then --gold: text, Text, modified_comment, ...).", show_default=False)] = None,
    bootstrap: Bootstrap = 1000, seed: Seed = 0, fmt: Format = "table",
    encoding: o.Encoding = None, sep: o.Sep = None, bad_lines: o.BadLines = "error",
) -> None:
    """BLEU-1..4 of predicted cause spans, token F1, exact match, span lengths, grounded share.

    --bleu word (default) prints sacrebleu's sentence-average and corpus BLEU with its
    signature; --bleu paper reproduces the paper's computation (GPT-4 BLEU-2 = 0.598).
    """
    from emocause.evaluate.render import check_format
    from emocause.evaluate.scoring import score_causes

    check_format(fmt)
    with o.reading_tables(encoding, sep, bad_lines):
        result = score_causes(gold, pred, gold_col=gold_col, pred_col=pred_col, id_col=id_col,
                              text_col=text_col, mode=bleu, bootstrap=bootstrap, seed=seed)
    _emit(result, fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(evaluate_app, name="evaluate")
