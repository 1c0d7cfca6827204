"""``build_report``: the case-study report as a library call (the ``emocause report`` command
is a thin adapter over it).

Two ways in, sharing everything after the causes are known:

* comments (``emocause scrape`` output, or any comment table): filter by author
  role and time window first (so no prompt is spent on comments that would be
  dropped), ask each comment whether it shows the emotion, extract the cause
  from those that do (through :mod:`emocause.annotate.frames`, so every backend
  and the shared response cache work), then cluster;
* ``from_causes``: a table that already has causes (the paper's
  ``filtered_contributors.csv``, or ``emocause causes`` output).

Then: embed the causes (cached by model and text), group them into themes
(:func:`emocause.report.clustering.group`), name the themes (a language model
when one is configured, else the most representative phrase), and build the
:class:`~emocause.report.model.Report`.  Files are written only when ``out`` is
given, whole or not at all.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emocause.annotate.runner import DEFAULT_MAX_CHARS
from emocause.errors import UsageError
from emocause.report import clustering as cl
from emocause.report import inputs
from emocause.report.model import Report
from emocause.tables import as_text

LABEL_MODES = ("auto", "model", "offline")


@dataclass
class ReportOptions:
    """Everything ``emocause report`` can be told (the defaults are the command's)."""

    emotion: str = "Frustration"
    roles: str | list[str] | None = None  # None: the paper's roles; "all": everyone
    since: str | None = None
    until: str | None = None
    from_causes: bool = False
    text_col: str | None = None
    cause_col: str | None = None
    date_col: str | None = None
    role_col: str | None = None
    url_col: str | None = None
    emotion_col: str | None = None
    repo: str | None = None
    title: str | None = None
    # Grouping (see emocause.report.clustering).
    method: str = "themes"  # "themes" | "paper"
    algorithm: str | None = None  # themes: agglomerative (default), dbscan or hdbscan
    eps: float = cl.DEFAULT_EPS
    min_samples: int = cl.DEFAULT_MIN_SAMPLES
    min_cluster_size: int | None = None  # None: 8 (paper), or one in 500 causes (themes)
    threshold: float = cl.DEFAULT_THRESHOLD
    min_similarity: float = cl.DEFAULT_MIN_SIMILARITY
    # Embeddings.
    embedding_model: str | None = None
    device: str | None = None
    embedding_cache: str | Path | None = None  # None: embeddings.sqlite beside the response cache
    # Labels: "auto" asks the backend when it writes text (openai, hf), else offline phrases.
    labels: str = "auto"
    # The model that detects, extracts and names (constructor options of emocause.backends.create).
    backend: str | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)
    platform: str | None = None
    cache: str | Path | None = None
    no_cache: bool = False
    limit: int | None = None
    max_chars: int = DEFAULT_MAX_CHARS
    csv_raw: bool = False  # keep CSV cells exactly as written (no formula neutralising)


@dataclass
class ReportResult:
    """What :func:`build_report` made: the report, the run's counts and the manifest fields."""

    report: Report
    counts: dict[str, Any]
    manifest: dict[str, Any]
    annotations: pd.DataFrame | None = None  # every analysed comment (comments input only)
    paths: dict[str, Path] = field(default_factory=dict)  # written files (with ``out``)
    runs: dict[str, Any] = field(default_factory=dict)  # RunStats per model step


# ----------------------------------------------------------------------------- the model steps

def prompts_for(emotion: str) -> tuple[str, str]:
    """(detection prompt, cause prompt) for an emotion: the dedicated pair for Frustration."""
    if emotion.strip().lower() == "frustration":
        return "frustration-detect", "frustration-cause"
    return "all-levels", "cause"


def matches(label: object, basic: object, emotion: str) -> bool:
    """Whether a classify answer (label and its basic emotion) is the emotion asked about."""
    target = emotion.strip().lower()
    return as_text(label).strip().lower() == target or as_text(basic).strip().lower() == target


def platform_of(source: object) -> str:
    """The prompt platform of a record's ``source`` (``mbox`` -> ``mail``); GitHub when unknown."""
    from emocause.annotate.prompts import PLATFORMS, platform_names

    shown = platform_names(as_text(source).strip())
    return next((key for key, names in PLATFORMS.items() if names == shown), "github")


def _platforms(df: pd.DataFrame, platform: str | None) -> pd.Series:
    if platform:
        return pd.Series(platform, index=df.index)
    if "source" in df.columns:
        return df["source"].map(platform_of)
    return pd.Series("github", index=df.index)


def _response_cache(opts: ReportOptions) -> Any:
    if opts.no_cache:
        return None
    from emocause import config
    from emocause.annotate.cache import Cache, default_path

    return Cache(opts.cache or config.resolve("cache") or default_path())


def _backend_class(name: str) -> Any:
    from emocause.backends import BACKENDS

    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def _detect_and_extract(df: pd.DataFrame, cols: inputs.Columns, opts: ReportOptions,
                        model: Any, store: Any) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Detection then cause extraction; (every analysed comment, those showing the emotion, info)."""
    from emocause.annotate import frames, prompts
    from emocause.annotate.runner import RunStats

    detect_name, cause_name = prompts_for(opts.emotion)
    detect, extract = prompts.load(detect_name), prompts.load(cause_name)
    detect_stats, cause_stats = RunStats(), RunStats()
    plats = _platforms(df, opts.platform)
    parts = [frames.classify_frame(df[plats == p], cols.text, detect, model, store, p,
                                   opts.max_chars, detect_stats) for p in plats.unique()]
    labelled = pd.concat(parts).loc[df.index] if parts else df.copy()
    labelled["shows_emotion"] = [matches(lab, bas, opts.emotion) for lab, bas in
                                 zip(labelled["emotion_label"], labelled["emotion"])]
    chosen = labelled[labelled["shows_emotion"]]
    chosen_plats = plats.loc[chosen.index]
    cparts = [frames.causes_frame(chosen[chosen_plats == p], cols.text,
                                  [opts.emotion] * int((chosen_plats == p).sum()), extract, model,
                                  store, p, opts.max_chars, cause_stats)
              for p in chosen_plats.unique()]
    with_causes = pd.concat(cparts).loc[chosen.index] if cparts else chosen.copy()
    cause_cols = [c for c in with_causes.columns if c.startswith("cause")]
    annotated = labelled.join(with_causes[cause_cols]) if cause_cols else labelled
    info = {"prompts": {"detect": {"name": detect.name, "sha256": detect.sha256},
                        "cause": {"name": extract.name, "sha256": extract.sha256}},
            "detect": detect_stats, "causes": cause_stats}
    return annotated, with_causes, info


def dropped_text(counts: dict[str, Any], roles: tuple[str, ...] | None) -> str:
    """What the filters removed, for the one-line errors (``120 rows, 3 by bots, ...``)."""
    parts = [f"{counts['rows']} rows"]
    if counts.get("bots"):
        parts.append(f"{counts['bots']} by bots")
    if counts.get("other_roles"):
        parts.append(f"{counts['other_roles']} by roles other than {','.join(roles or ())}")
    if counts.get("outside_window"):
        parts.append(f"{counts['outside_window']} outside --since/--until")
    if counts.get("undated"):
        parts.append(f"{counts['undated']} undated")
    return ", ".join(parts)


def project_name(df: pd.DataFrame, cols: inputs.Columns) -> str | None:
    """The most common value of the project column, if any."""
    if cols.project is None or cols.project not in df.columns:
        return None
    values = df[cols.project].map(as_text).str.strip()
    values = values[values != ""]
    return str(values.mode().iloc[0]) if not values.empty else None


# ----------------------------------------------------------------------------- labels

def _labels(texts: list[str], X: np.ndarray, grouping: cl.Grouping, embed: Any, mode: str,
            model: Any, store: Any, emotion: str, platform: str,
            ) -> tuple[dict[int, str], dict[tuple[int, int], str], dict[int, list[str]],
                       dict[str, Any]]:
    """(theme labels, sub-theme labels, key phrases per theme, what the manifest says)."""
    from emocause.report import labels as lab
    from emocause.report.themes import centre_examples, ctfidf_keywords

    ids = grouping.ids
    themes = sorted(int(t) for t in np.unique(ids[ids >= 1]))
    central = {t: centre_examples(X, np.flatnonzero(ids == t), texts, lab.MODEL_CAUSES)[0]
               for t in themes}
    keywords = {t: [k for k, _ in kws] for t, kws in ctfidf_keywords(texts, ids).items()}
    offline, phrases = lab.phrase_labels(texts, ids, X, embed, central, keywords)
    subs: dict[tuple[int, int], list[int]] = {}
    offline_sub: dict[tuple[int, int], str] = {}
    for t, sub_ids in grouping.subthemes.items():
        members = np.flatnonzero(ids == t)
        sub_texts = [texts[i] for i in members]
        sub_central = {s: centre_examples(X[members], np.flatnonzero(sub_ids == s), sub_texts,
                                          lab.MODEL_CAUSES)[0]
                       for s in sorted(int(x) for x in np.unique(sub_ids[sub_ids >= 1]))}
        named, _ = lab.phrase_labels(sub_texts, sub_ids, X[members], embed, sub_central,
                                     taken=list(offline.values()))
        for s, rows in sub_central.items():
            subs[(t, s)] = [int(members[r]) for r in rows]
            offline_sub[(t, s)] = named[s]
    info: dict[str, Any] = {"method": "offline"}
    if mode != "model" or (not themes):
        return offline, offline_sub, phrases, info
    groups: dict[Any, list[str]] = {t: [texts[i] for i in central[t]] for t in themes}
    groups.update({k: [texts[i] for i in rows] for k, rows in subs.items()})
    written, stats, prompt = lab.model_labels(groups, emotion, model, store, platform)
    order = [*themes, *subs]
    options = {k: [written.get(k, ""), offline.get(k) if isinstance(k, int) else offline_sub[k]]
               for k in order}
    index = {k: i for i, k in enumerate(order)}
    unique = lab.unique_labels([index[k] for k in order], {index[k]: options[k] for k in order})
    info = {"method": "model", "prompt": {"name": prompt.name, "sha256": prompt.sha256},
            "run": stats.as_dict(), "written": sum(1 for v in written.values() if v)}
    return ({t: unique[index[t]] for t in themes},
            {k: unique[index[k]] for k in subs}, phrases, info)


# ----------------------------------------------------------------------------- the whole report

def _check(opts: ReportOptions) -> tuple[tuple[str, ...] | None, Any, Any, str | None]:
    """Every option problem as one line before any work: (roles, since, until, repo)."""
    if opts.method not in cl.METHODS:
        raise UsageError(f"--method must be one of {', '.join(cl.METHODS)}, got {opts.method!r}")
    algorithm = (opts.algorithm or "").lower()
    if algorithm and algorithm not in cl.ALGORITHMS:
        raise UsageError(f"--algorithm must be one of {', '.join(cl.ALGORITHMS)}, got "
                         f"{opts.algorithm!r}")
    if opts.method == "paper" and algorithm not in ("", "dbscan"):
        raise UsageError(f"--method paper is the paper's DBSCAN; use --method themes with "
                         f"--algorithm {algorithm}")
    if not 0.0 < opts.eps < 2.0:
        raise UsageError(f"--eps is a cosine distance between 0 and 2, got {opts.eps}")
    if not 0.0 < opts.threshold < 2.0:
        raise UsageError(f"--threshold is a cosine distance between 0 and 2, got {opts.threshold}")
    if not -1.0 <= opts.min_similarity <= 1.0:
        raise UsageError(f"--min-similarity is a cosine similarity between -1 and 1, got "
                         f"{opts.min_similarity}")
    if (opts.min_cluster_size is not None and opts.min_cluster_size < 2) or opts.min_samples < 1:
        raise UsageError("--min-cluster-size must be at least 2 and --min-samples at least 1")
    if opts.labels not in LABEL_MODES:
        raise UsageError(f"--labels must be one of {', '.join(LABEL_MODES)}, got {opts.labels!r}")
    if opts.emotion_col and not opts.from_causes:
        raise UsageError("--emotion-col filters a --from-causes table; scraped records are "
                         "classified with the detection prompt instead")
    repo = None
    if opts.repo:
        from emocause.sources.records import parse_repo

        repo = parse_repo(opts.repo, "--repo")
    roles = inputs.parse_roles(opts.roles)
    since = inputs.parse_when(opts.since, "--since")
    until = inputs.parse_when(opts.until, "--until", end=True)
    if since is not None and until is not None and since > until:
        raise UsageError(f"--since {opts.since} is after --until {opts.until}")
    return roles, since, until, repo


def build_report(data: str | Path | pd.DataFrame, out: str | Path | None = None,
                 options: ReportOptions | None = None, **kwargs: Any) -> ReportResult:
    """Build the case-study report from a comment or cause table (a path or a DataFrame).

    ``options`` (or the same fields as keyword arguments) say what to keep, how
    to group and how to name; see :class:`ReportOptions`.  Every user-fixable
    problem raises :class:`~emocause.errors.UsageError` before any model is
    asked.  With ``out``, the report's files are written there (whole or not at
    all) and listed in ``result.paths``.
    """
    from emocause import config
    from emocause.backends.encoders import DEFAULT_EMBEDDING_MODEL, check_device
    from emocause.files import check_writable, file_sha256
    from emocause.manifest import now
    from emocause.report import embeddings, model as report_model, render
    from emocause.tables import read_table, require_columns

    opts = options or ReportOptions()
    if kwargs:
        unknown = sorted(set(kwargs) - set(ReportOptions.__dataclass_fields__))
        if unknown:
            raise TypeError(f"build_report() got unknown options: {', '.join(unknown)}")
        opts = ReportOptions(**{**asdict(opts), **kwargs})
    started = now()
    role_set, t_since, t_until, repo = _check(opts)
    if out is not None:
        check_writable(out, "--out", directory=True)
    device = config.resolve("device", opts.device)
    if device:
        check_device(device)

    if isinstance(data, pd.DataFrame):
        df, where, input_info = data, "the input table", {"rows": len(data)}
    else:
        df, where = read_table(data), str(data)
        input_info = {"path": str(data), "sha256": file_sha256(data), "rows": len(df)}
    if df.empty:
        raise UsageError(f"{where}: the table has no rows")
    cols = inputs.resolve_columns(df, where, opts.text_col, opts.cause_col, opts.date_col,
                                  opts.role_col, opts.url_col, need_cause=opts.from_causes)
    if opts.emotion_col:
        require_columns(df, [opts.emotion_col], where)
    filtered, counts = inputs.filter_rows(df, cols, role_set, opts.roles is not None, t_since,
                                          t_until, where)
    if opts.limit:
        filtered = filtered.head(opts.limit)
    what = dropped_text(counts, role_set)
    if filtered.empty:
        raise UsageError(f"{where}: no rows left after filtering ({what})")

    backend_name = config.default_backend(opts.backend)
    writes_text = bool(getattr(_backend_class(backend_name), "uses_prompt", False))
    label_mode = ("model" if writes_text else "offline") if opts.labels == "auto" else opts.labels
    if label_mode == "model" and not writes_text:
        raise UsageError(f"--labels model needs a backend that writes text (openai or hf); "
                         f"{backend_name} does not")
    need_model = not opts.from_causes or label_mode == "model"
    llm = store = None
    runs: dict[str, Any] = {}
    annotations = None
    totals = months = None
    info: dict[str, Any] = {}
    emb_cache = None
    try:
        if need_model:
            from emocause import backends

            store = _response_cache(opts)
            llm = backends.create(backend_name, **opts.backend_options)
        if opts.from_causes:
            if opts.emotion_col:
                from emocause.emotions.taxonomy import to_basic

                keep = [matches(v, to_basic(as_text(v)), opts.emotion)
                        for v in filtered[opts.emotion_col]]
                counts["other_emotions"] = len(keep) - sum(keep)
                filtered = filtered[keep]
            counts["comments"] = len(filtered)
            cause_values = filtered[cols.cause].tolist()
            source = filtered
        else:
            annotations, source, info = _detect_and_extract(filtered, cols, opts, llm, store)
            runs = {"detect": info.pop("detect"), "causes": info.pop("causes")}
            counts["comments"] = len(filtered)
            counts["emotion_comments"] = len(source)
            cause_values = source["cause"].tolist() if "cause" in source.columns else []
            if cols.date:
                totals = inputs.month_counts(inputs.parse_dates(filtered[cols.date]))
        if cols.date:
            months = inputs.month_counts(inputs.parse_dates(source[cols.date]))
        frame = inputs.cause_frame(source, cols, cause_values, repo)
        empty = frame["cause"] == ""
        counts["empty_causes"] = int(empty.sum())
        frame = frame[~empty].reset_index(drop=True)
        if runs:
            what += f", {counts['emotion_comments']} showing {opts.emotion.lower()}"
            failed = runs["detect"].failed + runs["causes"].failed
            if failed:
                what += f", {failed} model requests failed (rerun to retry them)"
        if counts["empty_causes"]:
            what += f"; {counts['empty_causes']} without a cause"
        min_size = opts.min_cluster_size or cl.auto_min_cluster_size(len(frame), opts.method)
        inputs.check_enough(len(frame), opts.min_samples, min_size, what)

        emb_name = config.resolve("embedding_model", opts.embedding_model)
        if not opts.no_cache:
            emb_cache = embeddings.EmbeddingCache(opts.embedding_cache or
                                                  embeddings.default_path(opts.cache))
        embed = embeddings.Embedder(emb_name, device, emb_cache)
        texts = frame["cause"].tolist()
        X = embed(texts, description="embed causes")
        grouping = cl.group(X, opts.method, opts.algorithm, opts.eps, opts.min_samples,
                            min_size, opts.threshold,
                            opts.min_similarity if opts.method == "themes" else None,
                            description="cluster")
        theme_labels, sub_labels, phrases, label_info = _labels(
            texts, X, grouping, embed, label_mode, llm, store, opts.emotion,
            opts.platform or "github")
    finally:
        if llm is not None:
            llm.close()
        if store is not None:
            store.close()
        if emb_cache is not None:
            emb_cache.close()

    emb_shown = emb_name or DEFAULT_EMBEDDING_MODEL
    algorithm = grouping.clustering.algorithm
    parameters: dict[str, Any] = {
        "input": input_info.get("path", "a DataFrame"), "from_causes": opts.from_causes,
        "emotion": opts.emotion,
        "roles": list(role_set) if role_set and not counts.get("roles_note") else None,
        "since": None if t_since is None else t_since.isoformat(),
        "until": None if t_until is None else t_until.isoformat(),
        "method": opts.method, "algorithm": algorithm,
        **({"eps": opts.eps} if algorithm == "dbscan" else {}),
        **({"threshold": opts.threshold} if algorithm == "agglomerative" else {}),
        **({"min_samples": opts.min_samples} if algorithm != "agglomerative" else {}),
        "min_cluster_size": min_size,
        **({"min_similarity": opts.min_similarity} if opts.method == "themes" else {}),
        "embedding_model": emb_shown, "labels": label_info["method"], "limit": opts.limit,
        "repo": repo, "csv_raw": opts.csv_raw,
        "columns": {k: v for k, v in cols.as_dict().items() if v},
    }
    if runs:
        parameters.update({"backend": f"{llm.describe()['backend']}:{llm.describe()['model']}",
                           "detect_prompt": info["prompts"]["detect"]["name"],
                           "cause_prompt": info["prompts"]["cause"]["name"],
                           "platform": opts.platform or "from the source column",
                           "max_chars": opts.max_chars})
    doc_title = opts.title or repo or project_name(source, cols) or (
        Path(str(data)).stem if not isinstance(data, pd.DataFrame) else "the input table")
    report = report_model.build(frame, X, grouping, doc_title, opts.emotion, counts, parameters,
                                labels=theme_labels, sub_labels=sub_labels, phrases=phrases,
                                totals=totals,
                                months=months)
    if label_info.get("run"):
        runs["labels"] = label_info["run"]
    manifest: dict[str, Any] = {
        "parameters": parameters,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
        "clustering": {"algorithm": algorithm, **grouping.clustering.params, **grouping.params,
                       "seconds": grouping.clustering.seconds,
                       "unique_vectors": grouping.clustering.n_unique},
        "embedding": {"model": emb_shown, "identity": embed.identity,
                      "dimension": int(X.shape[1]), "distinct_causes": len(set(texts)),
                      "cache": None if emb_cache is None else str(emb_cache.path),
                      **embed.counts},
        "labels": label_info,
        "input": input_info, "counts": report.counts, "started": started,
    }
    if llm is not None:
        manifest.update({"backend": llm.describe(),
                         "cache": None if store is None else str(store.path)})
    if "prompts" in info:
        manifest["prompts"] = info["prompts"]
        manifest["runs"] = {k: (v.as_dict() if hasattr(v, "as_dict") else v)
                            for k, v in runs.items()}
    paths: dict[str, Path] = {}
    if out is not None:
        manifest["finished"] = now()
        paths = render.write_report(report, out, annotations, manifest, csv_raw=opts.csv_raw)
    return ReportResult(report=report, counts=report.counts, manifest=manifest,
                        annotations=annotations, paths=paths, runs=runs)
