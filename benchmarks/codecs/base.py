"""The one interface every codec in the harness implements, ours and the baselines."""
from __future__ import annotations

import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

HARNESS_RATE = 16000


class CodecUnavailable(RuntimeError):
    """A codec cannot run here: its binary, library or weights are missing."""


@dataclass(frozen=True)
class CodedAudio:
    """Result of coding one file at one operating point.

    ``audio``: decoded mono float32 ``[N']`` at :data:`HARNESS_RATE` (delay not removed);
    ``payload_bits``: the codec's own bits (packets/frames, no container);
    ``file_bits``: what the coded file costs on disk (container included).
    """

    audio: np.ndarray
    payload_bits: int
    file_bits: int


class Codec(ABC):
    """A codec with named operating points (``label -> nominal kbps``)."""

    name: str = ""
    description: str = ""

    @property
    @abstractmethod
    def points(self) -> dict[str, float]:
        """The real operating points: label -> nominal kbps."""

    def check(self) -> None:
        """Raise :class:`CodecUnavailable` with a clear message if the codec cannot run here."""

    def version(self, point: str) -> str:
        """What identifies the coder behind ``point`` (cached results of another version are stale)."""
        return ""

    def code(self, audio: np.ndarray, point: str) -> CodedAudio:
        """Encode and decode mono float ``audio`` at :data:`HARNESS_RATE`, at operating point ``point``."""
        if point not in self.points:
            raise ValueError(f"{self.name}: unsupported operating point {point!r}; "
                             f"supported: {', '.join(self.points)}")
        self.check()
        return self._code(np.asarray(audio, dtype=np.float32), point)

    @abstractmethod
    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        ...


def require_binary(*names: str, package: str) -> None:
    """Raise :class:`CodecUnavailable` unless every program in ``names`` is on PATH."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        raise CodecUnavailable(f"missing program(s) {', '.join(missing)}: install the Debian package {package}")


def run(cmd: list[str]) -> bytes:
    """Run a codec tool; its failure becomes a RuntimeError carrying its stderr."""
    result = subprocess.run(cmd, capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({result.returncode}): {result.stderr.decode(errors='replace')[-500:]}")
    return result.stdout


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    return audio if rate == target else soxr.resample(audio, rate, target, quality="HQ").astype(np.float32)


def to_pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1 - 2**-15) * 32768).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    sf.write(path, np.clip(audio, -1, 1), rate, subtype="PCM_16")


def ogg_packet_sizes(data: bytes) -> list[int]:
    """Sizes in bytes of the packets of an Ogg stream (single logical stream), in order."""
    sizes, current, pos = [], 0, 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS":
            raise ValueError("malformed Ogg page")
        segments = data[pos + 26]
        lacing = data[pos + 27 : pos + 27 + segments]
        for value in lacing:
            current += value
            if value < 255:
                sizes.append(current)
                current = 0
        pos += 27 + segments + sum(lacing)
    return sizes
