"""The container detects every corrupt, truncated, foreign or newer file with BitstreamError."""
import struct
import zlib

import pytest

from entropy.bitstream import FORMAT_VERSION, MAGIC, Bitstream, _put_varint
from entropy.errors import BitstreamError

MODEL_HASH = b"\x01\x02\x03\x04"


def make(sections=(b"hyper", bytes(range(256)) * 3, b"")) -> Bitstream:
    return Bitstream(MODEL_HASH, 16000, 160_000, tuple(sections))


def version1_bytes(name: bytes, stream: Bitstream) -> bytes:
    """A format-version-1 file, laid out by hand as docs/bitstream.md specifies it."""
    out = bytearray(MAGIC + b"\x01" + bytes([len(name)]) + name + stream.model_hash)
    for value in (stream.sample_rate, stream.num_samples, len(stream.sections)):
        _put_varint(out, value)
    for section in stream.sections:
        _put_varint(out, len(section))
        out += section
    return bytes(out + struct.pack(">I", zlib.crc32(out)))


@pytest.mark.parametrize("sections", [(), (b"",), (b"one",), (b"hyper", bytes(range(256)) * 3, b"")])
def test_round_trip(sections):
    stream = make(sections)
    data = stream.to_bytes()
    assert Bitstream.from_bytes(data) == stream


def test_header_is_compact():
    # magic 2 + version 1 + hash 4 + sample rate 2 + sample count 3 + section count 1 + CRC-16 2
    stream = make((b"x" * 300,))
    assert len(stream.to_bytes()) - stream.payload_bytes == 15


def test_version1_still_decodes():
    stream = make()
    parsed = Bitstream.from_bytes(version1_bytes(b"ecc-test", stream))
    assert parsed.model_name == "ecc-test" and parsed.sections == stream.sections
    assert parsed.model_hash == MODEL_HASH and parsed.num_samples == stream.num_samples


def test_every_truncation_detected():
    data = make().to_bytes()
    for cut in range(len(data)):
        with pytest.raises(BitstreamError):
            Bitstream.from_bytes(data[:cut])


def test_every_bit_flip_detected():
    data = make().to_bytes()
    for position in range(len(data)):
        for bit in range(8):
            corrupt = bytearray(data)
            corrupt[position] ^= 1 << bit
            with pytest.raises(BitstreamError):
                Bitstream.from_bytes(bytes(corrupt))


def test_newer_version_refused_with_message():
    data = bytearray(make().to_bytes())
    data[len(MAGIC)] = FORMAT_VERSION + 1
    with pytest.raises(BitstreamError, match="newer"):
        Bitstream.from_bytes(bytes(data))


def test_not_a_bitstream():
    with pytest.raises(BitstreamError, match="magic"):
        Bitstream.from_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")


def test_appended_bytes_detected():
    for byte in range(256):
        with pytest.raises(BitstreamError):
            Bitstream.from_bytes(make().to_bytes() + bytes([byte]))


def test_version1_trailing_garbage_with_valid_crc_detected():
    data = version1_bytes(b"ecc-test", make())
    body = data[:-4] + b"junk"
    with pytest.raises(BitstreamError, match="unexpected bytes"):
        Bitstream.from_bytes(body + struct.pack(">I", zlib.crc32(body)))


def test_wrong_model_refused():
    stream = Bitstream.from_bytes(make().to_bytes())
    stream.check_model(MODEL_HASH)
    with pytest.raises(BitstreamError, match="made by model"):
        stream.check_model(b"\x01\x02\x03\x05")
