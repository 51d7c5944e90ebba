"""The container detects every corrupt, truncated, foreign or newer file with BitstreamError."""
import struct
import zlib

import pytest

from entropy.bitstream import MAGIC, STREAM_VERSION, Bitstream
from entropy.errors import BitstreamError

MODEL_HASH = b"\x01\x02\x03\x04"


def make(sections=(b"hyper", bytes(range(256)) * 3, b"")) -> Bitstream:
    return Bitstream(MODEL_HASH, 16000, 160_000, tuple(sections))


@pytest.mark.parametrize("sections", [(), (b"",), (b"one",), (b"hyper", bytes(range(256)) * 3, b"")])
def test_round_trip(sections):
    stream = make(sections)
    data = stream.to_bytes()
    assert Bitstream.from_bytes(data) == stream


def test_header_is_compact():
    # magic 2 + version 1 + family 1 + hash 4 + operating point 1 + sample rate 2 + sample count 3
    # + section count 1 + CRC-16 2
    stream = make((b"x" * 300,))
    assert len(stream.to_bytes()) - stream.payload_bytes == 17


def test_version1_still_decodes(to_version1):
    stream = make()
    parsed = Bitstream.from_bytes(to_version1(stream, "ecc-test"))
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
    data[len(MAGIC)] = STREAM_VERSION + 1
    with pytest.raises(BitstreamError, match="newer"):
        Bitstream.from_bytes(bytes(data))


def test_not_a_bitstream():
    with pytest.raises(BitstreamError, match="magic"):
        Bitstream.from_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")


def test_appended_bytes_detected():
    for byte in range(256):
        with pytest.raises(BitstreamError):
            Bitstream.from_bytes(make().to_bytes() + bytes([byte]))


def test_version1_trailing_garbage_with_valid_crc_detected(to_version1):
    data = to_version1(make(), "ecc-test")
    body = data[:-4] + b"junk"
    with pytest.raises(BitstreamError, match="unexpected bytes"):
        Bitstream.from_bytes(body + struct.pack(">I", zlib.crc32(body)))


def test_wrong_model_refused():
    stream = Bitstream.from_bytes(make().to_bytes())
    stream.check_model(MODEL_HASH)
    with pytest.raises(BitstreamError, match="made by model"):
        stream.check_model(b"\x01\x02\x03\x05")
