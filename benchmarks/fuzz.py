"""Fuzzing the decoder: mutated ``.ecc`` streams through the public decode path, in process.

Each case takes a valid file or stream (real speech coded by a zoo model; format-4 files and the format-5
streaming framing) and mutates it: bit flips,
truncation, extension, splices of two streams, random bytes, header-field edits, and mutations of
the payload or header under a *recomputed* checksum (a buggy writer, a deliberate edit), which only
the decoder's own checks can catch. It is then decoded as ``ecc decode`` does (model found by the
hash the file carries). Outcomes per case:

- ``refused``: the library's error (:class:`~entropy.errors.BitstreamError`, or
  :class:`~ecc.zoo.UnknownModelError` for a hash no model has);
- ``accepted``: decoded without error. For a checksum-valid payload change this means the changed
  payload is itself exactly what the encoder writes for other symbols (see
  :meth:`~entropy.range_coder.RangeDecoder.verify`), or a sample-count edit that keeps every chunk's
  latent length: no check without added redundancy can catch these. ``unchanged`` counts mutations
  that left the bytes as they were.
- ``exception``: any other exception (a bug); ``hang``: over the per-case time limit (a bug).

``python -m benchmarks.fuzz --cases 100000`` writes ``rd_curves/fuzz.csv`` (per mutation kind) and
``rd_curves/fuzz.md``; a seeded slice runs in the test suite.
"""
from __future__ import annotations

import argparse
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ecc.audio import audio_files, load_audio
from ecc.zoo import UnknownModelError, load_model, load_model_by_hash
from entropy.bitstream import FORMAT_VERSION, MAGIC, Bitstream, StreamHeader, _check_value, frame_stream
from entropy.errors import BitstreamError

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
DEFAULT_MODELS = ("ecc-0k4", "ecc-1k5", "ecc-6k0", "ecc-mel-0k4", "ecc-mel-1k5")


class Hang(Exception):
    """A case ran past its time limit."""


@dataclass
class Outcomes:
    """Counts per mutation kind and outcome, examples of unexpected outcomes, and memory."""

    counts: Counter = field(default_factory=Counter)  # (kind, outcome) -> cases
    failures: list[str] = field(default_factory=list)  # "kind: ExceptionType: message" of exceptions and hangs
    peak_rss_mb: float = 0.0
    largest_rss_step_mb: float = 0.0  # the most one case raised the process's peak RSS

    def total(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.counts.items() if o == outcome)


def seed_streams(models: tuple[str, ...], clip_seconds: float = 1.0) -> list[bytes]:
    """Valid streams: each bundled clip's first ``clip_seconds`` coded by each model as a file
    (format 4) and as a stream of 0.32 s chunks (format 5), plus one two-chunk file per model
    (chunks are 20 s, so it is ~21 s long)."""
    from ecc.streaming import StreamEncoder

    clips = [load_audio(p).samples for p in audio_files(SAMPLES)]
    streams = []
    for name in models:
        model = load_model(name)
        for clip in clips:
            clip = clip[: int(clip_seconds * model.sample_rate)]
            streams.append(model.compress(clip)[0])
            encoder = StreamEncoder(model, 0.32)
            streams.append(encoder.push(clip) + encoder.finish())
        long = np.concatenate(clips * 10)[: model.chunk_samples + model.sample_rate]
        streams.append(model.compress(long)[0])
    return streams


def _recrc(body: bytes) -> bytes:
    """``body`` (a file container without its check bytes) closed with a valid CRC-16."""
    return body + _check_value(FORMAT_VERSION, body)


def _with(stream: Bitstream, **changes) -> bytes:
    """``stream`` with fields changed, every check recomputed: what a buggy writer would produce (for a
    stream, packet by packet, whatever the fields say)."""
    fields = dict(model_hash=stream.model_hash, sample_rate=stream.sample_rate, num_samples=stream.num_samples,
                  sections=stream.sections, chunk_samples=stream.chunk_samples, family=stream.family,
                  operating_point=stream.operating_point)
    fields.update(changes)
    if fields["chunk_samples"] is None:
        return Bitstream(**fields).to_bytes()
    sections = fields["sections"] or (b"",)
    last = fields["num_samples"] - fields["chunk_samples"] * (len(sections) - 1)
    header = StreamHeader(fields["model_hash"], fields["sample_rate"], fields["chunk_samples"], fields["family"],
                          fields["operating_point"])
    return frame_stream(header, sections, max(last, 0))


def _flip(data: bytes, rng: np.random.Generator, flips: int) -> bytes:
    out = bytearray(data)
    for _ in range(flips):
        bit = int(rng.integers(len(out) * 8))
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _payload(rng: np.random.Generator, stream: Bitstream, edit: Callable[[bytes], bytes]) -> bytes:
    i = int(rng.integers(len(stream.sections)))
    sections = list(stream.sections)
    sections[i] = edit(sections[i])
    return _with(stream, sections=tuple(sections))


def mutate(kind: str, data: bytes, other: bytes, rng: np.random.Generator, hashes: list[bytes]) -> bytes:
    """One mutation of ``data`` (``other``: a second valid stream, for splices and foreign payloads)."""
    n = len(data)
    if kind == "bit flips":
        return _flip(data, rng, int(rng.integers(1, 9)))
    if kind == "truncation":
        return data[: int(rng.integers(0, n))]
    if kind == "extension":
        return data + rng.bytes(int(rng.integers(1, 64)))
    if kind == "splice":
        return data[: int(rng.integers(0, n))] + other[int(rng.integers(0, len(other))):]
    if kind == "random bytes":
        head = MAGIC + b"\x02" if rng.random() < 0.5 else b""
        return head + rng.bytes(int(rng.integers(0, 2048)))
    stream = Bitstream.from_bytes(data)
    if kind == "header edit":  # a raw header byte or varint changed, checks recomputed
        if stream.chunk_samples is not None:  # a stream: edit the parsed header, re-frame
            field_ = ["sample_rate", "chunk_samples"][int(rng.integers(2))]
            value = int(rng.choice([0, 1, 8000, 16001, 2**24 + 1, getattr(stream, field_) + int(rng.integers(-9, 9))]))
            return _with(stream, **{field_: max(value, 1) if field_ == "sample_rate" else value})
        body = bytearray(data[:-2])
        pos = int(rng.integers(0, min(len(body), 16)))
        body[pos] = int(rng.integers(256))
        return _recrc(bytes(body))
    if kind == "crc-valid payload flips":
        return _payload(rng, stream, lambda s: _flip(s, rng, int(rng.integers(1, 5))) if s else b"\x01")
    if kind == "crc-valid payload cut":
        return _payload(rng, stream, lambda s: s[: int(rng.integers(0, max(len(s), 1)))])
    if kind == "crc-valid payload extended":
        return _payload(rng, stream, lambda s: s + rng.bytes(int(rng.integers(1, 16))))
    if kind == "crc-valid foreign payload":
        return _with(stream, sections=Bitstream.from_bytes(other).sections)
    if kind == "crc-valid sample count":
        choices = [stream.num_samples + int(rng.integers(-400, 400)), int(rng.integers(0, 2**20)),
                   int(rng.integers(2**20, 2**62))]
        return _with(stream, num_samples=max(0, choices[int(rng.integers(3))]))
    if kind == "crc-valid sections":
        merged = b"".join(stream.sections)
        cut = int(rng.integers(0, len(merged) + 1))
        options = [(merged,), (merged[:cut], merged[cut:]), stream.sections + (b"",), stream.sections[:-1]]
        return _with(stream, sections=options[int(rng.integers(len(options)))])
    if kind == "crc-valid model hash":
        return _with(stream, model_hash=hashes[int(rng.integers(len(hashes)))] if rng.random() < 0.8 else rng.bytes(4))
    if kind == "crc-valid sample rate":
        return _with(stream, sample_rate=int(rng.choice([8000, 16001, 48000, 1, 2**31])))
    raise ValueError(f"unknown mutation kind {kind!r}")


KINDS = ("bit flips", "truncation", "extension", "splice", "random bytes", "header edit", "crc-valid payload flips",
         "crc-valid payload cut", "crc-valid payload extended", "crc-valid foreign payload", "crc-valid sample count",
         "crc-valid sections", "crc-valid model hash", "crc-valid sample rate")


def decode(data: bytes) -> np.ndarray:
    """The public decode path of ``ecc decode``: the model named by the file's hash, then decompress."""
    return load_model_by_hash(Bitstream.from_bytes(data).model_hash).decompress(data)


def _alarm(signum, frame) -> None:
    raise Hang


def run(cases: int, seed: int = 0, models: tuple[str, ...] = DEFAULT_MODELS, time_limit: float = 10.0,
        progress: bool = True) -> Outcomes:
    """Fuzz ``cases`` mutated streams (kinds in turn, seeded); returns the outcome counts."""
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    streams = seed_streams(models)
    hashes = [Bitstream.from_bytes(s).model_hash for s in streams]
    weights = np.array([0.02 if len(Bitstream.from_bytes(s).sections) > 1 else 1.0 for s in streams])
    weights /= weights.sum()
    result = Outcomes()
    previous = signal.signal(signal.SIGALRM, _alarm)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        for i in tqdm(range(cases), desc="fuzz", unit="case", disable=not progress, mininterval=2):
            kind = KINDS[i % len(KINDS)]
            data = streams[int(rng.choice(len(streams), p=weights))]
            other = streams[int(rng.integers(len(streams)))]
            mutated = mutate(kind, data, other, rng, hashes)
            signal.setitimer(signal.ITIMER_REAL, time_limit)
            try:
                decode(mutated)
                outcome = "unchanged" if mutated == data else "accepted"
            except (BitstreamError, UnknownModelError):
                outcome = "refused"
            except Hang:
                outcome = "hang"
                result.failures.append(f"{kind}: over {time_limit} s")
            except Exception as exc:  # a bug: report, keep fuzzing
                outcome = "exception"
                result.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            result.counts[(kind, outcome)] += 1
            now = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            result.largest_rss_step_mb = max(result.largest_rss_step_mb, (now - peak) / 1024)
            peak = now
    finally:
        signal.signal(signal.SIGALRM, previous)
    result.peak_rss_mb = peak / 1024
    return result


def table(result: Outcomes) -> pd.DataFrame:
    outcomes = ("refused", "accepted", "unchanged", "exception", "hang")
    rows = [{"mutation": kind, **{o: result.counts[(kind, o)] for o in outcomes}} for kind in KINDS]
    frame = pd.DataFrame(rows)
    frame.loc[len(frame)] = {"mutation": "all", **{o: int(frame[o].sum()) for o in outcomes}}
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description="Fuzz the decoder with mutated streams.")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated zoo models")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per case before it counts as a hang")
    parser.add_argument("--out", type=Path, default=Path("rd_curves"))
    args = parser.parse_args(argv)
    models = tuple(m for m in args.models.split(",") if m)
    start = time.time()
    result = run(args.cases, args.seed, models, args.time_limit)
    frame = table(result)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "fuzz.csv", index=False)
    failures = "\n".join(f"- {f}" for f in result.failures[:20]) or "none"
    (args.out / "fuzz.md").write_text(
        f"# Decoder fuzzing\n\n`python -m benchmarks.fuzz --cases {args.cases} --seed {args.seed} --models {','.join(models)}`"
        f" ({time.time() - start:.0f} s, one thread; per-case limit {args.time_limit:g} s).\n\n"
        f"Peak RSS {result.peak_rss_mb:.0f} MB; the most one case raised it: {result.largest_rss_step_mb:.1f} MB.\n\n"
        + frame.to_markdown(index=False) + "\n\n" + __doc__.split("\n\n")[1] + "\n\n"
        + "Outcomes: " + __doc__.split("Outcomes per case:")[1].split("``python -m")[0].strip()
        + f"\n\nExceptions and hangs (first 20):\n{failures}\n")
    print(frame.to_string(index=False))
    print(f"peak RSS {result.peak_rss_mb:.0f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
