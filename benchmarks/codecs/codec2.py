"""Codec 2 (c2enc/c2dec), 8 kHz narrowband: input resampled 16 -> 8 kHz, output back to 16 kHz."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .base import HARNESS_RATE, Codec, CodedAudio, from_pcm16, require_binary, resample, run, to_pcm16

# mode -> (bits per frame, frame seconds)
_MODES = {"3200": (64, 0.02), "2400": (48, 0.02), "1600": (64, 0.04), "1400": (56, 0.04),
          "1300": (52, 0.04), "1200": (48, 0.04), "700C": (28, 0.04)}


class Codec2(Codec):
    """``payload_bits`` = frames x bits per frame; ``file_bits`` = the headerless .bit file
    (each frame padded to whole bytes)."""

    name = "codec2"
    description = "Codec 2 (8 kHz), modes 3200..700C"

    @property
    def points(self) -> dict[str, float]:
        return {mode: bits / seconds / 1000 for mode, (bits, seconds) in _MODES.items()}

    def check(self) -> None:
        require_binary("c2enc", "c2dec", package="codec2")

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        bits, seconds = _MODES[point]
        with tempfile.TemporaryDirectory() as tmp:
            src, coded, out = Path(tmp) / "in.raw", Path(tmp) / "out.bit", Path(tmp) / "out.raw"
            src.write_bytes(to_pcm16(resample(audio, HARNESS_RATE, 8000)))
            run(["c2enc", point, str(src), str(coded)])
            run(["c2dec", point, str(coded), str(out)])
            size = coded.stat().st_size
            decoded = from_pcm16(out.read_bytes())
        frames = size // ((bits + 7) // 8)
        return CodedAudio(resample(decoded, 8000, HARNESS_RATE), frames * bits, 8 * size)
