"""The container detects every corrupt, truncated, foreign or newer file with BitstreamError."""
import struct
import zlib

import pytest

from entropy.bitstream import FORMAT_VERSION, MAGIC, Bitstream, ModelId
from entropy.errors import BitstreamError

MODEL = ModelId("ecc-test", b"\x01\x02\x03\x04")


def make() -> Bitstream:
    return Bitstream(MODEL, 16000, 160_000, (b"hyper", bytes(range(256)) * 3, b""))


def test_round_trip():
    stream = make()
    data = stream.to_bytes()
    assert Bitstream.from_bytes(data) == stream
    overhead = len(data) - stream.payload_bytes
    assert overhead <= 32  # a few bytes of header, counted in the bitrate


@pytest.mark.parametrize("cut", range(0, 40))
def test_truncated_header(cut):
    data = make().to_bytes()
    with pytest.raises(BitstreamError):
        Bitstream.from_bytes(data[:cut])


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
    with pytest.raises(BitstreamError):
        Bitstream.from_bytes(make().to_bytes() + b"\x00")


def test_trailing_garbage_with_valid_crc_detected():
    body = make().to_bytes()[:-4] + b"junk"
    with pytest.raises(BitstreamError, match="unexpected bytes"):
        Bitstream.from_bytes(body + struct.pack(">I", zlib.crc32(body)))


def test_wrong_model_refused():
    stream = Bitstream.from_bytes(make().to_bytes())
    stream.check_model(MODEL)
    with pytest.raises(BitstreamError, match="made by model ecc-test"):
        stream.check_model(ModelId("ecc-test", b"\x01\x02\x03\x05"))
    with pytest.raises(BitstreamError):
        stream.check_model(ModelId("other", MODEL.weights_hash))
