"""RD sweeps: codecs x operating points x files, in parallel processes or on a Dask cluster, cached
per job (resumable).

Each job's result is a JSON file under ``CACHE/<codec>/<point>/<file-key>.json``; a rerun with the
same arguments reads them back and computes nothing. On a Dask cluster the workers write the same
cache files, so the cache (and the data) must be on a filesystem every worker sees; a sweep
interrupted on one executor resumes on the other. Outputs: a tidy per-file CSV and an aggregate
CSV (one row per codec and point; rates are total bits / total seconds).
"""
from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ecc.audio import load_audio

from .codecs import HARNESS_RATE, CodecUnavailable, get_codec
from .metrics import evaluate


@dataclass(frozen=True)
class Job:
    """One codec at one operating point on one file."""

    codec: str
    point: str
    path: str
    metrics: tuple[str, ...]
    cache: str
    version: str = ""  # the codec's version at this point; a cached result of another is recomputed

    @property
    def cache_file(self) -> Path:
        key = hashlib.sha1(os.path.abspath(self.path).encode()).hexdigest()[:16]
        return Path(self.cache) / self.codec / self.point / f"{Path(self.path).stem}-{key}.json"


def _cached(job: Job) -> dict | None:
    if not job.cache_file.is_file():
        return None
    row = json.loads(job.cache_file.read_text())
    if (row.get("source_mtime") != os.path.getmtime(job.path) or row.get("version", "") != job.version
            or not all(m in row for m in job.metrics)):
        return None
    return row


def run_job(job: Job) -> dict:
    """Code and score one file (or read the cached result); never raises for a failing codec/metric."""
    cached = _cached(job)
    if cached is not None:
        return cached
    import torch

    torch.set_num_threads(1)
    audio = load_audio(job.path, HARNESS_RATE).samples
    seconds = len(audio) / HARNESS_RATE
    row = {"codec": job.codec, "point": job.point, "file": job.path, "seconds": seconds,
           "source_mtime": os.path.getmtime(job.path), "version": job.version, "error": ""}
    try:
        coded = get_codec(job.codec).code(audio, job.point)
    except Exception as exc:  # recorded per file: NaN metrics and the reason
        row.update({"payload_bits": math.nan, "file_bits": math.nan, "delay": math.nan,
                    "error": f"{type(exc).__name__}: {exc}", **{m: math.nan for m in job.metrics}})
    else:
        scores = evaluate(audio, coded.audio, HARNESS_RATE, list(job.metrics))
        row.update({"payload_bits": coded.payload_bits, "file_bits": coded.file_bits, "delay": scores.delay,
                    **scores.values, "error": "; ".join(f"{k}: {v}" for k, v in scores.errors.items())})
    job.cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = job.cache_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(row))
    tmp.replace(job.cache_file)
    return row


@dataclass(frozen=True)
class SweepResult:
    per_file: pd.DataFrame
    aggregate: pd.DataFrame
    skipped: dict[str, str]  # codec -> reason it could not run


def plan(files: list[Path], codecs: list[str], metrics: list[str], cache: Path,
         points: dict[str, list[str]] | None = None) -> tuple[list[Job], dict[str, str]]:
    """The jobs to run, and the codecs skipped (unavailable here) with the reason."""
    jobs, skipped = [], {}
    for name in codecs:
        codec = get_codec(name)
        try:
            codec.check()
        except CodecUnavailable as exc:
            skipped[name] = str(exc)
            continue
        chosen = (points or {}).get(name) or list(codec.points)
        for point in chosen:
            if point not in codec.points:
                raise ValueError(f"{name}: unsupported operating point {point!r}; supported: {', '.join(codec.points)}")
            version = codec.version(point)
            jobs += [Job(name, point, str(f), tuple(metrics), str(cache), version) for f in files]
    return jobs, skipped


def aggregate(per_file: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per codec and point (per ``split`` too, when ``per_file`` has that column): kbps from
    summed bits and seconds over all files; each metric's mean over the files where that metric is
    valid for every codec and point (so all curves are scored on the same files; ``<metric>_files``
    says how many)."""
    ok = per_file[per_file["file_bits"].notna()]
    keys = (["split"] if "split" in per_file.columns else []) + ["codec", "point"]
    table = ok.groupby(keys, sort=False).agg(files=("file", "count"), seconds=("seconds", "sum"),
                                             payload_bits=("payload_bits", "sum"), file_bits=("file_bits", "sum"))
    for metric in metrics:
        valid = ok.groupby("file")[metric].apply(lambda s: bool(s.notna().all()))
        common = ok[ok["file"].isin(valid[valid].index)]
        table[metric] = common.groupby(keys, sort=False)[metric].mean()
        if "split" in keys:
            counts = common.groupby("split")["file"].nunique()
            table[f"{metric}_files"] = [int(counts.get(index[0], 0)) for index in table.index]
        else:
            table[f"{metric}_files"] = int(valid.sum())
    table["payload_kbps"] = table["payload_bits"] / table["seconds"] / 1000
    table["file_kbps"] = table["file_bits"] / table["seconds"] / 1000
    return table.reset_index()


def sweep(files: list[Path], codecs: list[str], metrics: list[str], cache: Path, jobs: int = 2,
          points: dict[str, list[str]] | None = None, progress: bool = True,
          scheduler: str | None = None) -> SweepResult:
    """Run (or resume) a sweep and return per-file and aggregate tables.

    ``scheduler``: None runs ``jobs`` local processes; ``"local"`` starts a local Dask cluster of
    ``jobs`` single-threaded workers; any other value is the address of a running Dask scheduler
    (``tcp://host:8786``; e.g. one started through dask-jobqueue on Slurm or PBS)."""
    todo, skipped = plan(files, codecs, metrics, cache, points)
    bar = tqdm(total=len(todo), desc="sweep", unit="job", disable=not progress)
    if scheduler is None:
        rows = []
        # fresh interpreters, not forks: a fork inherits the parent's OpenMP pool, and numba's parallel
        # loops (ViSQOL's gammatone filterbank) then wait forever for threads the child does not have
        with ProcessPoolExecutor(max(1, jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
            for row in pool.map(run_job, todo, chunksize=1):
                rows.append(row)
                bar.update(1)
    else:
        rows = _run_on_dask(todo, scheduler, jobs, bar)
    bar.close()
    per_file = pd.DataFrame(rows)
    if per_file.empty:
        per_file = pd.DataFrame(columns=["codec", "point", "file", "seconds", "payload_bits", "file_bits", "error", *metrics])
    per_file["payload_kbps"] = per_file["payload_bits"] / per_file["seconds"] / 1000
    per_file["file_kbps"] = per_file["file_bits"] / per_file["seconds"] / 1000
    return SweepResult(per_file, aggregate(per_file, metrics), skipped)


def _run_on_dask(todo: list[Job], scheduler: str, workers: int, bar: tqdm) -> list[dict]:
    """``run_job`` over ``todo`` on a Dask cluster; rows in the order of ``todo``."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = (LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                            dashboard_address=None) if scheduler == "local" else None)
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            futures = client.map(run_job, todo, pure=False)
            index = {future.key: i for i, future in enumerate(futures)}
            rows: list[dict | None] = [None] * len(todo)
            for future in as_completed(futures):
                rows[index[future.key]] = future.result()
                bar.update(1)
    finally:
        if cluster is not None:
            cluster.close()
    return rows
