from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*.flac"))


@pytest.fixture(scope="session")
def sample_paths() -> list[Path]:
    assert SAMPLES, "the committed sample clips are missing"
    return SAMPLES


@pytest.fixture(scope="session")
def to_version1():
    """Lay a Bitstream out as a format-version-1 file, byte for byte as docs/bitstream.md says
    version 1 did (name before the hash, every section length-prefixed, CRC-32)."""
    import struct
    import zlib

    from entropy.bitstream import MAGIC, Bitstream, _put_varint

    def convert(stream: Bitstream, name: str) -> bytes:
        out = bytearray(MAGIC + b"\x01" + bytes([len(name)]) + name.encode() + stream.model_hash)
        for value in (stream.sample_rate, stream.num_samples, len(stream.sections)):
            _put_varint(out, value)
        for section in stream.sections:
            _put_varint(out, len(section))
            out += section
        return bytes(out + struct.pack(">I", zlib.crc32(out)))

    return convert
