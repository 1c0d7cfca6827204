"""``--engine ray``: the same job spread over a Ray cluster (or a Ray instance started here).

The driver reads the input with emocause's own readers (the same strict checks and column
types as a local run) and puts each chunk, a *shard*, in Ray's object store.  A Ray Data
pipeline maps over the shards with a pool of actors (``map_batches``): each actor creates its
backend once (a local model is loaded once per actor, on its own GPU or CPU slot; the
``openai`` backend keeps its share of ``--concurrency`` requests in flight over every
``--base-url``), annotates a shard exactly as a local run annotates a chunk, and returns the
shard's rows rendered as an output part.  The driver writes the parts as they arrive and,
at the end, joins them in input order into the one output file (the same bytes as a local
run) or, when the output is a folder, keeps them as Parquet parts beside a manifest.

Without ``--address`` Ray starts on this machine; with one (``ray://host:10001`` or
``auto``) the same code runs on the cluster.  Answers go to the response cache at
``--cache`` as each actor gets them, so a rerun sends only what is missing; on a cluster,
give a cache path that every node can write (docs/scale.md).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from emocause.annotate.cache import Cache, default_path
from emocause.annotate.runner import RunStats
from emocause.backends import BackendOptions, create
from emocause.errors import UsageError
from emocause.extras import require
from emocause.emotions.taxonomy import MAPPINGS, EmotionMapping
from emocause.files import check_writable
from emocause.progress import bar, info
from emocause.tables import is_stdio, parquet_parts, table_format, text_part, write_part, write_parts
from emocause.urls import redact_url

if TYPE_CHECKING:
    from emocause.annotate.jobs import _Job, _Tally

#: Backends that run a model on this machine: one actor per GPU (or CPU slot).
LOCAL_BACKENDS = ("hf", "embedding", "trained")


def is_folder_output(out: str | Path) -> bool:
    """An output without a table extension (or ending in ``/``) is a folder of Parquet parts."""
    text = str(out)
    return text.endswith(("/", os.sep)) or Path(text).is_dir() or not Path(text).suffix


def check_output(out: str | Path) -> None:
    """The output is a table file (any format) or a folder for Parquet parts; ``-`` is refused."""
    if is_stdio(out):
        raise UsageError("--engine ray writes a file or a folder of parts, not stdout; give --out PATH")
    if is_folder_output(out):
        check_writable(out, "--out", directory=True)
    else:
        table_format(out)
        check_writable(out, "--out")


class ShardWorker:
    """One Ray actor: a backend created once, annotating the shards it is given."""

    def __init__(self, job: Any, backend: BackendOptions, cache: str | None, shards: list[Any],
                 mode: str, fmt: str) -> None:
        os.environ.setdefault("EMOCAUSE_PROGRESS", "0")
        self.job, self.mode, self.fmt, self.shards = job, mode, fmt, shards
        self.model = create(backend.backend or "", **backend.kwargs())
        self.cache = Cache(cache) if cache else None
        from emocause.annotate.jobs import open_gate

        self.gate = open_gate(job.options, backend.device)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        import ray

        from emocause.annotate.jobs import _annotate, _Tally

        out = []
        for index, first in zip(batch["shard"], batch["first"]):
            df = ray.get(self.shards[int(index)])
            stats = RunStats()
            tally = _Tally(self.job.options.task == "causes")
            annotated = _annotate(self.job, df, self.model, self.cache, stats, gate=self.gate)
            tally.add(annotated)
            out.append({"shard": int(index), "first": int(first), "rows": len(annotated),
                        "part": render_part(annotated, self.mode, self.fmt, first=int(first) == 0),
                        "stats": json.dumps(stats.as_dict()), "tally": json.dumps(tally.counts())})
        return pd.DataFrame(out)


def render_part(df: pd.DataFrame, mode: str, fmt: str, first: bool) -> bytes:
    """A shard's rows as the bytes of one output part (text, or an Arrow IPC file)."""
    if mode == "text":
        return text_part(df, fmt, first).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="emocause-part-") as tmp:
        path = Path(tmp) / "part.arrow"
        write_part(df, path)
        return path.read_bytes()


def _actors(backend: BackendOptions, requested: int | None, shards: int) -> tuple[int, dict[str, Any]]:
    """How many actors, and the resources each takes (a GPU each for local models when there are GPUs)."""
    import ray

    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    if backend.backend in LOCAL_BACKENDS and gpus:
        n, each = requested or gpus, {"num_gpus": 1}
    elif backend.backend in LOCAL_BACKENDS:
        n, each = requested or cpus, {"num_cpus": 1}
    else:
        urls = backend.base_url if isinstance(backend.base_url, list) else [backend.base_url]
        n, each = requested or min(cpus, max(1, len([u for u in urls if u]))), {"num_cpus": 1}
    return max(1, min(n, shards)), each


def _merge(stats: RunStats, shard: dict[str, Any]) -> None:
    for key, value in shard.items():
        if key == "errors":
            for reason, count in value.items():
                stats.errors[reason] = stats.errors.get(reason, 0) + count
        elif key != "seconds":
            setattr(stats, key, getattr(stats, key) + value)


def run_on_ray(job: _Job, out: str | Path, stats: RunStats, tally: _Tally) -> tuple[Path, dict[str, Any]]:
    """Annotate ``job``'s input on Ray; returns the written output and the engine's manifest entry."""
    require("ray", "--engine ray")
    opts = job.options
    if not isinstance(job.backend, BackendOptions):
        raise UsageError("--engine ray creates the backend in each actor: give a backend name or "
                         "BackendOptions, not a ready Backend")
    if job.backend.batch:
        raise UsageError("--batch sends one Batch API job from this machine; drop --engine ray")
    import ray

    started = time.perf_counter()
    address = opts.address or os.environ.get("RAY_ADDRESS") or None
    for name in ("ray", "ray.data", "ray.data._internal.execution.streaming_executor"):
        logging.getLogger(name).setLevel(logging.WARNING)  # Ray's own INFO lines would bury the summary
    owned = not ray.is_initialized()
    if owned:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 ignore_reinit_error=True)
    try:
        return _run(job, out, stats, tally, address, started)
    finally:
        if owned:
            ray.shutdown()


def _run(job: _Job, out: str | Path, stats: RunStats, tally: _Tally, address: str | None,
         started: float) -> tuple[Path, dict[str, Any]]:
    import ray
    import ray.data

    opts = job.options
    folder = is_folder_output(out)
    fmt = "parquet" if folder else table_format(out)
    mode = "arrow" if fmt == "parquet" else "text"
    shards: list[Any] = []
    firsts: list[int] = []
    first = 0
    for chunk in job.chunks():  # the driver reads; each chunk goes to the object store once
        shards.append(ray.put(chunk))
        firsts.append(first)
        first += len(chunk)
    backend = job.backend
    assert isinstance(backend, BackendOptions)
    actors, each = _actors(backend, opts.actors, len(shards))
    if backend.backend == "openai" and backend.concurrency:
        backend = dataclasses.replace(backend, concurrency=max(1, math.ceil(backend.concurrency / actors)))
    cache = None if opts.no_cache else str(opts.cache or default_path())
    mapping = opts.mapping
    if isinstance(mapping, EmotionMapping) and mapping.name in MAPPINGS:
        mapping = mapping.name  # by name: each actor looks it up
    light = dataclasses.replace(job, df=None, stream=None, options=dataclasses.replace(opts, mapping=mapping))
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.execution_options.preserve_order = False
    ctx.execution_options.verbose_progress = False
    items = [{"shard": i, "first": f} for i, f in enumerate(firsts)]
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        ShardWorker, fn_constructor_kwargs={"job": light, "backend": backend, "cache": cache,
                                            "shards": shards, "mode": mode, "fmt": fmt},
        batch_size=1, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=actors), **each)
    info(f"--engine ray: {len(shards):,} shard(s) over {actors} actor(s)"
         + (f" at {redact_url(address)}" if address else " (a Ray instance on this machine)"))
    with tempfile.TemporaryDirectory(prefix="emocause-ray-") as tmp:
        parts: dict[int, Path] = {}
        with bar(f"{opts.task} on ray ({backend.backend}:{backend.model or 'default'})", job.rows) as progress:
            for row in dataset.iter_rows():
                path = Path(tmp) / f"part-{int(row['first']):012d}"
                path.write_bytes(row["part"])
                parts[int(row["first"])] = path
                _merge(stats, json.loads(row["stats"]))
                tally.merge(json.loads(row["tally"]))
                progress.advance(int(row["rows"]))
        ordered = [parts[f] for f in sorted(parts)]
        written = _write_parts(ordered, out, folder)
    stats.seconds += time.perf_counter() - started
    engine = {"engine": "ray", "address": redact_url(address) if address else None, "actors": actors,
              "shards": len(shards), "resources_per_actor": each}
    if folder:
        engine["parts"] = [p.name for p in sorted(Path(out).glob("part-*.parquet"))]
    return written, engine


def _write_parts(parts: list[Path], out: str | Path, folder: bool) -> Path:
    """The parts, in input order, as one table file (atomically), or as a folder of Parquet parts."""
    if folder:
        parquet_parts(parts, out)
        return Path(out)
    return write_parts(parts, out)
