"""Streaming benchmark: exactness against file mode on every file of a split, latency and speed per
chunk on one thread, and memory over an hour-long stream.

``python -m benchmarks.streaming --data data/speech/test`` writes ``rd_curves/streaming.md`` and
``rd_curves/streaming.csv`` (per file).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ecc.audio import audio_files, load_audio
from ecc.streaming import STREAM_CHUNK_SECONDS, StreamDecoder, StreamEncoder
from ecc.zoo import DEFAULT_MODEL, load_model
from entropy.bitstream import Bitstream


def stream_bytes(model, audio: np.ndarray, chunk_seconds: float, piece: int = 320) -> bytes:
    """``audio`` pushed through a :class:`StreamEncoder` ``piece`` samples at a time (20 ms)."""
    encoder = StreamEncoder(model, chunk_seconds)
    return b"".join(encoder.push(audio[i : i + piece]) for i in range(0, len(audio), piece)) + encoder.finish()


def stream_decode(data: bytes, piece: int = 64) -> np.ndarray:
    decoder = StreamDecoder()
    out = [decoder.push(data[i : i + piece]) for i in range(0, len(data), piece)]
    decoder.finish()
    return np.concatenate(out)


def exactness(model, files: list[Path], chunk_seconds: float) -> pd.DataFrame:
    """Per file: stream sections and decoded samples vs file mode of the same chunking."""
    chunked = copy.deepcopy(model)
    chunked.config = dataclasses.replace(model.config, chunk_seconds=chunk_seconds)
    rows = []
    for path in tqdm(files, desc=f"{chunk_seconds:g} s chunks", unit="file"):
        audio = load_audio(path).samples
        file_data, reconstruction = chunked.compress(audio)
        data = stream_bytes(model, audio, chunk_seconds)
        decoded = stream_decode(data)
        rows.append({"file": str(path), "chunk_s": chunk_seconds, "seconds": len(audio) / model.sample_rate,
                     "same_sections": Bitstream.from_bytes(data).sections == Bitstream.from_bytes(file_data).sections,
                     "same_samples": bool(np.array_equal(decoded, reconstruction)),
                     "stream_bytes": len(data), "file_bytes": len(file_data)})
    return pd.DataFrame(rows)


def chunk_speed(model, speech: np.ndarray, chunk_seconds: float, chunks: int = 30) -> dict:
    """Mean encode and decode time of one chunk on one thread, as a fraction of the chunk's duration."""
    encoder = StreamEncoder(model, chunk_seconds)
    n = encoder.chunk_samples
    enc = dec = 0.0
    for i in range(chunks):
        chunk = speech[(i * n) % (len(speech) - n) :][:n]
        start = time.perf_counter()
        section, _ = model.encode_chunk(chunk)
        enc += time.perf_counter() - start
        start = time.perf_counter()
        model.decode_chunk(section, n)
        dec += time.perf_counter() - start
    seconds = chunks * n / model.sample_rate
    return {"chunk_ms": 1000 * n / model.sample_rate, "encode_rtf": enc / seconds, "decode_rtf": dec / seconds}


def long_stream(model, speech: np.ndarray, minutes: int, chunk_seconds: float) -> list[dict]:
    """Encode and decode ``minutes`` of speech (the clips looped) as one stream; peak RSS each minute."""
    encoder, decoder = StreamEncoder(model, chunk_seconds), StreamDecoder()
    rows, coded = [], 0
    second = model.sample_rate
    for minute in tqdm(range(minutes), desc="long stream", unit="min"):
        for s in range(60):
            start = ((minute * 60 + s) * second) % (len(speech) - second)
            data = encoder.push(speech[start : start + second])
            coded += len(data)
            decoder.push(data)
        rows.append({"minute": minute + 1, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                     "kbps": coded * 8 / ((minute + 1) * 60) / 1000})
    decoder.push(encoder.finish())
    decoder.finish()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streaming", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/speech/test", help="folder of speech files")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--minutes", type=int, default=60, help="length of the long stream")
    parser.add_argument("--out", type=Path, default=Path("rd_curves"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.model)
    files = audio_files(args.data)
    per_file = pd.concat([exactness(model, files, model.chunk_samples / model.sample_rate),
                          exactness(model, files, STREAM_CHUNK_SECONDS)])
    speech = np.concatenate([load_audio(p).samples for p in files[:40]])
    speeds = [chunk_speed(model, speech, s) for s in (0.32, STREAM_CHUNK_SECONDS, 4.0)]
    rss = long_stream(model, speech, args.minutes, STREAM_CHUNK_SECONDS)
    args.out.mkdir(parents=True, exist_ok=True)
    per_file.to_csv(args.out / "streaming.csv", index=False)
    summary = per_file.groupby("chunk_s").agg(files=("file", "count"), same_sections=("same_sections", "sum"),
                                              same_samples=("same_samples", "sum"), seconds=("seconds", "sum"),
                                              stream_bytes=("stream_bytes", "sum"), file_bytes=("file_bytes", "sum"))
    summary["stream_kbps"] = summary.stream_bytes * 8 / summary.seconds / 1000
    summary["file_kbps"] = summary.file_bytes * 8 / summary.seconds / 1000
    (args.out / "streaming.md").write_text(
        f"# Streaming ({args.model})\n\n`python -m benchmarks.streaming --data {args.data} --minutes {args.minutes}`, "
        "one torch thread (the vocoder's training job ran beside it on the 2 cores, so times are pessimistic).\n\n## Identical to file mode\n\nEach file pushed 20 ms at a time through `StreamEncoder`, "
        "the bytes 64 at a time through `StreamDecoder`; compared with file mode (`compress`) of the same chunk "
        "length (20 s: the zoo model itself; 1 s: the model with `chunk_seconds=1`). File kbps: format-4 files "
        "(at 1 s chunks, one section per second); stream kbps: the streamable framing (format 5).\n\n"
        + summary.reset_index().to_markdown(index=False, floatfmt=".3f")
        + "\n\n## Latency and speed per chunk (one thread)\n\nAlgorithmic latency = one chunk: each chunk is "
        "analysed on its own, so nothing after it is waited for; add the time to code and decode it.\n\n"
        + pd.DataFrame(speeds).to_markdown(index=False, floatfmt=".3f")
        + f"\n\n## Memory over a {args.minutes}-minute stream ({STREAM_CHUNK_SECONDS:g} s chunks, encoder and decoder "
        "in one process)\n\n" + pd.DataFrame(rss).iloc[sorted({0, len(rss) // 4, len(rss) // 2, len(rss) - 1})].to_markdown(index=False, floatfmt=".1f")
        + "\n")
    print((args.out / "streaming.md").read_text())


if __name__ == "__main__":
    main()
