"""``ecc bench`` and ``ecc plot``: sweep codecs over a folder of speech, BD-rate tables, RD plots."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .codecs import CODECS
from .metrics import METRICS, VISQOL_MODE

DEFAULT_CODECS = "opus,opus-cbr,amrwb,codec2,speex,lyra,lpcnet,evs,encodec,ecc"
DEFAULT_METRICS = "pesq,stoi,visqol"


def _list(value: str, known: dict, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in known]
    if unknown:
        raise ValueError(f"unknown {what}(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    return items


def _points(values: list[str]) -> dict[str, list[str]]:
    points = {}
    for value in values:
        codec, _, labels = value.partition("=")
        if not labels:
            raise ValueError(f"--points takes CODEC=P1,P2,...; got {value!r}")
        points[codec] = labels.split(",")
    return points


def select_files(files: list[Path], root: Path, exclude: list[str], spread: int | None) -> list[Path]:
    """``files`` without those matching an ``exclude`` glob (relative to ``root``), then ``spread``
    of them evenly spaced over the sorted list (all when ``None``)."""
    from fnmatch import fnmatch

    kept = [f for f in files if not any(fnmatch(f.relative_to(root).as_posix() if root.is_dir() else f.name, g)
                                        for g in exclude)]
    if spread is None or spread >= len(kept):
        return kept
    step = len(kept) / spread
    return [kept[int(i * step)] for i in range(spread)]


def cmd_demo(args: argparse.Namespace) -> None:
    from ecc.audio import load_audio
    from ecc.zoo import load_model
    from entropy.bitstream import Bitstream

    from .metrics import evaluate

    model = load_model(args.model)
    clip = Path(args.clip)
    audio = load_audio(clip, model.sample_rate).samples
    data, _ = model.compress(audio)
    decoded = model.decompress(data)
    seconds = len(audio) / model.sample_rate
    scores = evaluate(audio, decoded, model.sample_rate, ["pesq"])
    stream = Bitstream.from_bytes(data)
    print(f"{clip.name}: {seconds:.2f} s of speech, model {args.model}")
    print(f"  file    {len(data)} bytes = {len(data) * 8 / seconds / 1000:.3f} kbps "
          f"(payload {stream.payload_bytes * 8 / seconds / 1000:.3f} kbps)")
    print(f"  PESQ-WB {scores.values['pesq']:.2f}" + (f" ({scores.errors['pesq']})" if scores.errors else "")
          + "  (ITU-T P.862.2 MOS-LQO: 1.0 bad .. 4.64 transparent; wideband telephony codecs score about 3-4,"
          " Opus at 6 kbps about 2.0 on this corpus)")


def cmd_prepare_data(args: argparse.Namespace) -> None:
    from .datasets import SplitConfig, prepare_asterisk, prepare_speech

    prepare = prepare_speech if args.recipe == "speech" else prepare_asterisk
    out = args.out or f"data/{args.recipe}"
    print(f"wrote {prepare(Path(out), SplitConfig(seed=args.seed), args.jobs)}", file=sys.stderr)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The ``ecc`` subcommands this package provides (registered as the ``ecc.commands`` entry point,
    so that ``ecc`` itself never imports ``benchmarks``)."""
    from ecc.zoo import DEFAULT_MODEL

    p = sub.add_parser("demo", help="encode+decode a bundled real clip; print bitrate and PESQ-WB")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"zoo model (default {DEFAULT_MODEL})")
    p.add_argument("--clip", default=str(Path(__file__).resolve().parents[1] / "samples" / "en-confbridge-lock-no-join.flac"),
                   help="speech file (default: a bundled Asterisk test-split clip)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("prepare-data", help="build a speech corpus from Debian packages (FLAC, splits, licenses)",
                       description="asterisk: the Asterisk prompts, train/dev/test. speech: Asterisk + festvox-ru + "
                                   "KDE klettres/ktuberling clips, train/dev/test plus 'unseen' (voices held out "
                                   "whole), narrowband files skipped, licenses beside the data.")
    p.add_argument("out", nargs="?", help="output folder (default data/RECIPE)")
    p.add_argument("--recipe", choices=("asterisk", "speech"), default="asterisk")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2)
    p.set_defaults(func=cmd_prepare_data)

    p = sub.add_parser("bench", help="RD sweep: codecs x operating points x files -> CSV, BD-rate, plots",
                       description="Encode/decode every audio file under DATA_DIR with each codec at each operating "
                                   "point, score it, and write per-file and aggregate CSVs, a BD-rate table against "
                                   "the anchor and RD plots. Several DATA_DIRs (e.g. the seen-speaker test split and "
                                   "the unseen-speaker split) are reported side by side, one `split` column. Cached "
                                   "per job: rerunning computes nothing new.")
    p.add_argument("data_dir", nargs="*",
                   help="folder(s) of speech files (default: bundled samples/); several folders are reported as "
                        "splits side by side, e.g. data/speech/test data/speech/unseen")
    p.add_argument("--codecs", default=DEFAULT_CODECS, help=f"comma list of {', '.join(CODECS)} (default {DEFAULT_CODECS})")
    p.add_argument("--metrics", default=DEFAULT_METRICS, help=f"comma list of {', '.join(METRICS)} (default {DEFAULT_METRICS})")
    p.add_argument("--anchor", default="opus", help="BD-rate anchor codec(s), comma list (default opus)")
    p.add_argument("--points", action="append", default=[], metavar="CODEC=P1,P2",
                   help="operating points of one codec (repeatable); default: all its points")
    p.add_argument("--jobs", type=int, default=2, help="parallel processes, or local Dask workers (default 2)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the jobs on a Dask cluster: a scheduler address (tcp://host:8786), or 'local' for a "
                        "local cluster of --jobs workers; the cache folder must be shared with the workers")
    p.add_argument("--out", default="rd_curves/bench", help="output folder (default rd_curves/bench)")
    p.add_argument("--cache", default=None, help="job cache folder (default OUT/cache)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N files (sorted)")
    p.add_argument("--spread", type=int, default=None, help="use N files spread evenly over the sorted list")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out files whose path below DATA_DIR matches GLOB (repeatable), e.g. 'asterisk/*'")
    p.add_argument("--update", action="store_true",
                   help="keep the other codecs' rows of an existing OUT/per_file.csv (re-run only these codecs)")
    p.add_argument("--html", action="store_true",
                   help="also write OUT/index.html: plots, tables and audio players for a few clips (static page)")
    p.add_argument("--listen", type=int, default=3, help="clips on the --html page (default 3)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("plot", help="RD plots (and BD-rate) from results CSVs written by `ecc bench`")
    p.add_argument("results", nargs="+",
                   help="aggregate.csv or per_file.csv from `ecc bench`; several are drawn side by side as splits "
                        "(named by their folders), with a combined aggregate.csv and README in --out")
    p.add_argument("--metrics", default=None, help="metrics to plot (default: all present)")
    p.add_argument("--anchor", default=None, help="also write a BD-rate table against this codec (comma list: "
                                                   "against each)")
    p.add_argument("--out", default=None, help="output folder (default: beside the CSV)")
    p.set_defaults(func=cmd_plot)


def _report(table, metrics: list[str], out: Path, anchors: list[str], data: str = "") -> None:
    """Plots for ``metrics`` and, with ``anchors``, the BD-rate table of every codec against each, under ``out``."""
    import pandas as pd

    from .bdrate import bd_rate_table
    from .plots import plot_all

    plots = plot_all(table, metrics, out, data=data)
    print(f"plots: {', '.join(str(p) for p in plots)}", file=sys.stderr)
    if anchors:
        hib = {m: METRICS[m].higher_is_better for m in metrics if m in METRICS}
        bd = pd.concat([bd_rate_table(table, a, metrics, higher_is_better=hib) for a in anchors], ignore_index=True)
        bd.to_csv(out / "bd_rate.csv", index=False)
        (out / "bd_rate.md").write_text(
            f"BD-rate (%, file kbps, Akima on log-rate, overlapping quality range only) vs {', '.join(anchors)}; "
            "negative = fewer bits for the same quality.\n\n" + bd.to_markdown(index=False, floatfmt=".1f") + "\n")
        print(bd.to_string(index=False), file=sys.stderr)


def _anchors(names: str | None, table) -> list[str]:
    """The BD-rate anchors named in ``names`` (comma list) that have results in ``table``; one without
    is left out with a warning."""
    anchors, present = [a for a in (names or "").split(",") if a], set(table["codec"])
    for a in anchors:
        if a not in present:
            print(f"anchor {a!r} has no results; no BD-rate against it", file=sys.stderr)
    return [a for a in anchors if a in present]


def _merge_previous(result, previous: Path, codecs: list[str], metrics: list[str]):
    """``result`` plus the rows of ``previous`` (a per_file.csv) for codecs not in ``codecs``."""
    import pandas as pd

    from .sweep import SweepResult, aggregate

    old = pd.read_csv(previous, dtype={"error": str})
    old["error"] = old["error"].fillna("")
    kept = old[~old["codec"].isin(codecs)]
    missing = [m for m in metrics if m not in kept.columns]
    if missing and len(kept):
        raise ValueError(f"{previous} lacks metrics {', '.join(missing)}; run all codecs without --update")
    print(f"kept {len(kept)} rows of {', '.join(sorted(set(kept['codec'])))} from {previous}", file=sys.stderr)
    per_file = pd.concat([kept, result.per_file], ignore_index=True)
    return SweepResult(per_file, aggregate(per_file, metrics), result.skipped)


def _splits(data_dirs: list[str]) -> dict[str, Path]:
    """Split name (the folder's name, or its path when two share a name) -> folder."""
    names = [Path(d).name or d for d in data_dirs]
    return {(n if names.count(n) == 1 else d): Path(d) for n, d in zip(names, data_dirs)}


def cmd_bench(args: argparse.Namespace) -> None:
    import pandas as pd

    from ecc.audio import audio_files
    from .sweep import SweepResult, aggregate, sweep

    codecs = _list(args.codecs, CODECS, "codec")
    metrics = _list(args.metrics, METRICS, "metric")
    splits = _splits(args.data_dir or ["samples"])
    files = {}
    for name, folder in splits.items():
        files[name] = select_files(audio_files(folder), folder, args.exclude, args.spread)[: args.limit]
        if not files[name]:
            raise ValueError(f"no audio files under {folder}" + (" left by --exclude" if args.exclude else ""))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {name: sweep(split_files, codecs, metrics, Path(args.cache or out / "cache"), args.jobs,
                           _points(args.points), scheduler=args.scheduler) for name, split_files in files.items()}
    if len(results) == 1:
        result = next(iter(results.values()))
    else:  # one table, with a split column: the unseen voices next to the seen ones
        per_file = pd.concat([r.per_file.assign(split=name) for name, r in results.items()], ignore_index=True)
        per_file = per_file[["split", *[c for c in per_file.columns if c != "split"]]]
        result = SweepResult(per_file, aggregate(per_file, metrics), next(iter(results.values())).skipped)
    for codec, reason in result.skipped.items():
        print(f"skipped {codec}: {reason}", file=sys.stderr)
    if len(result.skipped) == len(codecs) and not args.update:
        raise ValueError("no codec could run here (reasons above); nothing written")
    kept = ""
    if args.update and (out / "per_file.csv").is_file():
        result = _merge_previous(result, out / "per_file.csv", codecs, metrics)
        others = sorted(set(result.per_file["codec"]) - set(codecs))
        kept = f" Rows of {', '.join(others)} kept from an earlier run (`--update`); its skips are not repeated here."
    result.per_file.to_csv(out / "per_file.csv", index=False)
    result.aggregate.to_csv(out / "aggregate.csv", index=False)
    failures = result.per_file[result.per_file["error"].astype(str) != ""]
    if len(failures):
        print(f"{len(failures)} file results carry errors (NaN + reason in per_file.csv)", file=sys.stderr)
    cols = [*(["split"] if len(splits) > 1 else []), "codec", "point", "files", "file_kbps", "payload_kbps", *metrics]
    print(result.aggregate[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    described = "; ".join(f"{name}: `{folder}` ({len(files[name])} files)" for name, folder in splits.items())
    (out / "README.md").write_text(
        f"# `ecc bench` results\n\nData: {described}"
        + (f"; excluded: {', '.join(args.exclude)}" if args.exclude else "")
        + (f"; {args.spread} spread evenly per split" if args.spread else "") + f". Metrics: {', '.join(metrics)}"
        f" (ViSQOL: {VISQOL_MODE}). Rates: file kbps = coded file bits / duration over all files; payload kbps"
        f" without container. Each metric is the mean over the files where it is valid for every codec and point"
        f" (`<metric>_files` in aggregate.csv; per-file NaNs and reasons in per_file.csv)."
        + (" Each split is reported on its own rows (column `split`), side by side in the plots." if len(splits) > 1 else "")
        + f"\n\nSkipped: {result.skipped or 'none'}.{kept}\n\n"
        + result.aggregate[cols].to_markdown(index=False, floatfmt=".3f") + "\n")
    anchors = _anchors(args.anchor, result.aggregate)
    data = "; ".join(f"{name if len(splits) > 1 else folder} ({len(files[name])} files)"
                     for name, folder in splits.items())
    _report(result.aggregate, metrics, out, anchors, data=data)
    if args.html:
        from .listening import write_page

        first = next(iter(splits))
        table = result.aggregate
        if "split" in table.columns:
            table = table[table["split"] == first].drop(columns="split")
        page = write_page(out, table, metrics, files[first], args.listen, f"{splits[first]} ({len(files[first])} files)")
        print(f"listening page: {page}", file=sys.stderr)


def cmd_plot(args: argparse.Namespace) -> None:
    import pandas as pd

    from .sweep import aggregate

    tables = []
    for name in args.results:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        table = pd.read_csv(path)
        missing = {"codec", "point"} - set(table.columns)
        if missing:
            raise ValueError(f"{path} is not an `ecc bench` results CSV (no {', '.join(sorted(missing))} column)")
        if "files" not in table.columns:  # a per-file CSV: aggregate it first
            table = aggregate(table, [m for m in METRICS if m in table.columns])
        if len(args.results) > 1 and "split" not in table.columns:  # result sets side by side, named by folder
            table.insert(0, "split", path.resolve().parent.name)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    metrics = _list(args.metrics, METRICS, "metric") if args.metrics else [m for m in METRICS if m in table.columns]
    out = Path(args.out) if args.out else Path(args.results[0]).parent
    if len(args.results) > 1:
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "aggregate.csv", index=False)
        cols = [c for c in ("split", "codec", "point", "files", "file_kbps", "payload_kbps", *metrics) if c in table.columns]
        (out / "README.md").write_text(
            "# Result sets side by side\n\n" + ", ".join(f"`{r}`" for r in args.results)
            + ", one `split` per set (each aggregated over its own files; see each set's README for data and "
            "metric details).\n\n" + table[cols].to_markdown(index=False, floatfmt=".3f") + "\n")
    _report(table, metrics, out, _list(args.anchor or "", CODECS, "codec"))  # no results: bd_rate_table raises
