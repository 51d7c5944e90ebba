"""File I/O: any soundfile-readable file to mono float32 at a target rate, input bytes from files or
stdin, and safe output (atomic, exclusive unless forced, umask respected, writing through links)."""
from __future__ import annotations

import io
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, TypeVar
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

T = TypeVar("T")

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")


class InputError(ValueError):
    """An input that cannot be read: missing, a directory, closed or empty stdin."""


class AudioError(InputError):
    """An input that is not readable audio."""


OUTPUT_FORMATS = {  # suffix -> soundfile (format, subtype) for decoded audio
    ".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"), ".mp3": ("MP3", "MPEG_LAYER_III"),
}


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


def check_input(path: str | os.PathLike) -> None:
    """:class:`InputError` unless ``path`` is a readable file (``-``: an open stdin)."""
    if str(path) == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise InputError("-: standard input is closed")
        return
    if Path(path).is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")


def read_bytes(path: str | os.PathLike) -> bytes:
    """The whole of ``path`` (``-``: stdin); :class:`InputError` if it cannot be read or is empty."""
    check_input(path)
    data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    if not data:
        raise InputError(f"{'standard input' if str(path) == '-' else path} is empty")
    return data


def _open(path: str | os.PathLike) -> sf.SoundFile:
    """Open ``path`` (``-``: stdin, read whole) for reading; :class:`InputError` if missing, not
    audio, or empty."""
    if str(path) == "-":
        source = io.BytesIO(read_bytes(path))
    else:
        check_input(path)
        source = Path(path)
    try:
        handle = sf.SoundFile(source)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({_reason(exc)})") from exc
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
        try:
            data, rate = handle.read(dtype="float32", always_2d=True), handle.samplerate
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"{path}: audio data is corrupt or truncated ({_reason(exc)})") from exc
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
    return _blocks(handle, sample_rate, block, path), expected


def _reason(exc: BaseException) -> str:
    """libsndfile's message without the Python object repr it sometimes carries."""
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("Error opening <") and ": " in text else text


def _blocks(handle: sf.SoundFile, sample_rate: int, block: int, path: str | os.PathLike) -> Iterator[np.ndarray]:
    def pieces() -> Iterator[tuple[np.ndarray, bool]]:
        with handle:
            while True:
                try:
                    data = handle.read(block, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioError(f"{path}: audio data is corrupt or truncated ({_reason(exc)})") from exc
                last = len(data) < block
                yield to_mono_rate(data, handle.samplerate, None), last
                if last:
                    return

    return rechunk(pieces(), handle.samplerate, sample_rate, block)


def rechunk(pieces: Iterable[tuple[np.ndarray, bool]], rate: int, sample_rate: int, block: int) -> Iterator[np.ndarray]:
    """Mono float32 ``pieces`` at ``rate`` (each with a flag: the last one) resampled on the fly to
    ``sample_rate`` and cut into blocks of ``block`` samples (the last may be shorter)."""
    resampler = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ") if rate != sample_rate else None
    pending = np.zeros(0, dtype=np.float32)
    for mono, last in pieces:
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


def spread_evenly(items: Sequence[T], count: int) -> list[T]:
    """``count`` of ``items`` (all of them if fewer) at evenly spaced positions, first and last included."""
    index = np.unique(np.linspace(0, len(items) - 1, min(count, len(items))).round().astype(int))
    return [items[i] for i in index]


def audio_files(root: str | Path) -> list[Path]:
    """Every audio file under ``root`` (recursively), sorted; works for LibriTTS/VCTK-style trees."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such file or folder")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def output_format(path: str | os.PathLike) -> tuple[str, str]:
    """soundfile ``(format, subtype)`` for writing decoded audio to ``path`` by its suffix (``-`` and no
    suffix: WAV); ``ValueError`` naming the supported suffixes otherwise."""
    suffix = "" if str(path) == "-" else Path(path).suffix.lower()
    if suffix == "":
        return OUTPUT_FORMATS[".wav"]
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(f"{path}: cannot write {suffix} audio; use {', '.join(OUTPUT_FORMATS)}")
    return OUTPUT_FORMATS[suffix]


def _is_special(path: Path) -> bool:
    """A FIFO, device or socket (after following links): written through, never replaced."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_output(path: str | os.PathLike, force: bool) -> None:
    """Refuse an output before any work: an existing file without ``force``, a directory, or a missing
    parent folder (named; it is never created)."""
    if str(path) == "-":
        return
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory")
    if (path.exists() or path.is_symlink()) and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such directory (it is not created)")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new contents to; they appear there whole, or not at all.

    ``-`` is stdout. A FIFO or device (or a link to one) is written through directly. Otherwise the
    data goes to a temporary file beside the link-resolved target (so a symlink stays a symlink),
    created with the permissions the umask allows, and is then moved in place: replacing the target
    with ``force``, else created exclusively (``FileExistsError`` if the name appeared meanwhile).
    The temporary file is removed on any error or interruption.
    """
    if str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    check_output(path, force)
    if _is_special(Path(path)):  # stat follows links: /dev/stdout on a pipe is a FIFO, written into
        with open(path, "wb") as handle:
            yield handle
        return
    target = Path(path).resolve()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:  # name the output, not the temporary file
        raise type(exc)(exc.errno, f"cannot write here ({exc.strerror})", str(path)) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the name exists: no check-then-write race
            except FileExistsError:
                raise FileExistsError(f"{path} exists; pass --force to overwrite") from None
            os.unlink(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes, force: bool = False) -> None:
    """Write ``data`` to ``path`` (``-``: stdout) through :func:`atomic_output`."""
    with atomic_output(path, force) as handle:
        handle.write(data)


def encode_audio(audio: Audio, format: str = "WAV") -> bytes:
    """Serialize ``audio`` as 16-bit PCM in ``format`` (``WAV`` or ``FLAC``)."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio.samples, -1, 1), audio.sample_rate, format=format, subtype="PCM_16")
    return buffer.getvalue()
