"""The vocoder's learning curve: copy-synthesis quality (wav -> log-mel -> vocoder) of a training
checkpoint on held-out files, seen voices (``dev``) and unseen voices (``unseen``), appended to
``OUT/curve.csv`` (one row per step and split; a re-evaluated step replaces its rows) and drawn to
``OUT/curve.png``.

``python -m benchmarks.vocoder_curve runs/vocoder/last.pt --data data/speech --out rd_curves/vocoder``
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ecc.audio import load_audio
from ecc.vocoder_train import load_generator

from .metrics import evaluate

METRICS = ("pesq", "stoi", "visqol")


def pick_files(data: Path, split: str, count: int, min_seconds: float = 1.0) -> list[Path]:
    """``count`` files of ``split`` from ``data/manifest.csv``, at least ``min_seconds`` long, spread
    evenly over the sorted list (so over voices), the same every time."""
    manifest = pd.read_csv(data / "manifest.csv")
    rows = manifest[(manifest.split == split) & (manifest.seconds >= min_seconds)].sort_values("path")
    if rows.empty:
        raise FileNotFoundError(f"no {split} files of {min_seconds} s or more in {data / 'manifest.csv'}")
    index = np.unique(np.linspace(0, len(rows) - 1, min(count, len(rows))).round().astype(int))
    return [data / p for p in rows.path.iloc[index]]


@torch.no_grad()
def copy_synthesis_scores(checkpoint: Path, files: list[Path]) -> dict[str, float]:
    """Mean PESQ-WB, STOI and ViSQOL of copy-synthesis over ``files`` (NaN-skipping)."""
    generator, _ = load_generator(checkpoint)
    values = {m: [] for m in METRICS}
    for path in files:
        audio = load_audio(path, generator.sample_rate)
        decoded = generator.copy_synthesis(torch.from_numpy(audio.samples)[None])[0].numpy()
        scores = evaluate(audio.samples, decoded, audio.sample_rate, list(METRICS))
        for m in METRICS:
            values[m].append(scores.values[m])
    return {m: float(np.nanmean(v)) for m, v in values.items()}


def plot(curve: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(4 * len(METRICS), 3.2))
    for ax, metric in zip(axes, METRICS):
        for split, rows in curve.groupby("split"):
            ax.plot(rows.step, rows[metric], marker="o", label=split)
        ax.set_xlabel("training step")
        ax.set_title({"pesq": "PESQ-WB", "stoi": "STOI", "visqol": "ViSQOL (speech)"}[metric])
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("Vocoder copy-synthesis on held-out files")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vocoder_curve", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="vocoder training checkpoint (runs/vocoder/last.pt)")
    parser.add_argument("--data", type=Path, default=Path("data/speech"), help="corpus built by `ecc prepare-data`")
    parser.add_argument("--files", type=int, default=20, help="files per split")
    parser.add_argument("--out", type=Path, default=Path("rd_curves/vocoder"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    _, step = load_generator(args.checkpoint)
    rows = [{"step": step, "split": split, "files": args.files,
             **copy_synthesis_scores(args.checkpoint, pick_files(args.data, split, args.files))}
            for split in ("dev", "unseen")]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "curve.csv"
    curve = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    if not curve.empty:
        curve = curve[curve.step != step]
    curve = pd.concat([curve, pd.DataFrame(rows)]).sort_values(["step", "split"])
    curve.to_csv(path, index=False, float_format="%.4f")
    plot(curve, args.out / "curve.png")
    for row in rows:
        print(f"step {step} {row['split']}: " + ", ".join(f"{m} {row[m]:.3f}" for m in METRICS), file=sys.stderr)


if __name__ == "__main__":
    main()
