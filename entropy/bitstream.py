"""Versioned container for coded speech; the byte layout is specified in ``docs/bitstream.md``.

Every way a file can fail to decode (not a bitstream, newer format version, truncated, flipped
bits, made by another model) raises :class:`~entropy.errors.BitstreamError` with a readable message.

Format version 4 (files, written) identifies the codec family (a varint id), the model (a 4-byte
hash of its weights) and the operating point of a variable-rate model (a varint, in steps of
``1 / OPERATING_POINT_STEPS``), and closes with a CRC-16: 17 bytes of header and check on a
one-section file, which matters at 1 kbps, where a 3 s file carries about 375 bytes. Version 5 is
the same header in the streamable framing. Versions 1 and 2 (files) and 3 (streams) still decode,
as ECC files at operating point 0.
"""
from __future__ import annotations

import binascii
import hashlib
import struct
import zlib
from dataclasses import dataclass

from .errors import BitstreamError

MAGIC = b"Ec"
FORMAT_VERSION = 4
MODEL_HASH_BYTES = 4
OPERATING_POINT_STEPS = 16  # operating points are stored as round(q * this)
LEGACY_FAMILY = 1  # the family of format-1/2/3 containers (ECC)
_CHECK_BYTES = {1: 4, 2: 2, 4: 2}  # CRC-32 (version 1), CRC-16 (versions 2 and 4)


def weights_hash(state: bytes) -> bytes:
    """Short hash (``MODEL_HASH_BYTES``) of a model's serialized weights."""
    return hashlib.sha256(state).digest()[:MODEL_HASH_BYTES]


def _check_value(version: int, body: bytes) -> bytes:
    if version == 1:
        return struct.pack(">I", zlib.crc32(body))
    return struct.pack(">H", _crc16(body, 0xFFFF))


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
        model_name: the model's name, stored by format version 1 only (``None`` otherwise).
        chunk_samples: samples per section of a stream (``None``: a file, whose chunks are the
            model's own length).
        family: id of the codec family (``ecc.registry``).
        operating_point: of a variable-rate model, in steps of ``1 / OPERATING_POINT_STEPS``.
    """

    model_hash: bytes
    sample_rate: int
    num_samples: int
    sections: tuple[bytes, ...]
    model_name: str | None = None
    chunk_samples: int | None = None
    family: int = LEGACY_FAMILY
    operating_point: int = 0

    def __post_init__(self) -> None:
        if self.family < 1 or self.operating_point < 0:
            raise ValueError("family id must be positive and the operating point non-negative")
        if len(self.model_hash) != MODEL_HASH_BYTES:
            raise ValueError(f"model hash must be {MODEL_HASH_BYTES} bytes")
        if self.sample_rate <= 0 or self.num_samples < 0:
            raise ValueError("sample rate must be positive and the sample count non-negative")
        if self.chunk_samples is not None and len(self.sections) != -(-self.num_samples // self.chunk_samples):
            raise ValueError(f"a stream of {self.num_samples} samples in chunks of {self.chunk_samples} has "
                             f"{-(-self.num_samples // self.chunk_samples)} sections, not {len(self.sections)}")

    def to_bytes(self) -> bytes:
        """Serialize, check bytes included: a format-4 file, or a format-5 stream with ``chunk_samples``."""
        if self.chunk_samples is not None:
            return self._stream_bytes()
        out = bytearray(MAGIC)
        out.append(FORMAT_VERSION)
        _put_varint(out, self.family)
        out += self.model_hash
        for value in (self.operating_point, self.sample_rate, self.num_samples, len(self.sections)):
            _put_varint(out, value)
        for section in self.sections[:-1]:
            _put_varint(out, len(section))
        for section in self.sections:
            out += section
        out += _check_value(FORMAT_VERSION, bytes(out))
        return bytes(out)

    def _stream_bytes(self) -> bytes:
        sections = self.sections or (b"",)  # an empty stream is one empty last packet
        last_samples = self.num_samples - self.chunk_samples * (len(sections) - 1)
        return frame_stream(self.stream_header, sections, last_samples)

    @property
    def stream_header(self) -> "StreamHeader":
        """The header of this container in the streamable framing (needs ``chunk_samples``)."""
        if self.chunk_samples is None:
            raise ValueError("a file has no stream header (no chunk_samples)")
        return StreamHeader(self.model_hash, self.sample_rate, self.chunk_samples, self.family, self.operating_point)

    @property
    def payload_bytes(self) -> int:
        """Bytes of coded sections, without header, length prefixes and check bytes."""
        return sum(len(s) for s in self.sections)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Bitstream":
        """Parse and verify a container (any version); raises :class:`BitstreamError` on any defect."""
        data = bytes(data)
        if len(data) < len(MAGIC) + 1 or not data.startswith(MAGIC):
            raise BitstreamError("not an ECC bitstream (bad magic bytes)")
        version = data[len(MAGIC)]
        if version in STREAM_VERSIONS:
            return cls._from_stream(data)
        if version > max(STREAM_VERSIONS):
            raise BitstreamError(
                f"bitstream format version {version} is newer than this library supports "
                f"({max(STREAM_VERSIONS)}); upgrade the library"
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
        family = reader.varint("family") if version >= 4 else LEGACY_FAMILY
        model_hash = reader.take(MODEL_HASH_BYTES, "model hash")
        operating_point = reader.varint("operating point") if version >= 4 else 0
        sample_rate = reader.varint("sample rate")
        num_samples = reader.varint("sample count")
        num_sections = reader.varint("section count")
        if sample_rate <= 0 or family < 1:
            raise BitstreamError(f"invalid header (sample rate {sample_rate}, family {family})")
        if num_sections > len(body):
            raise BitstreamError(f"invalid section count {num_sections}")
        if version == 1:
            sections = tuple(reader.take(reader.varint("section length"), "section") for _ in range(num_sections))
        else:  # no length for the last section: it runs to the check bytes
            sizes = [reader.varint("section length") for _ in range(num_sections - 1)]
            sections = tuple(reader.take(size, "section") for size in sizes) + ((reader.rest(),) if num_sections else ())
        if reader.pos != len(body):
            raise BitstreamError(f"{len(body) - reader.pos} unexpected bytes after the last section")
        return cls(model_hash, sample_rate, num_samples, sections, name, None, family, operating_point)

    @classmethod
    def _from_stream(cls, data: bytes) -> "Bitstream":
        parser = StreamParser()
        packets = parser.feed(data)
        parser.finish()
        header = parser.header
        sections = tuple(p.section for p in packets)
        if len(packets) == 1 and packets[0].samples == 0 and not sections[0]:
            sections = ()
        num_samples = header.chunk_samples * (len(packets) - 1) + packets[-1].samples
        return cls(header.model_hash, header.sample_rate, num_samples, sections, None, header.chunk_samples,
                   header.family, header.operating_point)

    def check_model(self, expected_hash: bytes) -> None:
        """Raise :class:`BitstreamError` unless this bitstream was made by weights ``expected_hash``."""
        check_model_hash(self.model_hash, expected_hash, self.model_name)


def check_model_hash(found: bytes, expected: bytes, model_name: str | None = None) -> None:
    """Raise :class:`BitstreamError` unless a container's model hash ``found`` is ``expected``."""
    if found != expected:
        made_by = f"{model_name} " if model_name else ""
        raise BitstreamError(
            f"bitstream was made by model {made_by}(weights {found.hex()}), not by this one (weights {expected.hex()})"
        )


# -- format versions 5 and 3: the streamable framing ---------------------------------------------
STREAM_VERSION = 5  # written; 3 (no family, no operating point) still reads
STREAM_VERSIONS = (3, 5)
MAX_CHUNK_SAMPLES = 1 << 24  # a stream header asking for longer chunks is refused
MAX_BYTES_PER_SAMPLE = 4  # a packet longer than this per chunk sample is refused before it is buffered


def is_stream(data: bytes) -> bool:
    """Whether ``data`` starts like a stream (magic bytes, then version 3 or 5)."""
    return len(data) > len(MAGIC) and data.startswith(MAGIC) and data[len(MAGIC)] in STREAM_VERSIONS


def _crc16(data: bytes, seed: int) -> int:
    """CCITT polynomial from ``seed`` (0xFFFF to start), final XOR 0xFFFF: without the final XOR an
    appended 0x00 would pass."""
    return binascii.crc_hqx(data, seed) ^ 0xFFFF


@dataclass(frozen=True)
class StreamHeader:
    """Header of a stream: the model, the sample rate (Hz), the samples per chunk (each chunk is one
    packet; every packet but the last holds ``chunk_samples``), the family and operating point."""

    model_hash: bytes
    sample_rate: int
    chunk_samples: int
    family: int = LEGACY_FAMILY
    operating_point: int = 0

    def to_bytes(self) -> bytes:
        """The format-5 header."""
        out = bytearray(MAGIC)
        out.append(STREAM_VERSION)
        _put_varint(out, self.family)
        out += self.model_hash
        _put_varint(out, self.operating_point)
        _put_varint(out, self.sample_rate)
        _put_varint(out, self.chunk_samples)
        return bytes(out)


def stream_packet(section: bytes, last_samples: int | None, seed: int) -> tuple[bytes, int]:
    """One packet: ``varint(2 * len + last)``, with ``last``: ``varint(samples in the last chunk)``,
    the section, and a CRC-16 chained from ``seed`` (the previous packet's check, or the header's).
    Returns the packet and its check value (the next packet's seed)."""
    out = bytearray()
    _put_varint(out, 2 * len(section) + (last_samples is not None))
    if last_samples is not None:
        _put_varint(out, last_samples)
    out += section
    check = _crc16(bytes(out), seed)
    return bytes(out + struct.pack(">H", check)), check


def frame_stream(header: StreamHeader, sections: tuple[bytes, ...], last_samples: int) -> bytes:
    """A whole stream: ``header``, then one packet per section, the last one carrying
    ``last_samples`` (fields are written as given: :class:`Bitstream` checks their consistency)."""
    head = header.to_bytes()
    out, seed = bytearray(head), header_seed(head)
    for i, section in enumerate(sections):
        packet, seed = stream_packet(section, last_samples if i == len(sections) - 1 else None, seed)
        out += packet
    return bytes(out)


def header_seed(header: bytes) -> int:
    """The check value a stream's header seeds the first packet's CRC with."""
    return _crc16(header, 0xFFFF)


@dataclass(frozen=True)
class Packet:
    """A parsed packet: its coded ``section`` and the ``samples`` it decodes to; ``last`` ends the stream."""

    section: bytes
    samples: int
    last: bool


class StreamParser:
    """Incremental reader of a stream (format 5 or 3): :meth:`feed` bytes as they arrive, get the packets
    completed so far. Memory is bounded by one packet, whose length is checked against the chunk size
    before anything is buffered. Any defect raises :class:`BitstreamError`."""

    def __init__(self) -> None:
        self.header: StreamHeader | None = None
        self._buffer = bytearray()
        self._seed = 0
        self._done = False
        self._packets = 0

    @property
    def done(self) -> bool:
        """True once the last packet has been read."""
        return self._done

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer += data
        packets = []
        while True:
            if self._done:
                if self._buffer:
                    raise BitstreamError(f"{len(self._buffer)} unexpected bytes after the end of the stream")
                return packets
            if self.header is None:
                if not self._parse_header():
                    return packets
                continue
            packet = self._parse_packet()
            if packet is None:
                return packets
            packets.append(packet)

    def finish(self) -> None:
        """Raise unless the stream ended with its last packet and nothing after it."""
        if self.header is None:
            raise BitstreamError("stream truncated (no complete header)" if self._buffer else "empty stream")
        if not self._done:
            raise BitstreamError("stream truncated (it ended without its last packet)")

    def _parse_header(self) -> bool:
        reader = _Reader(bytes(self._buffer))
        try:
            start = reader.take(len(MAGIC) + 1, "header")
            if not start.startswith(MAGIC):
                raise BitstreamError("not an ECC bitstream (bad magic bytes)")
            version = start[-1]
            if version not in STREAM_VERSIONS:
                raise BitstreamError(f"not a stream (format version {version})")
            family = reader.varint("family") if version >= 5 else LEGACY_FAMILY
            model_hash = reader.take(MODEL_HASH_BYTES, "model hash")
            operating_point = reader.varint("operating point") if version >= 5 else 0
            sample_rate = reader.varint("sample rate")
            chunk = reader.varint("chunk length")
        except BitstreamError as exc:
            if "truncated" in str(exc) and len(self._buffer) < 32:
                return False  # wait for more bytes
            raise
        if sample_rate <= 0 or family < 1 or not 0 < chunk <= MAX_CHUNK_SAMPLES:
            raise BitstreamError(f"invalid stream header (sample rate {sample_rate}, chunk {chunk} samples, family {family})")
        self.header = StreamHeader(model_hash, sample_rate, chunk, family, operating_point)
        self._seed = header_seed(bytes(self._buffer[: reader.pos]))
        del self._buffer[: reader.pos]
        return True

    def _parse_packet(self) -> Packet | None:
        reader = _Reader(bytes(self._buffer[:24]))  # a packet's varints fit in its first bytes
        try:
            code = reader.varint("packet length")
            last = bool(code & 1)
            samples = reader.varint("last chunk length") if last else self.header.chunk_samples
        except BitstreamError as exc:
            if "truncated" in str(exc) and len(self._buffer) < 24:
                return None
            raise
        length = code >> 1
        if (length > MAX_BYTES_PER_SAMPLE * self.header.chunk_samples or samples > self.header.chunk_samples
                or (last and samples == 0 and (self._packets or length))):
            raise BitstreamError(f"invalid packet ({length} bytes for {samples} samples)")
        end = reader.pos + length + 2
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[: end - 2])
        check = _crc16(body, self._seed)
        if struct.pack(">H", check) != bytes(self._buffer[end - 2 : end]):
            raise BitstreamError("stream is corrupt, or a packet is missing or out of order (checksum mismatch)")
        self._seed = check
        del self._buffer[:end]
        self._done = last
        self._packets += 1
        return Packet(body[reader.pos :], samples, last)
