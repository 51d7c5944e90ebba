"""A quick A/B of model files or training checkpoints (any family): PESQ-WB and STOI of the decoded
audio at a few operating points on a few held-out files per split. For development decisions in
minutes; published results come from ``ecc bench``.

``python -m benchmarks.quick_compare base=runs/a/last.pt new=runs/b/last.pt --data data/asterisk/test data/speech/unseen``
writes ``OUT.{md,csv}`` (default ``runs/quick_compare``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ecc.audio import audio_files, load_audio, spread_evenly
from ecc.train import read_model

from .ecc_report import write_table
from .metrics import evaluate


def spread_files(folder: Path, count: int, exclude: str = "") -> list[Path]:
    """``count`` audio files spread evenly over ``folder``'s sorted list, leaving out paths
    (relative to ``folder``) that start with ``exclude``."""
    files = [f for f in audio_files(folder) if not (exclude and str(f.relative_to(folder)).startswith(exclude))]
    return spread_evenly(files, count)


def add_selection_arguments(parser: argparse.ArgumentParser, files: int) -> None:
    """``--q`` (operating points), ``--files`` (per split) and ``--exclude`` (see :func:`spread_files`)."""
    parser.add_argument("--q", default="1.5625,3.5,6", help="operating points of variable-rate models (comma list)")
    parser.add_argument("--files", type=int, default=files, help=f"files per split, spread over the sorted list "
                                                                  f"(default {files})")
    parser.add_argument("--exclude", default="asterisk/", help="leave out paths starting with this (default "
                                                               "asterisk/, as the published unseen set does; '' keeps all)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quick_compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="LABEL=PATH", help="model files or training checkpoints")
    parser.add_argument("--data", nargs="+", type=Path, default=[Path("data/asterisk/test"), Path("data/speech/unseen")])
    add_selection_arguments(parser, files=30)
    parser.add_argument("--out", type=Path, default=Path("runs/quick_compare"))
    args = parser.parse_args(argv)
    models = {label: read_model(path) for label, path in (m.split("=", 1) for m in args.models)}
    rows = []
    for folder in args.data:
        files = spread_files(folder, args.files, args.exclude)
        for q in (float(v) for v in args.q.split(",")):
            for label, model in models.items():
                bound = model.at(q if model.rates else None)
                scores = []
                for path in tqdm(files, desc=f"{label} {folder} q={q:g}", unit="file", leave=False):
                    audio = load_audio(path, model.sample_rate).samples
                    data, decoded = bound.compress(audio)
                    values = evaluate(audio, decoded, model.sample_rate, ["pesq", "stoi"]).values
                    scores.append((8 * len(data) / (len(audio) / model.sample_rate) / 1000, values["pesq"], values["stoi"]))
                kbps, pesq, stoi = np.nanmean(np.array(scores, dtype=float), axis=0)
                rows.append({"split": str(folder), "q": q, "model": label, "files": len(files), "file_kbps": kbps,
                             "pesq": pesq, "stoi": stoi})
    table = pd.DataFrame(rows)
    write_table(table, args.out, "Quick comparison", f"{args.files} files per split; models: "
                + ", ".join(f"`{m}`" for m in args.models) + ". Not a published result set: see `ecc bench`.")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
