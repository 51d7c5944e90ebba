"""Versioned container for coded speech; the byte layout is specified in ``docs/bitstream.md``.

Every way a file can fail to decode (not a bitstream, newer format version, truncated, flipped
bits, made by another model) raises :class:`~entropy.errors.BitstreamError` with a readable message.
"""
from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

from .errors import BitstreamError

MAGIC = b"Ec"
FORMAT_VERSION = 1
MODEL_HASH_BYTES = 4
_CRC_BYTES = 4


def weights_hash(state: bytes) -> bytes:
    """Short hash (``MODEL_HASH_BYTES``) of a model's serialized weights."""
    return hashlib.sha256(state).digest()[:MODEL_HASH_BYTES]


@dataclass(frozen=True)
class ModelId:
    """Which model made a bitstream: its name and a short hash of its weights."""

    name: str
    weights_hash: bytes

    def __post_init__(self) -> None:
        if not self.name or len(self.name.encode("utf-8")) > 255:
            raise ValueError("model name must be 1..255 bytes of UTF-8")
        if len(self.weights_hash) != MODEL_HASH_BYTES:
            raise ValueError(f"weights hash must be {MODEL_HASH_BYTES} bytes")

    def __str__(self) -> str:
        return f"{self.name} ({self.weights_hash.hex()})"


def _put_varint(out: bytearray, value: int) -> None:
    if value < 0:
        raise ValueError("varints are unsigned")
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


class _Reader:
    """Bounds-checked reader over the body of a container."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int, what: str) -> bytes:
        if self.pos + size > len(self.data):
            raise BitstreamError(f"bitstream truncated while reading {what}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def varint(self, what: str) -> int:
        value = shift = 0
        while True:
            byte = self.take(1, what)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise BitstreamError(f"malformed {what}")


@dataclass(frozen=True)
class Bitstream:
    """The contents of one coded file.

    Attributes:
        model: the model that made it; decoding with another model is refused.
        sample_rate: of the decoded audio, Hz.
        num_samples: length of the decoded audio, samples.
        sections: the coded payload, as length-prefixed byte strings.
    """

    model: ModelId
    sample_rate: int
    num_samples: int
    sections: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """Serialize, CRC32 included."""
        out = bytearray(MAGIC)
        out.append(FORMAT_VERSION)
        name = self.model.name.encode("utf-8")
        out.append(len(name))
        out += name
        out += self.model.weights_hash
        for value in (self.sample_rate, self.num_samples, len(self.sections)):
            _put_varint(out, value)
        for section in self.sections:
            _put_varint(out, len(section))
            out += section
        out += struct.pack(">I", zlib.crc32(out))
        return bytes(out)

    @property
    def payload_bytes(self) -> int:
        """Bytes of coded sections, without header, length prefixes and CRC."""
        return sum(len(s) for s in self.sections)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Bitstream":
        """Parse and verify a container; raises :class:`BitstreamError` on any defect."""
        data = bytes(data)
        if len(data) < len(MAGIC) + 1 or not data.startswith(MAGIC):
            raise BitstreamError("not an ECC bitstream (bad magic bytes)")
        version = data[len(MAGIC)]
        if version > FORMAT_VERSION:
            raise BitstreamError(
                f"bitstream format version {version} is newer than this library supports "
                f"({FORMAT_VERSION}); upgrade the library"
            )
        if version < 1:
            raise BitstreamError(f"invalid bitstream format version {version}")
        if len(data) < len(MAGIC) + 1 + _CRC_BYTES:
            raise BitstreamError("bitstream truncated (shorter than its header)")
        body, (crc,) = data[:-_CRC_BYTES], struct.unpack(">I", data[-_CRC_BYTES:])
        if zlib.crc32(body) != crc:
            raise BitstreamError("bitstream is corrupt or truncated (CRC32 mismatch)")
        reader = _Reader(body)
        reader.take(len(MAGIC) + 1, "header")
        name_size = reader.take(1, "model name length")[0]
        try:
            name = reader.take(name_size, "model name").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BitstreamError("malformed model name") from exc
        model = ModelId(name, reader.take(MODEL_HASH_BYTES, "model hash")) if name else None
        if model is None:
            raise BitstreamError("empty model name")
        sample_rate = reader.varint("sample rate")
        num_samples = reader.varint("sample count")
        num_sections = reader.varint("section count")
        sections = tuple(reader.take(reader.varint("section length"), "section") for _ in range(num_sections))
        if reader.pos != len(body):
            raise BitstreamError(f"{len(body) - reader.pos} unexpected bytes after the last section")
        if sample_rate <= 0:
            raise BitstreamError("invalid sample rate 0")
        return cls(model, sample_rate, num_samples, sections)

    def check_model(self, expected: ModelId) -> None:
        """Raise :class:`BitstreamError` unless this bitstream was made by ``expected``."""
        if self.model != expected:
            raise BitstreamError(f"bitstream was made by model {self.model}, not by {expected}")
