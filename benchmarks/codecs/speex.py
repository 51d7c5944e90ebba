"""Speex wideband (speexenc/speexdec), constant bitrate at quality levels."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from .base import HARNESS_RATE, Codec, CodedAudio, ogg_packet_sizes, require_binary, resample, run, write_wav

# wideband CBR bitrates of speex 1.2 quality levels (speexenc reports them)
_QUALITY_KBPS = {0: 3.95, 1: 5.75, 2: 7.75, 3: 9.8, 4: 12.8, 5: 16.8, 6: 20.6, 8: 27.8}


class SpeexWB(Codec):
    name = "speex"
    description = "Speex wideband (16 kHz), CBR quality levels, Ogg"

    @property
    def points(self) -> dict[str, float]:
        return {f"q{q}": kbps for q, kbps in _QUALITY_KBPS.items()}

    def check(self) -> None:
        require_binary("speexenc", "speexdec", package="speex")

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        with tempfile.TemporaryDirectory() as tmp:
            src, coded, out = Path(tmp) / "in.wav", Path(tmp) / "out.spx", Path(tmp) / "out.wav"
            write_wav(src, audio, HARNESS_RATE)
            run(["speexenc", "--quiet", "--wideband", "--quality", point[1:], str(src), str(coded)])
            run(["speexdec", "--quiet", str(coded), str(out)])
            data = coded.read_bytes()
            decoded, rate = sf.read(out, dtype="float32")
        packets = ogg_packet_sizes(data)[2:]  # Speex header and comment packets
        return CodedAudio(resample(decoded, rate, HARNESS_RATE), 8 * sum(packets), 8 * len(data))
