"""Versioned container for coded speech; the byte layout is specified in ``docs/bitstream.md``.

Every way a file can fail to decode (not a bitstream, newer format version, truncated, flipped
bits, made by another model) raises :class:`~entropy.errors.BitstreamError` with a readable message.

Format version 2 (written) identifies the model by a 4-byte hash of its weights only and closes
with a CRC-16: 15 bytes of header and check on a one-section file, which matters at 1 kbps, where a
3 s file carries about 375 bytes. Version 1 files (model name in the header, CRC-32) still decode.
"""
from __future__ import annotations

import binascii
import hashlib
import struct
import zlib
from dataclasses import dataclass

from .errors import BitstreamError

MAGIC = b"Ec"
FORMAT_VERSION = 2
MODEL_HASH_BYTES = 4
_CHECK_BYTES = {1: 4, 2: 2}  # CRC-32 (version 1), CRC-16/GENIBUS (version 2)


def weights_hash(state: bytes) -> bytes:
    """Short hash (``MODEL_HASH_BYTES``) of a model's serialized weights."""
    return hashlib.sha256(state).digest()[:MODEL_HASH_BYTES]


def _check_value(version: int, body: bytes) -> bytes:
    if version == 1:
        return struct.pack(">I", zlib.crc32(body))
    # CCITT polynomial, init and final XOR 0xFFFF; without the final XOR an appended 0x00 would pass
    return struct.pack(">H", binascii.crc_hqx(body, 0xFFFF) ^ 0xFFFF)


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

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos, "section")

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
        model_hash: ``MODEL_HASH_BYTES`` identifying the model's weights; decoding with another
            model is refused.
        sample_rate: of the decoded audio, Hz.
        num_samples: length of the decoded audio, samples.
        sections: the coded payload, byte strings.
        model_name: the model's name, stored by format version 1 only (``None`` in version 2).
    """

    model_hash: bytes
    sample_rate: int
    num_samples: int
    sections: tuple[bytes, ...]
    model_name: str | None = None

    def __post_init__(self) -> None:
        if len(self.model_hash) != MODEL_HASH_BYTES:
            raise ValueError(f"model hash must be {MODEL_HASH_BYTES} bytes")
        if self.sample_rate <= 0 or self.num_samples < 0:
            raise ValueError("sample rate must be positive and the sample count non-negative")

    def to_bytes(self) -> bytes:
        """Serialize in the current format version, check bytes included."""
        out = bytearray(MAGIC)
        out.append(FORMAT_VERSION)
        out += self.model_hash
        for value in (self.sample_rate, self.num_samples, len(self.sections)):
            _put_varint(out, value)
        for section in self.sections[:-1]:
            _put_varint(out, len(section))
        for section in self.sections:
            out += section
        out += _check_value(FORMAT_VERSION, bytes(out))
        return bytes(out)

    @property
    def payload_bytes(self) -> int:
        """Bytes of coded sections, without header, length prefixes and check bytes."""
        return sum(len(s) for s in self.sections)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Bitstream":
        """Parse and verify a container (version 1 or 2); raises :class:`BitstreamError` on any defect."""
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
        check_size = _CHECK_BYTES[version]
        if len(data) < len(MAGIC) + 1 + check_size:
            raise BitstreamError("bitstream truncated (shorter than its header)")
        body, check = data[:-check_size], data[-check_size:]
        if _check_value(version, body) != check:
            raise BitstreamError("bitstream is corrupt or truncated (checksum mismatch)")
        reader = _Reader(body)
        reader.take(len(MAGIC) + 1, "header")
        name = None
        if version == 1:
            try:
                name = reader.take(reader.take(1, "model name length")[0], "model name").decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BitstreamError("malformed model name") from exc
        model_hash = reader.take(MODEL_HASH_BYTES, "model hash")
        sample_rate = reader.varint("sample rate")
        num_samples = reader.varint("sample count")
        num_sections = reader.varint("section count")
        if sample_rate <= 0:
            raise BitstreamError("invalid sample rate 0")
        if num_sections > len(body):
            raise BitstreamError(f"invalid section count {num_sections}")
        if version == 1:
            sections = tuple(reader.take(reader.varint("section length"), "section") for _ in range(num_sections))
        else:  # no length for the last section: it runs to the check bytes
            sizes = [reader.varint("section length") for _ in range(num_sections - 1)]
            sections = tuple(reader.take(size, "section") for size in sizes) + ((reader.rest(),) if num_sections else ())
        if reader.pos != len(body):
            raise BitstreamError(f"{len(body) - reader.pos} unexpected bytes after the last section")
        return cls(model_hash, sample_rate, num_samples, sections, name)

    def check_model(self, expected_hash: bytes) -> None:
        """Raise :class:`BitstreamError` unless this bitstream was made by weights ``expected_hash``."""
        if self.model_hash != expected_hash:
            made_by = f"{self.model_name} " if self.model_name else ""
            raise BitstreamError(
                f"bitstream was made by model {made_by}(weights {self.model_hash.hex()}), "
                f"not by this one (weights {expected_hash.hex()})"
            )
