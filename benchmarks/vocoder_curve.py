"""The vocoder's learning curve: copy-synthesis quality (wav -> log-mel -> vocoder) of a training
checkpoint on held-out files, seen voices (``dev``) and unseen voices (``unseen``), appended to
``OUT/curve.csv`` (one row per step and split; a re-evaluated step replaces its rows) and drawn to
``OUT/curve.png``. Two more PESQ-WB columns grade the halves of the output separately:
``pesq_input_phase`` (the output's STFT magnitude with the input's phase: its magnitude alone) and
``pesq_input_magnitude`` (the input's magnitude with the output's phase: its phase alone). Two
columns measure the phase directly, on the loudest 10 % of each file's STFT bins (where phase is
heard): ``group_delay_error`` and ``inst_freq_error``, the mean anti-wrapped distance (radians) of the
output's phase differences along frequency and along time to the input's (0: exact, pi/2: random).
The ``*_reconstructed`` columns score the same generator with its phase reconstructed from its
magnitude (``VocoderConfig.phase = "reconstructed"``: PGHI + fast Griffin-Lim, :mod:`ecc.phase`).

``python -m benchmarks.vocoder_curve runs/vocoder/last.pt --data data/speech --out rd_curves/vocoder``
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ecc.audio import load_audio, spread_evenly
from ecc.vocoder import Vocoder
from ecc.vocoder_train import anti_wrap, load_generator

from .metrics import evaluate

METRICS = ("pesq", "stoi", "visqol")
RECONSTRUCTED = {m: f"{m}_reconstructed" for m in METRICS}  # metric: column of the reconstructed-phase output
HALVES = {"pesq_input_phase": "magnitude alone", "pesq_input_magnitude": "phase alone"}  # column: plot label
PHASE_ERRORS = {"group_delay_error": "group delay", "inst_freq_error": "inst. frequency"}
LOUDEST = 0.9  # phase errors are read on bins above this quantile of the input's magnitude


def pick_files(data: Path, split: str, count: int, min_seconds: float = 1.0) -> list[Path]:
    """``count`` files of ``split`` from ``data/manifest.csv``, at least ``min_seconds`` long, spread
    evenly over the sorted list (so over voices), the same every time."""
    manifest = pd.read_csv(data / "manifest.csv")
    rows = manifest[(manifest.split == split) & (manifest.seconds >= min_seconds)].sort_values("path")
    if rows.empty:
        raise FileNotFoundError(f"no {split} files of {min_seconds} s or more in {data / 'manifest.csv'}")
    return [data / p for p in spread_evenly(list(rows.path), count)]


def swapped_halves(ours: torch.Tensor, theirs: torch.Tensor, n_fft: int, hop: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """From the decoded and the input STFTs ``[1, F, T]``: the decoded magnitude with the input's
    phase, and the input's magnitude with the decoded phase, each ``[length]``."""
    window = torch.hann_window(n_fft)

    def rebuild(magnitude: torch.Tensor, phase: torch.Tensor) -> np.ndarray:
        spec = magnitude.abs() * torch.exp(1j * phase.angle())
        return torch.istft(spec, n_fft, hop, window=window, length=length)[0].numpy()

    return rebuild(ours, theirs), rebuild(theirs, ours)


def phase_errors(ours: torch.Tensor, theirs: torch.Tensor) -> dict[str, float]:
    """Group-delay and instantaneous-frequency errors (radians, see the module doc) of the decoded
    STFT ``ours`` against the input's ``theirs`` ``[1, F, T]``, on the input's loudest bins."""
    error = ours.angle() - theirs.angle()
    magnitude = theirs.abs()
    loud = magnitude >= torch.quantile(magnitude.flatten(), LOUDEST)
    along_frequency = anti_wrap(error.diff(dim=1))[loud[:, 1:] & loud[:, :-1]]
    along_time = anti_wrap(error.diff(dim=2))[loud[..., 1:] & loud[..., :-1]]
    return {"group_delay_error": along_frequency.mean().item(), "inst_freq_error": along_time.mean().item()}


@torch.no_grad()
def copy_synthesis_scores(generator: Vocoder, files: list[Path]) -> dict[str, float]:
    """Mean PESQ-WB, STOI and ViSQOL of ``generator``'s copy-synthesis over ``files`` (with its phase
    head's phase and reconstructed), the PESQ-WB of each half (:func:`swapped_halves`) and the phase
    errors (:func:`phase_errors`), NaN-skipping."""
    reconstructing = generator.with_phase("reconstructed")
    n_fft, hop = generator.config.n_fft, generator.config.mel.hop
    values = {m: [] for m in (*METRICS, *RECONSTRUCTED.values(), *HALVES, *PHASE_ERRORS)}
    for path in files:
        audio = load_audio(path, generator.sample_rate)
        wav = torch.from_numpy(audio.samples)[None]
        decoded = generator.copy_synthesis(wav)
        scores = evaluate(audio.samples, decoded[0].numpy(), audio.sample_rate, list(METRICS))
        rebuilt = evaluate(audio.samples, reconstructing.copy_synthesis(wav)[0].numpy(), audio.sample_rate, list(METRICS))
        for m in METRICS:
            values[m].append(scores.values[m])
            values[RECONSTRUCTED[m]].append(rebuilt.values[m])
        ours, theirs = generator.stft(decoded), generator.stft(wav)
        for name, half in zip(HALVES, swapped_halves(ours, theirs, n_fft, hop, wav.shape[-1])):
            values[name].append(evaluate(audio.samples, half, audio.sample_rate, ["pesq"]).values["pesq"])
        for name, value in phase_errors(ours, theirs).items():
            values[name].append(value)
    return {m: float(np.nanmean(v)) for m, v in values.items()}


def plot(curve: pd.DataFrame, path: Path, reference: pd.DataFrame | None = None) -> None:
    """The curve's panels; ``reference`` (an earlier run's curve) drawn thin and grey under the three
    metrics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = len(METRICS) + 2
    fig, axes = plt.subplots(1, panels, figsize=(4 * panels, 3.2), sharex=True)
    splits = list(curve.groupby("split"))
    for ax, metric in zip(axes, METRICS):
        if reference is not None:
            for (split, rows), style in zip(reference.groupby("split"), ("-", ":")):
                ax.plot(rows.step, rows[metric], style, color="0.6", lw=1, label=f"earlier run, {split}")
        for color, (split, rows) in enumerate(splits):
            ax.plot(rows.step, rows[metric], marker="o", color=f"C{color}", label=f"{split}: generated phase")
            if RECONSTRUCTED[metric] in rows and rows[RECONSTRUCTED[metric]].notna().any():
                ax.plot(rows.step, rows[RECONSTRUCTED[metric]], "s--", color=f"C{color}",
                        label=f"{split}: reconstructed phase")
        ax.set_title({"pesq": "PESQ-WB", "stoi": "STOI", "visqol": "ViSQOL (speech)"}[metric])
    panes = {"PESQ-WB, other half from the input": HALVES,
             f"phase error, loudest {100 - round(100 * LOUDEST)} % of bins (rad)": PHASE_ERRORS}
    for ax, (title, columns) in zip(axes[-2:], panes.items()):  # two columns a pane, solid and dashed
        for color, (split, rows) in enumerate(splits):
            for (name, label), style in zip(columns.items(), ("o-", "s--")):
                if name in rows and rows[name].notna().any():  # older rows lack the newer columns
                    ax.plot(rows.step, rows[name], style, color=f"C{color}", label=f"{split}: {label}")
        ax.set_title(title)
        ax.legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("training step (thousands)")
        ax.xaxis.set_major_formatter(lambda step, _: f"{step / 1000:g}")  # 20, not 20000 run into its neighbours
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
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
    parser.add_argument("--reference", type=Path, help="an earlier run's curve.csv, drawn in grey for comparison")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    generator, step = load_generator(args.checkpoint)  # read once: a checkpoint is ~80 MB with its optimizers
    rows = [{"step": step, "split": split, "files": args.files,
             **copy_synthesis_scores(generator, pick_files(args.data, split, args.files))}
            for split in ("dev", "unseen")]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "curve.csv"
    curve = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    if not curve.empty:
        curve = curve[curve.step != step]
    curve = pd.concat([curve, pd.DataFrame(rows)]).sort_values(["step", "split"])
    curve.to_csv(path, index=False, float_format="%.4f")
    plot(curve, args.out / "curve.png", pd.read_csv(args.reference) if args.reference else None)
    for row in rows:
        print(f"step {step} {row['split']}: " + ", ".join(f"{m} {row[m]:.3f}" for m in METRICS)
              + "; reconstructed phase: " + ", ".join(f"{m} {row[RECONSTRUCTED[m]]:.3f}" for m in METRICS), file=sys.stderr)


if __name__ == "__main__":
    main()
