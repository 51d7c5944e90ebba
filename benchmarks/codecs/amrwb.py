"""AMR-WB (ffmpeg libvo_amrwbenc encoder, libavcodec decoder), 3GPP storage format."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .base import HARNESS_RATE, Codec, CodecUnavailable, CodedAudio, from_pcm16, require_binary, run, write_wav

_MODES_KBPS = (6.6, 8.85, 12.65, 14.25, 15.85, 18.25, 19.85, 23.05, 23.85)
_FRAME_BYTES = (17, 23, 32, 36, 40, 46, 50, 58, 60, 5)  # speech bytes per 20 ms frame, by frame type (9 = SID)
_MAGIC = b"#!AMR-WB\n"


def amr_wb_payload_bytes(data: bytes) -> int:
    """Speech/SID bytes of an AMR-WB storage file (magic and per-frame ToC bytes excluded)."""
    if not data.startswith(_MAGIC):
        raise ValueError("not an AMR-WB storage file")
    pos, total = len(_MAGIC), 0
    while pos < len(data):
        frame_type = (data[pos] >> 3) & 0x0F
        size = _FRAME_BYTES[frame_type] if frame_type < len(_FRAME_BYTES) else 0
        total += size
        pos += 1 + size
    return total


class AMRWB(Codec):
    name = "amrwb"
    description = "AMR-WB (G.722.2), libvo_amrwbenc via ffmpeg, DTX off"

    @property
    def points(self) -> dict[str, float]:
        return {f"{k:g}k": k for k in _MODES_KBPS}

    def check(self) -> None:
        require_binary("ffmpeg", package="ffmpeg libavcodec-extra")
        encoders = run(["ffmpeg", "-hide_banner", "-encoders"]).decode()
        if "libvo_amrwbenc" not in encoders:
            raise CodecUnavailable("ffmpeg lacks libvo_amrwbenc: install the Debian package libavcodec-extra")

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        with tempfile.TemporaryDirectory() as tmp:
            src, coded = Path(tmp) / "in.wav", Path(tmp) / "out.amr"
            write_wav(src, audio, HARNESS_RATE)
            run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), "-c:a", "libvo_amrwbenc",
                 "-b:a", f"{self.points[point] * 1000:.0f}", "-f", "amr", str(coded)])
            data = coded.read_bytes()
            pcm = run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(coded), "-f", "s16le", "-ac", "1",
                       "-ar", str(HARNESS_RATE), "-"])
        return CodedAudio(from_pcm16(pcm), 8 * amr_wb_payload_bytes(data), 8 * len(data))
