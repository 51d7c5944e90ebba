"""Where an ``ecc-mel`` model loses quality: mean L1 log-mel distance (the vocoder's log-mel, natural
log) to the input of

- ``ecc_audio``: an ECC model's decoded audio at the same operating point,
- ``predicted_mel``: the ``ecc-mel`` decoder's log-mel (what the vocoder is given),
- ``ecc_mel_audio``: the ``ecc-mel`` decoded audio (the vocoder run on that log-mel),
- ``copy_synthesis``: the vocoder run on the input's own log-mel (its ceiling),
- ``latent_frame_average``: the input's own log-mel averaged over each latent frame (the transform's
  ``downsample`` mel frames) and interpolated back: what a latent carrying only those averages would cost, a
  measure of how much the latent's frame rate alone smooths away.

``python -m benchmarks.mel_distance ECC_MEL.safetensors --ecc ecc/zoo/ecc.safetensors data/asterisk/test data/speech/unseen``
writes ``OUT.{md,csv}`` (default ``rd_curves/ecc_mel/mel_distance``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ecc.audio import load_audio
from ecc.neural_codec import load_codec

from .ecc_report import write_table
from .quick_compare import add_selection_arguments, spread_files


def frame_average(mel: torch.Tensor, period: int) -> torch.Tensor:
    """``mel`` ``[B, bands, T]`` averaged over blocks of ``period`` frames (the last one shorter) and
    linearly interpolated back to ``T`` frames."""
    frames = mel.shape[-1]
    pooled = torch.nn.functional.avg_pool1d(mel, period, period, ceil_mode=True)
    return torch.nn.functional.interpolate(pooled, scale_factor=period, mode="linear")[..., :frames]


@torch.no_grad()
def distances(ecc, ecc_mel, wav: torch.Tensor, q: float) -> dict[str, float]:
    """The five distances of one clip ``[1, N]`` at operating point ``q``."""
    analysis = ecc_mel.vocoder.analysis
    target = analysis(wav)
    samples = wav.shape[-1]

    def to_target(audio: np.ndarray) -> float:
        return (analysis(torch.from_numpy(audio)[None]) - target).abs().mean().item()

    predicted = ecc_mel.mel(ecc_mel.latent(ecc_mel.analyse(wav, target), "round", q).y_hat, target.shape[-1])
    return {"ecc_audio": to_target(ecc.at(q).compress(wav[0].numpy())[1]),
            "predicted_mel": (predicted - target).abs().mean().item(),
            "ecc_mel_audio": to_target(ecc_mel.at(q).compress(wav[0].numpy())[1]),
            "copy_synthesis": to_target(ecc_mel.vocoder(target, samples)[0].numpy()),
            "latent_frame_average": (frame_average(target, ecc_mel.config.transform.downsample) - target)
            .abs().mean().item()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mel_distance", description=__doc__.split("\n\n")[0])
    parser.add_argument("ecc_mel", type=Path, help="ecc-mel model file")
    parser.add_argument("data", nargs="+", type=Path, help="folders of held-out speech, one split each")
    parser.add_argument("--ecc", type=Path, default=Path("ecc/zoo/ecc.safetensors"), help="ECC model file to compare")
    add_selection_arguments(parser, files=12)
    parser.add_argument("--out", type=Path, default=Path("rd_curves/ecc_mel/mel_distance"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ecc, ecc_mel = load_codec(args.ecc), load_codec(args.ecc_mel)
    rows = []
    for folder in args.data:
        files = spread_files(folder, args.files, args.exclude)
        for q in (float(v) for v in args.q.split(",")):
            values = [distances(ecc, ecc_mel, torch.from_numpy(load_audio(f, ecc_mel.sample_rate).samples)[None], q)
                      for f in tqdm(files, desc=f"{folder} q={q:g}", unit="file", leave=False)]
            rows.append({"split": f"{folder.parent.name}/{folder.name}", "q": q, "files": len(files),
                         **{k: float(np.mean([v[k] for v in values])) for k in values[0]}})
    table = pd.DataFrame(rows)
    write_table(table, args.out, "Log-mel distance to the input: ECC, the ecc-mel decoder, the vocoder",
                f"Mean L1 distance of natural-log 80-band mel spectra (the vocoder's analysis) to the input's, over "
                f"{args.files} files per split. ECC: `{args.ecc}`; ecc-mel: `{args.ecc_mel}`. Columns: see "
                "`benchmarks/mel_distance.py`.")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
