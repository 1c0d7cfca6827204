"""``emocause train``: fit a supervised baseline for ``--backend trained``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from emocause.cli import options
from emocause.errors import UsageError

KIND_HELP = ("tfidf-svm (ESEM-E: word 1-2-gram TF-IDF + linear SVM) or embedding-logreg "
             "(sentence embeddings + logistic regression).")


def _train(labeled: Path, model_out: Path, kind: str, text_col: str | None, seed: int,
           embedding_model: str | None, device: str | None, batch_size: int | None, cv: int) -> None:
    from emocause import config
    from emocause.backends import baselines
    from emocause import tables
    from emocause.backends.encoders import DEFAULT_EMBEDDING_MODEL, embed, load_model
    from emocause.files import check_writable, file_sha256
    from emocause.manifest import now, write_manifest
    from emocause.progress import bar, info, summary
    from emocause.emotions.taxonomy import BASIC

    started, t0 = now(), time.perf_counter()
    baselines.check_kind(kind)
    check_writable(model_out, "--model-out", directory=True)  # before any work
    baselines.check_output_dir(model_out)
    df = tables.read_table(labeled)
    where = str(labeled)
    tcol = tables.pick_column(df, text_col, tables.TEXT_COLUMNS, "text", where)
    labels = baselines.parse_labels(df, where)
    texts = [tables.as_text(v).strip() for v in df[tcol].tolist()]
    keep = [i for i, t in enumerate(texts) if t]
    if not keep:
        raise UsageError(f"{where}: column {tcol!r} has no text to train on")
    texts = [texts[i] for i in keep]
    labels = labels[keep]

    features = None
    emb_name = None
    if kind == "embedding-logreg":
        emb_name = config.resolve("embedding_model", embedding_model) or DEFAULT_EMBEDDING_MODEL
        from emocause.backends.encoders import check_device, quiet_transformers

        quiet_transformers()
        st = load_model(emb_name, check_device(config.resolve("device", device)))
        features = baselines.embedding_features(
            texts, lambda ts: embed(ts, st, batch_size=config.resolve("batch_size", batch_size, 64),
                                    description="embed"))
    with bar(f"train {kind}", len(BASIC)) as progress:
        model = baselines.fit(texts, labels, kind, seed=seed, embedding_model=emb_name,
                              features=features, on_emotion=lambda _e: progress.advance(1))
    cv_f1 = None
    if cv:
        with bar(f"{cv}-fold cross-validation", None):
            cv_f1 = baselines.cross_validate(texts, labels, kind, cv, seed, features)
    from emocause import __version__

    baselines.save(model, model_out, extra={
        "input": str(labeled), "input_sha256": file_sha256(labeled), "text_col": tcol,
        "created": now(), "emocause_version": __version__,
        **({"cv_f1": cv_f1, "cv_folds": cv} if cv_f1 else {})})
    write_manifest(model_out, "train", kind=kind, embedding_model=emb_name,
                   parameters={"seed": seed, "text_col": tcol, "cv": cv, **model.meta["params"]},
                   input={"path": str(labeled), "sha256": file_sha256(labeled), "rows": len(df)},
                   started=started, finished=now(),
                   counts={"rows": len(df), "trained on": len(texts),
                           "skipped (empty)": len(df) - len(texts),
                           "positives": model.meta["positives"]})
    rows: dict[str, object] = {"rows": len(df), "skipped (empty)": len(df) - len(texts),
                               "features": model.meta["n_features"]}
    for emotion, n in model.meta["positives"].items():
        rows[f"{emotion} (positives)"] = n if not cv_f1 else f"{n}  CV F1 {cv_f1[emotion]:.3f}"
    if cv_f1:
        rows["CV macro-F1"] = f"{sum(cv_f1.values()) / len(cv_f1):.3f}"
    rows["seconds"] = time.perf_counter() - t0
    summary(f"train {kind} -> {model_out}", rows)
    info(f"use it: emocause classify COMMENTS --out OUT --backend trained --model {model_out}")


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        labeled: Annotated[Path, typer.Argument(
            help="Labelled comments (CSV, JSONL or Parquet) with a text column and 0/1 columns "
                 "Anger, Love, Fear, Joy, Sadness, Surprise.", show_default=False)],
        model_out: Annotated[Path, typer.Option(
            "--model-out", "-o", help="Directory to write the model to (created; plain JSON and "
            ".npy files, no pickle).", show_default=False)],
        kind: Annotated[str, typer.Option("--kind", "-k", help=KIND_HELP)] = "tfidf-svm",
        text_col: options.TextCol = None,
        seed: Annotated[int, typer.Option("--seed", help="Random seed of the classifiers and folds.")] = 0,
        embedding_model: options.EmbeddingModel = None,
        device: options.Device = None,
        batch_size: Annotated[Optional[int], typer.Option(
            "--batch-size", min=1, help="embedding-logreg: texts per embedding batch. Default: 64 "
            "(or the config's batch_size).", show_default=False)] = None,
        cv: Annotated[int, typer.Option("--cv", min=0, max=20,
                                        help="Also report K-fold cross-validated F1 (0 = off).")] = 0,
        encoding: options.Encoding = None, sep: options.Sep = None, bad_lines: options.BadLines = "error",
    ) -> None:
        """Train one binary classifier per basic emotion, for `--backend trained --model DIR`.

        This is the paper's supervised comparison.  tfidf-svm follows ESEM-E.
        embedding-logreg uses all-MiniLM-L6-v2 embeddings (or --embedding-model).
        Hyper-parameters are fixed; they were chosen by cross-validation on the
        paper's GitHub training split.  The model directory gets model.json,
        .npy weights and manifest.json.
        """
        if cv == 1:
            raise UsageError("--cv needs at least 2 folds (or 0 to skip cross-validation)")
        with options.reading_tables(encoding, sep, bad_lines):
            _train(labeled, model_out, kind, text_col, seed, embedding_model, device, batch_size, cv)
