"""WAV through pipes, incrementally: read a (possibly endless) WAV from a byte stream block by block,
and write 16-bit mono WAV whose length is not known in advance (the sizes say "unknown", as
``arecord`` writes them; ``aplay`` and libsndfile read such files)."""
from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from .audio import AudioError, rechunk

_UNKNOWN = 0xFFFFFFFF
_FORMATS = {(1, 16): "<i2", (1, 32): "<i4", (3, 32): "<f4", (1, 8): "u1"}  # (format tag, bits) -> dtype


def _read(handle: BinaryIO, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        piece = handle.read(size - len(out))
        if not piece:
            break
        out += piece
    return bytes(out)


def read_wav_stream(handle: BinaryIO, sample_rate: int, block: int, name: str = "-") -> Iterator[np.ndarray]:
    """Mono float32 blocks of ``block`` samples at ``sample_rate`` (the last may be shorter) from a WAV
    byte stream, read as it arrives; the data chunk may have an unknown (0 or 0xFFFFFFFF) size, in
    which case it runs to the end of the stream. :class:`AudioError` for what is not a readable WAV."""
    header = _read(handle, 12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise AudioError(f"{name}: not a WAV stream")
    fmt = None
    while True:
        chunk = _read(handle, 8)
        if len(chunk) < 8:
            raise AudioError(f"{name}: WAV stream ended before its data")
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if kind == b"data":
            break
        if size > 1 << 20:
            raise AudioError(f"{name}: WAV header chunk {kind!r} of {size} bytes")
        body = _read(handle, size + (size & 1))
        if kind == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
    if fmt is None or (fmt[0], fmt[3]) not in _FORMATS or fmt[1] < 1 or fmt[2] <= 0:
        raise AudioError(f"{name}: unsupported WAV format (tag, channels, rate, bits = {fmt})")
    tag, channels, rate, bits = fmt
    remaining = None if size in (0, _UNKNOWN) else size
    return _wav_blocks(handle, np.dtype(_FORMATS[(tag, bits)]), channels, rate, sample_rate, block, remaining)


def _wav_blocks(handle: BinaryIO, dtype: np.dtype, channels: int, rate: int, sample_rate: int, block: int,
                remaining: int | None) -> Iterator[np.ndarray]:
    frame = dtype.itemsize * channels
    scale = {"i": 1 / 2 ** (8 * dtype.itemsize - 1), "u": 1 / 128, "f": 1.0}[dtype.kind]

    def pieces() -> Iterator[tuple[np.ndarray, bool]]:
        nonlocal remaining
        carry = b""
        while True:
            want = 4096 * frame if remaining is None else min(4096 * frame, remaining)
            data = handle.read1(want) if hasattr(handle, "read1") else handle.read(want)
            if remaining is not None:
                remaining -= len(data)
            last = not data or remaining == 0
            data = carry + data
            usable = len(data) - len(data) % frame
            carry = data[usable:]
            x = np.frombuffer(data[:usable], dtype=dtype).astype(np.float32)
            if dtype.kind == "u":
                x -= 128
            yield (x * scale).reshape(-1, channels).mean(axis=1).astype(np.float32), last
            if last:
                return

    return rechunk(pieces(), rate, sample_rate, block)


def wav_stream_header(sample_rate: int) -> bytes:
    """Header of a 16-bit mono WAV of unknown length."""
    return (b"RIFF" + struct.pack("<I", _UNKNOWN) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate,
            2 * sample_rate, 2, 16) + b"data" + struct.pack("<I", _UNKNOWN))


def pcm16(samples: np.ndarray) -> bytes:
    """Float samples ``[n]`` in [-1, 1] as 16-bit little-endian PCM (rounded, clipped)."""
    return (np.clip(np.round(np.asarray(samples) * 32767), -32768, 32767)).astype("<i2").tobytes()
