"""Copy-synthesis quality of vocoders (speech -> their features -> speech): the ceiling a codec that
decodes to those features can reach. Vocoders: ``lpcnet`` (LPCNet from libcodec2, 55 features per
10 ms) and ``shared=FILE`` (the project's shared vocoder, 80-band log-mel at 100 frames/s: a training
checkpoint, or a file of ``ecc export-vocoder`` with the phase source it was exported with).

``--frame-average 1,2,4`` also runs the shared vocoder on the input's log-mel averaged over blocks of
2 and 4 frames (:func:`benchmarks.mel_distance.frame_average`): the quality left by a latent at 50 or
25 frames/s that carried only each frame's average, i.e. how much detail a codec's latent must carry
inside its frames. ``--pca 4x48`` runs it on the log-mel's blocks of 4 frames projected on their first 48
principal components (:class:`ecc.transforms.klt.BlockPCA`, fit on ``--pca-files`` training files):
what a linear 48-channel latent at 25 frames/s would give, unquantized.

``python -m benchmarks.copy_synthesis --vocoders lpcnet,shared=runs/vocoder/last.pt --splits test,unseen``
writes ``rd_curves/copy_synthesis.md`` and ``.csv`` (files spread evenly over each split).
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ecc.audio import load_audio
from ecc.transforms.klt import BlockPCA

from .mel_distance import frame_average
from .metrics import evaluate
from .vocoder_curve import pick_files

METRICS = ["pesq", "stoi", "visqol"]


def vocoders(spec: str, blocks: list[int], pca: list[tuple[int, int]] = (),
             fit_files: list[Path] = ()) -> list[tuple[str, Callable[[np.ndarray], np.ndarray]]]:
    """``lpcnet`` or ``shared=FILE`` -> (label, copy-synthesis function on 16 kHz samples) pairs:
    one for LPCNet; for the shared vocoder one per block size in ``blocks`` (1: its plain copy
    synthesis; ``b`` > 1: its input log-mel averaged over blocks of ``b`` frames first) and one per
    ``(block, dims)`` in ``pca`` (its input log-mel through a :class:`BlockPCA` fit on ``fit_files``)."""
    if spec == "lpcnet":
        from .codecs.lpcnet import LPCNetVocoder

        return [("lpcnet", LPCNetVocoder().copy_synthesis)]
    name, _, vocoder_file = spec.partition("=")
    if name != "shared" or not vocoder_file:
        raise ValueError(f"unknown vocoder {spec!r}; use lpcnet or shared=FILE")
    if min(blocks, default=1) < 1 or min((v for p in pca for v in p), default=1) < 1:
        raise ValueError(f"frame-average block sizes and PCA shapes must be >= 1, got {blocks} and {pca}")
    if pca and not fit_files:
        raise ValueError("a PCA view needs files to fit it on")
    from ecc.vocoder_train import read_vocoder

    generator, step = read_vocoder(vocoder_file)

    def through(view: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[np.ndarray], np.ndarray]:
        @torch.no_grad()
        def run(audio: np.ndarray) -> np.ndarray:
            wav = torch.from_numpy(audio)[None]
            return generator(view(generator.analysis(wav)), wav.shape[-1])[0].numpy()

        return run

    label = f"shared ({'' if step is None else f'step {step}, '}{generator.config.phase} phase)"
    runs = [(label, through(lambda mel: mel)) if block == 1 else
            (f"{label}, log-mel averaged over {block} frames", through(lambda mel, block=block: frame_average(mel, block)))
            for block in blocks]
    if pca:
        with torch.no_grad():
            mels = [generator.analysis(torch.from_numpy(load_audio(path).samples)[None]) for path in fit_files]
        runs += [(f"{label}, log-mel blocks of {block} frames through {dims} principal components",
                  through(BlockPCA.fit(mels, block, dims))) for block, dims in pca]
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.copy_synthesis", description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocoders", default="lpcnet", help="comma list: lpcnet, shared=FILE (training checkpoint or exported vocoder)")
    parser.add_argument("--data", type=Path, default=Path("data/speech"), help="corpus of `ecc prepare-data --recipe speech`")
    parser.add_argument("--splits", default="test,unseen")
    parser.add_argument("--frame-average", default="1", help="comma list of log-mel block sizes for the shared "
                        "vocoder (1: plain copy synthesis; 4: averaged over 40 ms, a 25 frames/s latent's frame)")
    parser.add_argument("--pca", default="", help="comma list of BLOCKxDIMS log-mel PCA codes for the shared vocoder "
                        "(4x48: 4-frame blocks through 48 components, a linear [48, 25 frames/s] latent)")
    parser.add_argument("--pca-files", type=int, default=300, help="train-split files the PCA is fit on")
    parser.add_argument("--files", type=int, default=60, help="files per split (spread evenly; at least 1 s long)")
    parser.add_argument("--out", type=Path, default=Path("rd_curves"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    blocks = [int(b) for b in args.frame_average.split(",")]
    pca = [(int(b), int(d)) for b, _, d in (p.partition("x") for p in args.pca.split(",") if p)]
    fit_files = pick_files(args.data, "train", args.pca_files) if pca else []
    for label, run in (pair for spec in args.vocoders.split(",") for pair in vocoders(spec, blocks, pca, fit_files)):
        for split in args.splits.split(","):
            for path in tqdm(pick_files(args.data, split, args.files), desc=f"{label} {split}", unit="file"):
                audio = load_audio(path).samples
                scores = evaluate(audio, run(audio), 16000, METRICS)
                rows.append({"vocoder": label, "split": split, "file": str(path), **scores.values})
    per_file = pd.DataFrame(rows)
    table = per_file.groupby(["vocoder", "split"], sort=False).agg(files=("file", "count"),
                                                                  **{m: (m, "mean") for m in METRICS}).reset_index()
    args.out.mkdir(parents=True, exist_ok=True)
    per_file.to_csv(args.out / "copy_synthesis.csv", index=False)
    (args.out / "copy_synthesis.md").write_text(
        f"# Vocoder copy-synthesis\n\n`python -m benchmarks.copy_synthesis --vocoders {args.vocoders} --data {args.data} "
        f"--splits {args.splits} --frame-average {args.frame_average}"
        f"{f' --pca {args.pca} --pca-files {args.pca_files}' if pca else ''} --files {args.files}`: speech -> the vocoder's features -> speech, unquantized, on "
        "held-out files (`test`: seen voices; `unseen`: voices held out of training whole). Means over the files; "
        "ViSQOL speech mode with the lattice model. A row \"log-mel averaged over N frames\" ran the vocoder on the "
        "input's log-mel averaged over blocks of N frames (N × 10 ms): what a latent at 100/N frames/s would give if "
        "it carried only each frame's average; \"blocks of B frames through D principal components\": on its blocks of B "
        "frames projected on their first D principal components (fit on train-split files), what a linear D-channel "
        "latent at 100/B frames/s would give, unquantized.\n\n" + table.to_markdown(index=False, floatfmt=".3f") + "\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
