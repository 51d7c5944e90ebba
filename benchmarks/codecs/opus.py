"""Opus (libopus through ffmpeg): VoIP application, 20 ms frames, VBR or hard CBR."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .base import HARNESS_RATE, Codec, CodedAudio, from_pcm16, ogg_packet_sizes, require_binary, run, write_wav


class Opus(Codec):
    """``payload_bits`` = Opus packets; ``file_bits`` = the Ogg Opus file (headers, pages, tags)."""

    def __init__(self, cbr: bool = False) -> None:
        self.cbr = cbr
        self.name = "opus-cbr" if cbr else "opus"
        self.description = f"Opus {'hard-CBR' if cbr else 'VBR'}, libopus via ffmpeg, voip, 20 ms, 16 kHz"

    @property
    def points(self) -> dict[str, float]:
        return {f"{k:g}k": float(k) for k in (6, 7, 8, 10, 12, 16, 24)}

    def check(self) -> None:
        require_binary("ffmpeg", package="ffmpeg")

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        with tempfile.TemporaryDirectory() as tmp:
            src, coded = Path(tmp) / "in.wav", Path(tmp) / "out.opus"
            write_wav(src, audio, HARNESS_RATE)
            run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), "-c:a", "libopus", "-application", "voip",
                 "-frame_duration", "20", "-b:a", f"{self.points[point] * 1000:.0f}", "-vbr", "off" if self.cbr else "on",
                 "-f", "ogg", str(coded)])
            data = coded.read_bytes()
            pcm = run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(coded), "-f", "s16le", "-ac", "1",
                       "-ar", str(HARNESS_RATE), "-"])
        packets = ogg_packet_sizes(data)[2:]  # OpusHead and OpusTags are headers
        return CodedAudio(from_pcm16(pcm), 8 * sum(packets), 8 * len(data))
