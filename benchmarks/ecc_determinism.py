"""Cross-thread exactness of ECC coding (``python -m benchmarks.ecc_determinism``): encode with one
torch thread count and decode with another, in separate processes, and compare the decoder's
latents (every symbol of every slice and chunk) and audio with the encoder's. Writes
``rd_curves/ecc_determinism.{md,csv}``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ecc.audio import audio_files
from benchmarks.ecc_report import write_table
from ecc.audio import load_audio
from ecc.zoo import list_models, load_model
from entropy.bitstream import Bitstream


def _encode(name: str, clips: list[str], out: Path) -> None:
    """Write each clip's ``.ecc`` file, encoder-side reconstruction and quantized latents (one per chunk)."""
    model = load_model(name)
    for i, clip in enumerate(clips):
        samples = load_audio(clip, model.sample_rate).samples
        data, recon = model.compress(samples)
        sections = Bitstream.from_bytes(data).sections
        latents = []
        for chunk, section in zip(model.split(samples), sections):
            coded, y_hat = model.encode_chunk(chunk)
            latents.append(y_hat.numpy())
            if coded != section:
                raise RuntimeError(f"{clip}: re-encoding a chunk gave other bytes")
        (out / f"{i}.ecc").write_bytes(data)
        np.save(out / f"{i}.recon.npy", recon)
        np.savez(out / f"{i}.latents.npz", *latents)


def _decode(name: str, count: int, out: Path) -> None:
    """Decode each ``.ecc`` file written by :func:`_encode`: audio, and the latents of every chunk."""
    model = load_model(name)
    for i in range(count):
        stream = model.open_bitstream((out / f"{i}.ecc").read_bytes())
        latents = [model.decode_latent(section, samples, stream.operating_point).numpy()
                   for samples, section in zip(model._chunk_lengths(stream.num_samples), stream.sections)]
        np.save(out / f"{i}.decoded.npy", np.concatenate(list(model.decompress_chunks(stream))))
        np.savez(out / f"{i}.latents_decoded.npz", *latents)


def _run(threads: int, role: str, name: str, out: Path, clips: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "benchmarks.ecc_determinism", "--worker", role, "--threads", str(threads),
                    "--models", name, "--out", str(out), *clips], check=True)


def check(name: str, clips: list[str], encode_threads: int, decode_threads: int) -> dict:
    """Encode ``clips`` with ``encode_threads`` and decode with ``decode_threads`` (separate processes)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _run(encode_threads, "encode", name, out, clips)
        _run(decode_threads, "decode", name, out, clips)
        same_latents, worst = 0, 0.0
        for i in range(len(clips)):
            sent, got = np.load(out / f"{i}.latents.npz"), np.load(out / f"{i}.latents_decoded.npz")
            same_latents += len(sent.files) == len(got.files) and all(np.array_equal(sent[k], got[k]) for k in sent.files)
            worst = max(worst, float(np.abs(np.load(out / f"{i}.decoded.npy") - np.load(out / f"{i}.recon.npy")).max()))
    return {"model": name, "encode_threads": encode_threads, "decode_threads": decode_threads, "files": len(clips),
            "files_with_identical_latents": same_latents, "max_abs_audio_diff": worst}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ecc_determinism", description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", help="audio files (default: every file under --data)")
    parser.add_argument("--data", default="data/asterisk/test", help="folder of clips when none are given")
    parser.add_argument("--models", default=None, help="comma-separated zoo names (default: the whole zoo)")
    parser.add_argument("--out", default="rd_curves/ecc_determinism", help="output stem (.md and .csv)")
    parser.add_argument("--worker", choices=["encode", "decode"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        torch.set_num_threads(args.threads)
        if args.worker == "encode":
            _encode(args.models, args.clips, Path(args.out))
        else:
            _decode(args.models, len(args.clips), Path(args.out))
        return
    clips = args.clips or [str(p) for p in audio_files(args.data)]
    names = args.models.split(",") if args.models else [e.name for e in list_models()]
    rows = [check(name, clips, enc, dec) for name in names for enc, dec in ((1, 2), (2, 1))]
    table = pd.DataFrame(rows)
    write_table(table, Path(args.out), "ECC: the decoder recovers the encoder's latents and audio, across thread counts",
                f"Clips: {args.data if not args.clips else f'{len(clips)} given files'}. Each row encodes every clip in "
                "one process with `encode_threads` torch threads and decodes in another with `decode_threads`; latents "
                "are compared symbol by symbol (every slice, every chunk), audio against the encoder-side "
                "reconstruction.", floatfmt=".2e")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
