"""Audio file I/O: any soundfile-readable file to mono float32 at a target rate, and atomic writes."""
from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")


class AudioError(ValueError):
    """An input that is not readable audio."""


@dataclass(frozen=True)
class Audio:
    """Mono audio. ``samples``: ``[N]`` float32 in [-1, 1]; ``sample_rate`` in Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        """Seconds."""
        return len(self.samples) / self.sample_rate


def to_mono_rate(data: np.ndarray, rate: int, target_rate: int | None) -> np.ndarray:
    """Downmix ``[N, channels]`` or ``[N]`` to mono and resample to ``target_rate`` (soxr, HQ)."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if target_rate is not None and rate != target_rate:
        data = soxr.resample(data, rate, target_rate, quality="HQ").astype(np.float32)
    return data


def _open(path: str | os.PathLike) -> sf.SoundFile:
    """Open ``path`` (``-``: stdin, read whole) for reading; :class:`AudioError` if missing, not
    audio, or empty."""
    source = io.BytesIO(sys.stdin.buffer.read()) if str(path) == "-" else Path(path)
    if isinstance(source, Path) and not source.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        handle = sf.SoundFile(source)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc})") from exc
    if handle.frames == 0:
        handle.close()
        raise AudioError(f"{path}: audio file holds no samples")
    return handle


def _notify_conversion(path: str | os.PathLike, handle: sf.SoundFile, sample_rate: int | None) -> None:
    """Print on stderr how ``handle``'s audio will be downmixed or resampled, if at all."""
    changes = [f"downmixed {handle.channels} channels to mono"] if handle.channels > 1 else []
    if sample_rate and handle.samplerate != sample_rate:
        changes.append(f"resampled {handle.samplerate} Hz -> {sample_rate} Hz")
    if changes:
        print(f"note: {path}: " + ", ".join(changes), file=sys.stderr)


def load_audio(path: str | os.PathLike, sample_rate: int | None = 16000, notify: bool = False) -> Audio:
    """Read ``path`` (``-`` for stdin) as mono float32 at ``sample_rate`` (``None``: keep the file's).

    With ``notify``, prints a notice on stderr when the file is resampled or downmixed.
    Raises :class:`AudioError` for a missing or non-audio file.
    """
    with _open(path) as handle:
        if notify:
            _notify_conversion(path, handle, sample_rate)
        data, rate = handle.read(dtype="float32", always_2d=True), handle.samplerate
    return Audio(to_mono_rate(data, rate, sample_rate), sample_rate or rate)


def read_blocks(
    path: str | os.PathLike, sample_rate: int, block: int, notify: bool = False
) -> tuple[Iterator[np.ndarray], int]:
    """Stream ``path`` (``-``: stdin, read whole) as mono float32 blocks of ``block`` samples at
    ``sample_rate`` (the last block may be shorter), resampling on the fly: memory stays bounded.
    Returns the block iterator and the expected number of output samples.

    Raises :class:`AudioError` for a missing or non-audio file (before yielding anything).
    """
    handle = _open(path)
    if notify:
        _notify_conversion(path, handle, sample_rate)
    expected = round(handle.frames * sample_rate / handle.samplerate)
    return _blocks(handle, sample_rate, block), expected


def _blocks(handle: sf.SoundFile, sample_rate: int, block: int) -> Iterator[np.ndarray]:
    resampler = (
        soxr.ResampleStream(handle.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
        if handle.samplerate != sample_rate else None
    )
    pending = np.zeros(0, dtype=np.float32)
    with handle:
        while True:
            data = handle.read(block, dtype="float32", always_2d=True)
            last = len(data) < block
            mono = to_mono_rate(data, handle.samplerate, None)
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=last)
            pending = np.concatenate([pending, mono])
            while len(pending) >= block:
                yield pending[:block]
                pending = pending[block:]
            if last:
                break
    if len(pending):
        yield pending


def audio_files(root: str | Path) -> list[Path]:
    """Every audio file under ``root`` (recursively), sorted; works for LibriTTS/VCTK-style trees."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such file or folder")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def iter_audio(root: str | Path, sample_rate: int = 16000) -> Iterator[tuple[Path, Audio]]:
    """Yield ``(path, mono audio at sample_rate)`` for every audio file under ``root``."""
    for path in audio_files(root):
        yield path, load_audio(path, sample_rate)


def write_atomic(path: str | os.PathLike, data: bytes, force: bool = False) -> None:
    """Write ``data`` to ``path`` (``-``: stdout) via a temporary file and a rename.

    Refuses to replace an existing file unless ``force``.
    """
    if str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encode_audio(audio: Audio, format: str = "WAV") -> bytes:
    """Serialize ``audio`` as 16-bit PCM in ``format`` (``WAV`` or ``FLAC``)."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio.samples, -1, 1), audio.sample_rate, format=format, subtype="PCM_16")
    return buffer.getvalue()
