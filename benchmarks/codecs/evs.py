"""EVS through a user-supplied 3GPP reference build (``EVS_cod`` / ``EVS_dec``, TS 26.443).

No package ships EVS: set ``EVS_BIN_DIR`` (or pass ``bin_dir``) to the folder holding the two
programs. Without them the codec reports itself unavailable and sweeps skip it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .base import Codec, CodecUnavailable, CodedAudio, from_pcm16, run, to_pcm16

_RATES_KBPS = (7.2, 8.0, 9.6, 13.2, 16.4, 24.4)
_G192_SYNC = (0x6B21, 0x6B20)


def g192_payload_bits(data: bytes) -> int:
    """Sum of the frame lengths of a G.192 bitstream (sync word, length, one 16-bit word per bit)."""
    words = np.frombuffer(data[: len(data) // 2 * 2], dtype="<u2")
    pos = total = 0
    while pos + 1 < len(words):
        if words[pos] not in _G192_SYNC:
            raise ValueError("malformed G.192 stream")
        length = int(words[pos + 1])
        total += length
        pos += 2 + length
    return total


class EVS(Codec):
    name = "evs"
    description = "EVS (3GPP reference EVS_cod/EVS_dec, user supplied), wideband"

    def __init__(self, bin_dir: str | os.PathLike | None = None) -> None:
        self.bin_dir = bin_dir or os.environ.get("EVS_BIN_DIR")

    @property
    def points(self) -> dict[str, float]:
        return {f"{k:g}k": k for k in _RATES_KBPS}

    def _program(self, name: str) -> str | None:
        if self.bin_dir:
            path = Path(self.bin_dir) / name
            return str(path) if path.is_file() and os.access(path, os.X_OK) else None
        return shutil.which(name)

    def check(self) -> None:
        if not (self._program("EVS_cod") and self._program("EVS_dec")):
            where = f"in {self.bin_dir}" if self.bin_dir else "on PATH"
            raise CodecUnavailable(f"EVS reference binaries EVS_cod/EVS_dec not found {where}; build the 3GPP "
                                   "TS 26.443 reference code and set EVS_BIN_DIR to their folder")

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        bitrate = f"{self.points[point] * 1000:.0f}"
        with tempfile.TemporaryDirectory() as tmp:
            src, coded, out = Path(tmp) / "in.raw", Path(tmp) / "out.g192", Path(tmp) / "out.raw"
            src.write_bytes(to_pcm16(audio))
            run([self._program("EVS_cod"), "-q", bitrate, "16", str(src), str(coded)])
            run([self._program("EVS_dec"), "-q", "16", str(coded), str(out)])
            bits = g192_payload_bits(coded.read_bytes())
            decoded = from_pcm16(out.read_bytes())
        return CodedAudio(decoded, bits, bits)
