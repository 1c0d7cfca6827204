"""``emocause train``: fit a supervised model for ``--backend trained`` or ``--backend finetuned``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from emocause.cli import options
from emocause.errors import UsageError

if TYPE_CHECKING:
    from emocause.backends.finetune import Recipe

KINDS = ("tfidf-svm", "embedding-logreg", "finetune")
KIND_HELP = ("tfidf-svm (ESEM-E: word 1-2-gram TF-IDF + linear SVM), embedding-logreg "
             "(sentence embeddings + logistic regression), or finetune (a sentence encoder "
             "fine-tuned with LoRA adapters, one sigmoid per emotion; for --backend finetuned).")


def _train_linear(labeled: Path, model_out: Path, kind: str, text_col: str | None, seed: int,
                  embedding_model: str | None, device: str | None, batch_size: int | None, cv: int) -> None:
    from emocause import __version__, config, tables
    from emocause.backends import baselines
    from emocause.backends.encoders import (DEFAULT_EMBEDDING_MODEL, check_device, embed, load_model,
                                            quiet_transformers)
    from emocause.emotions.taxonomy import BASIC
    from emocause.files import check_writable, file_sha256
    from emocause.manifest import now, write_manifest
    from emocause.progress import bar, info, summary

    started, t0 = now(), time.perf_counter()
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

    baselines.save(model, model_out, extra={
        "input": labeled.name, "input_sha256": file_sha256(labeled), "text_col": tcol,
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


def _train_finetune(labeled: list[Path], model_out: Path, text_col: str | None,
                    recipe: Recipe, device: str | None, folds_out: Path | None) -> None:
    from emocause import config
    from emocause.backends import baselines
    from emocause.backends.finetune_train import read_labeled, train
    from emocause.files import check_writable
    from emocause.manifest import now, write_manifest
    from emocause.progress import bar, info, summary

    started = now()
    check_writable(model_out, "--model-out", directory=True)  # before any work
    baselines.check_output_dir(model_out)
    if folds_out is not None:
        check_writable(folds_out, "--folds-out", directory=True)
    tables = [read_labeled(path, text_col) for path in labeled]
    fits = recipe.folds + 1
    with bar(f"fine-tune: {recipe.folds} folds, then the final fit", None) as progress:
        def advance(what: str, done: int, total: int) -> None:
            progress.update(description=f"fine-tune ({what}, {fits} fits)", total=total, completed=done)

        result = train(tables, model_out, recipe, config.resolve("device", device), folds_out, advance)
    write_manifest(model_out, "train", kind="finetune", base_model=recipe.base,
                   parameters=recipe.as_dict(),
                   input=[{"path": str(t.path), "sha256": t.sha256, "rows": t.rows} for t in tables],
                   started=started, finished=now(), counts=result.counts,
                   thresholds=result.thresholds, cv=result.cv)
    rows: dict[str, object] = {"rows": result.counts["rows"],
                               "skipped (empty)": result.counts["skipped (empty)"],
                               f"truncated to {recipe.max_length} tokens": result.counts["truncated"]}
    for emotion, threshold in result.thresholds.items():
        n = result.counts["positives"][emotion]
        cv_f1 = f"  CV F1 {result.cv['f1'][emotion]:.3f}" if result.cv else ""
        rows[f"{emotion} (positives)"] = f"{n}  threshold {threshold:.2f}{cv_f1}"
    if result.cv:
        rows["CV macro-F1"] = f"{result.cv['macro_f1']:.3f}"
        rows["Neutral share (CV: gold / predicted)"] = (f"{result.cv['neutral_share_gold']:.3f} / "
                                                       f"{result.cv['neutral_share_predicted']:.3f}")
    else:
        rows["thresholds"] = "0.5 (no cross-validation: --cv 0)"
    rows["seconds"] = result.seconds
    summary(f"train finetune -> {model_out}", rows)
    info(f"use it: emocause classify COMMENTS --out OUT --backend finetuned --model {model_out}")


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        labeled: Annotated[list[Path], typer.Argument(
            help="Labelled comments (CSV, JSONL or Parquet) with a text column and 0/1 columns "
                 "Anger, Love, Fear, Joy, Sadness, Surprise.  finetune takes several files "
                 "(trained on together); the other kinds one.", show_default=False)],
        model_out: Annotated[Path, typer.Option(
            "--model-out", "-o", help="Directory to write the model to (created; plain JSON, "
            ".npy and safetensors files, no pickle).", show_default=False)],
        kind: Annotated[str, typer.Option("--kind", "-k", help=KIND_HELP)] = "tfidf-svm",
        text_col: options.TextCol = None,
        seed: Annotated[int, typer.Option("--seed", help="Random seed of the classifiers and folds.")] = 0,
        embedding_model: Annotated[Optional[str], typer.Option(
            "--embedding-model", "--base", help="embedding-logreg: the sentence-transformers model; "
            "finetune: the encoder to fine-tune (path or hub name; default all-MiniLM-L6-v2).",
            show_default=False)] = None,
        device: options.Device = None,
        batch_size: Annotated[Optional[int], typer.Option(
            "--batch-size", min=1, help="embedding-logreg: texts per embedding batch (64); "
            "finetune: comments per training step (16).", show_default=False)] = None,
        cv: Annotated[Optional[int], typer.Option(
            "--cv", min=0, max=20, help="K-fold cross-validation: reported for tfidf-svm and "
            "embedding-logreg (default 0 = off); for finetune it chooses the thresholds "
            "(default 5; 0 = thresholds 0.5).", show_default=False)] = None,
        epochs: Annotated[int, typer.Option("--epochs", min=1, max=100, help="finetune: epochs.")] = 6,
        learning_rate: Annotated[float, typer.Option("--learning-rate", help="finetune: peak AdamW "
                                                     "learning rate.")] = 1e-3,
        lora_r: Annotated[int, typer.Option("--lora-r", min=1, max=1024, help="finetune: LoRA rank "
                                            "(alpha is twice the rank).")] = 16,
        max_length: Annotated[int, typer.Option("--max-length", min=8, max=4096,
                                                help="finetune: tokens read per comment.")] = 128,
        neutral_share: Annotated[float, typer.Option(
            "--neutral-share", help="finetune: share of comments without emotion the thresholds "
            "are chosen for (the cross-validation data is reweighted to it).")] = 0.35,
        threads: Annotated[int, typer.Option("--threads", min=1, max=1024, help="finetune: CPU threads "
                                             "(the result is bit-identical for a given count).")] = 1,
        folds_out: Annotated[Optional[Path], typer.Option(
            "--folds-out", help="finetune: also write each cross-validation fold's model and the "
            "out-of-fold probabilities here.", show_default=False)] = None,
        encoding: options.Encoding = None, sep: options.Sep = None, bad_lines: options.BadLines = "error",
    ) -> None:
        """Train a supervised emotion model on labelled comments.

        tfidf-svm and embedding-logreg (the paper's supervised comparison; one
        binary classifier per basic emotion, fixed hyper-parameters chosen by
        cross-validation on the paper's GitHub training split) are used with
        `--backend trained --model DIR`.  finetune fine-tunes a sentence
        encoder with LoRA (docs/models.md) and is used with
        `--backend finetuned --model DIR`; its thresholds are chosen by
        cross-validation on the given files only.
        """
        if kind not in KINDS:
            raise UsageError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
        if cv == 1:
            raise UsageError("--cv needs at least 2 folds (or 0 to skip cross-validation)")
        if kind != "finetune":
            if len(labeled) != 1:
                raise UsageError(f"--kind {kind} trains on one labelled file; got {len(labeled)}")
            with options.reading_tables(encoding, sep, bad_lines):
                _train_linear(labeled[0], model_out, kind, text_col, seed, embedding_model, device,
                              batch_size, cv or 0)
            return
        from emocause import config
        from emocause.backends.encoders import DEFAULT_EMBEDDING_MODEL
        from emocause.backends.finetune import Recipe

        recipe = Recipe(base=config.resolve("embedding_model", embedding_model) or DEFAULT_EMBEDDING_MODEL,
                        max_length=max_length, epochs=epochs, batch_size=batch_size or 16,
                        learning_rate=learning_rate, lora_r=lora_r, lora_alpha=2 * lora_r,
                        folds=5 if cv is None else cv, neutral_share=neutral_share, seed=seed,
                        threads=threads)
        recipe.check("--kind finetune")
        with options.reading_tables(encoding, sep, bad_lines):
            _train_finetune(labeled, model_out, text_col, recipe, device, folds_out)
