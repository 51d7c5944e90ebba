"""ECC zoo report (``python -m benchmarks.ecc_report``): real file bitrate against the model's own
estimate on the dev split, and coding speed on one thread. Writes ``rd_curves/ecc_zoo.{md,csv}``.

Quality on the test split comes from ``ecc bench data/asterisk/test --codecs ecc,...``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ecc.audio import audio_files
from ecc.audio import load_audio
from ecc.zoo import UnknownModelError, entry, list_models, load_model
from entropy.bitstream import Bitstream


def rate_check(name: str, files: list[Path]) -> dict:
    """Bits of real files vs the model's ideal code length, summed over ``files``; and the same for
    all of ``files`` joined into one file, where the container's fixed cost is spread thin."""
    model = load_model(name)
    seconds = file_bits = payload_bits = estimate = 0.0
    clips = []
    for path in tqdm(files, desc=f"{name} dev", unit="file", leave=False):
        audio = load_audio(path, model.sample_rate).samples
        clips.append(audio)
        data, _ = model.compress_chunks(model.split(audio))  # no reconstruction: only the bytes count
        stream = Bitstream.from_bytes(data)
        seconds += len(audio) / model.sample_rate
        file_bits += 8 * len(data)
        payload_bits += 8 * stream.payload_bytes
        estimate += model.estimate_bits(audio)
    joined = np.concatenate(clips)
    joined_bits = 8 * len(model.compress_chunks(model.split(joined))[0])
    return {"model": name, "dev_files": len(files), "dev_seconds": round(seconds, 1),
            "file_kbps": file_bits / seconds / 1000, "payload_kbps": payload_bits / seconds / 1000,
            "estimated_kbps": estimate / seconds / 1000, "file_over_estimate": file_bits / estimate,
            "payload_over_estimate": payload_bits / estimate,
            "one_file_over_estimate": joined_bits / model.estimate_bits(joined)}


def speed(name: str, clip: np.ndarray, repeats: int = 3) -> dict:
    """Best-of encode and decode time of ``clip`` on one thread; x real time. Encoding writes the
    bytes only, as ``ecc encode`` does (no encoder-side reconstruction)."""
    model = load_model(name)
    model.decompress(model.compress_chunks(model.split(clip[: model.sample_rate]))[0])  # warm-up
    enc = dec = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        data, _ = model.compress_chunks(model.split(clip))
        mid = time.perf_counter()
        model.decompress(data)
        end = time.perf_counter()
        enc, dec = min(enc, mid - start), min(dec, end - mid)
    seconds = len(clip) / model.sample_rate
    return {"encode_s": enc, "decode_s": dec, "x_realtime_enc_dec": seconds / (enc + dec)}


def write_table(table: pd.DataFrame, stem: Path, title: str, intro: str, floatfmt: str = ".3f") -> None:
    """Write ``table`` as ``stem.csv`` and as ``stem.md`` (a title, a paragraph, the table)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".md").write_text(f"# {title}\n\n{intro}\n\n" + table.to_markdown(index=False, floatfmt=floatfmt) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ecc_report", description=__doc__.splitlines()[0])
    parser.add_argument("--dev", default="data/asterisk/dev", help="dev split folder")
    parser.add_argument("--speech", default="samples", help="folder whose files make the 10 s speed clip")
    parser.add_argument("--out", default="rd_curves/ecc_zoo", help="output stem (.md and .csv)")
    parser.add_argument("--models", help="comma-separated model names (default: every model the zoo lists)")
    args = parser.parse_args(argv)
    try:
        entries = [entry(name) for name in args.models.split(",")] if args.models else list_models()
    except UnknownModelError as exc:
        parser.error(str(exc))
    torch.set_num_threads(1)
    clip = np.concatenate([load_audio(p).samples for p in audio_files(args.speech)])
    clip = np.resize(clip, 10 * 16000)
    rows = []
    for e in entries:
        rows.append({**rate_check(e.name, audio_files(args.dev)), **speed(e.name, clip)})
    table = pd.DataFrame(rows)
    write_table(table, Path(args.out), "ECC zoo: real bitrate vs the model's estimate (dev split), and speed",
                f"Dev split: `{args.dev}`. file = whole .ecc files (header, check bytes, length prefixes); payload = "
                "range-coded sections; estimate = ideal -log2 likelihood of every coded symbol under the decoder-side "
                "model; one_file = the whole dev split joined into one .ecc file (20 s sections), against its own "
                "estimate. Speed: 10 s of speech, encode (bytes only, as `ecc encode`) + decode, one thread, best of 3.")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
