"""The variable-rate ECC model: its presets and how it compares with the per-rate zoo it replaces.

``calibrate``: measure the file bitrate of a variable-rate model on the dev split at every trained
operating point, then place one preset per target rate (log-rate interpolation, snapped to the
container's operating-point grid) and measure each again; writes the presets JSON that
``ecc export --presets`` takes, and ``rd_curves/variable_rate/calibration.md``. ``--targets`` takes the
target rates from another model's record instead (e.g. an ``ecc-mel`` model placed at the ECC
presets' rates, its presets renamed ``ecc-mel-*`` with ``--prefix``).

``compare``: per preset, PESQ-WB / STOI / ViSQOL and file rate of the variable-rate model against
the per-rate model of the same name (``ecc bench`` aggregates of both), and the BD-rate of the new
model against the old zoo; writes ``rd_curves/variable_rate/compare_<split>.md``.

    python -m benchmarks.variable_rate calibrate runs/ecc-vr/last.pt --presets runs/ecc-vr/presets.json
    python -m benchmarks.variable_rate calibrate runs/ecc-mel-e2e-ft/last.pt --presets runs/ecc-mel-e2e-ft/presets.json \
        --targets ecc/zoo/ecc.json --prefix ecc-mel --table rd_curves/ecc_mel/calibration
    python -m benchmarks.variable_rate compare rd_curves/asterisk_test/aggregate.csv \
        rd_curves/variable_rate/per_rate_zoo_asterisk_test.csv --split asterisk_test
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from benchmarks.bdrate import bd_rate
from benchmarks.ecc_report import write_table
from ecc.audio import audio_files, load_audio
from ecc.neural_codec import NeuralCodec
from ecc.zoo import q_at_kbps
from entropy.bitstream import OPERATING_POINT_STEPS

OUT = Path("rd_curves/variable_rate")
# the per-rate zoo this model replaces: name -> file kbps on the dev split (rd_curves/ecc_zoo.md)
PER_RATE_ZOO = {"ecc-0k4": 0.453, "ecc-0k6": 0.711, "ecc-1k1": 1.169, "ecc-1k5": 1.504, "ecc-1k7": 1.677,
                "ecc-3k6": 3.772, "ecc-6k0": 5.527}


def file_kbps(model: NeuralCodec, clips: list[np.ndarray], seconds: float) -> float:
    """Coded file bits of every clip (whole containers) per second of audio, kbps."""
    return sum(8 * len(model.compress_chunks(model.split(c))[0]) for c in clips) / seconds / 1000


def record_targets(record: dict, prefix: str | None = None) -> dict[str, float]:
    """Target rates from a model record's presets, name -> kbps; ``prefix`` replaces the family part
    of each name (``ecc-1k5`` -> ``ecc-mel-1k5``)."""
    if not record.get("presets"):
        raise ValueError("the record holds no presets")
    return {(f"{prefix}-{p['name'].rsplit('-', 1)[-1]}" if prefix else p["name"]): float(p["kbps"])
            for p in record["presets"]}


def with_extra_targets(targets: dict[str, float], extra: list[str]) -> dict[str, float]:
    """``targets`` plus ``NAME=KBPS`` entries, ordered by rate (the order :func:`calibrate` places them in)."""
    merged = dict(targets)
    for item in extra:
        name, sep, kbps = item.partition("=")
        try:
            merged[name] = float(kbps)
        except ValueError:
            raise ValueError(f"extra target must be NAME=KBPS, got {item!r}") from None
        if not (sep and name):
            raise ValueError(f"extra target must be NAME=KBPS, got {item!r}")
    return dict(sorted(merged.items(), key=lambda item: item[1]))


def calibrate(model: NeuralCodec, clips: list[np.ndarray], targets: dict[str, float]) -> tuple[pd.DataFrame, list[dict]]:
    """Rates at the trained points, then one preset per target rate: ``(table, presets)``. A target
    that lands on an operating point already taken (beyond the model's range) gets no preset of its own."""
    seconds = sum(len(c) for c in clips) / model.sample_rate
    trained = [(float(q), file_kbps(model.at(q), clips, seconds)) for q in tqdm(range(model.rates), desc="trained points")]
    rows = [{"preset": f"(trained point {q:g})", "q": q, "target_kbps": math.nan, "dev_file_kbps": k} for q, k in trained]
    presets: list[dict] = []
    for name, target in tqdm(targets.items(), desc="presets"):
        preset = model.at(q_at_kbps(trained, target))  # snapped to the container's grid
        taken = next((p["name"] for p in presets if p["q"] == preset.operating_point), None)
        if taken:
            rows.append({"preset": f"{name} (dropped: same point as {taken})", "q": preset.operating_point,
                         "target_kbps": target, "dev_file_kbps": math.nan})
            continue
        kbps = file_kbps(preset, clips, seconds)
        presets.append({"name": name, "q": preset.operating_point, "kbps": round(kbps, 3)})
        rows.append({"preset": name, "q": preset.operating_point, "target_kbps": target, "dev_file_kbps": kbps})
    return pd.DataFrame(rows), presets


def compare(new: pd.DataFrame, old: pd.DataFrame, metrics: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-preset quality and rate, new vs old, and the BD-rate of new against old per metric."""
    merged = new.merge(old, on="point", suffixes=("_new", "_old"))
    rows = []
    for _, r in merged.iterrows():
        row = {"preset": r["point"], "old_file_kbps": r["file_kbps_old"], "new_file_kbps": r["file_kbps_new"]}
        for m in metrics:
            row[f"{m}_old"], row[f"{m}_new"] = r[f"{m}_old"], r[f"{m}_new"]
            row[f"{m}_diff"] = r[f"{m}_new"] - r[f"{m}_old"]
        rows.append(row)
    bd = []
    for m in metrics:
        result = bd_rate(old["file_kbps"], old[m], new["file_kbps"], new[m])
        bd.append({"metric": m, "bd_rate_percent_new_vs_old": result.value, "overlap": result.overlap, "note": result.reason})
    return pd.DataFrame(rows), pd.DataFrame(bd)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.variable_rate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("calibrate", help="measure rates on the dev split and place the presets")
    p.add_argument("model", help="a variable-rate model file, or a training checkpoint (OUT/last.pt)")
    p.add_argument("--dev", default="data/asterisk/dev")
    p.add_argument("--presets", required=True, help="JSON presets to write (for ecc export --presets)")
    p.add_argument("--targets", help="a model record (ZOO/NAME.json): its presets' names and rates are the targets "
                                     "(default: the per-rate ECC zoo's dev rates)")
    p.add_argument("--prefix", help="with --targets: rename the presets PREFIX-<rate> (e.g. ecc-mel)")
    p.add_argument("--extra", nargs="+", action="extend", default=[], metavar="NAME=KBPS",
                   help="more presets at these dev-split rates, besides the targets (e.g. ecc-mel-3k0=2.9)")
    p.add_argument("--table", default=str(OUT / "calibration"), help="calibration table to write, without suffix "
                                                                      "(default %(default)s)")
    p = sub.add_parser("compare", help="variable-rate presets vs the per-rate models they replace")
    p.add_argument("new", help="ecc bench aggregate.csv holding the variable-rate presets (codec 'ecc')")
    p.add_argument("old", help="aggregate rows of the per-rate zoo (same points)")
    p.add_argument("--split", required=True, help="name of the split, for the output file")
    p.add_argument("--metrics", default="pesq,stoi,visqol")
    args = parser.parse_args(argv)
    if args.command == "calibrate":
        if args.prefix and not args.targets:
            parser.error("--prefix renames the presets of --targets: give both")
        from ecc.train import checkpoint_model

        model = checkpoint_model(args.model)
        clips = [load_audio(p, model.sample_rate).samples for p in audio_files(args.dev)]
        if args.targets:
            targets = record_targets(json.loads(Path(args.targets).read_text()), args.prefix)
            matched = f"the rate of the corresponding preset in `{args.targets}`"
        else:
            targets, matched = PER_RATE_ZOO, "the dev-split file rate of the per-rate model of the same name"
        if args.extra:
            targets = with_extra_targets(targets, args.extra)
            matched += f", or the rates given with --extra ({', '.join(args.extra)})"
        table, presets = calibrate(model, clips, targets)
        Path(args.presets).write_text(json.dumps(presets, indent=2) + "\n")
        write_table(table, Path(args.table), f"Variable-rate {model.family}: presets placed on the dev split",
                    f"Model `{args.model}`; dev split `{args.dev}` ({len(clips)} files). File kbps = whole .ecc "
                    "containers / duration. Each preset's operating point q is interpolated (log rate) between "
                    f"the trained points to match {matched}, snapped to the container's "
                    f"1/{OPERATING_POINT_STEPS} grid, and measured again.")
        print(table.to_string(index=False))
        return
    metrics = args.metrics.split(",")
    new = pd.read_csv(args.new)
    new = new[new["codec"] == "ecc"]
    per_preset, bd = compare(new, pd.read_csv(args.old), metrics)
    write_table(per_preset, OUT / f"compare_{args.split}", f"Variable-rate ECC vs the per-rate zoo: {args.split}",
                f"`{args.new}` (one variable-rate model, codec `ecc`) against `{args.old}` (the seven per-rate "
                "models of the same names, measured by the same harness on the same files before they were "
                "replaced). diff = new - old.")
    write_table(bd, OUT / f"bd_rate_{args.split}", f"BD-rate of the variable-rate model vs the per-rate zoo: {args.split}",
                "Akima on log file kbps over the overlapping quality range; negative = fewer bits for the same quality.")
    print(per_preset.to_string(index=False))
    print(bd.to_string(index=False))


if __name__ == "__main__":
    main()
