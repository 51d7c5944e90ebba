"""Streaming: identical to file mode, incremental through pipes, bounded memory, robust to bad bytes."""
import copy
import dataclasses
import io
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from ecc.streaming import StreamDecoder, StreamEncoder
from ecc.wavstream import pcm16, read_wav_stream, wav_stream_header
from ecc.zoo import DEFAULT_MODEL, load_model
from entropy.bitstream import Bitstream
from entropy.errors import BitstreamError


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def _stream(model, audio, chunk_seconds, piece=777):
    encoder = StreamEncoder(model, chunk_seconds)
    parts = [encoder.push(audio[i : i + piece]) for i in range(0, len(audio), piece)]
    return b"".join(parts) + encoder.finish()


def _decode(data, piece=29):
    decoder = StreamDecoder()
    out = [decoder.push(data[i : i + piece]) for i in range(0, len(data), piece)]
    decoder.finish()
    return np.concatenate(out)


def test_stream_with_the_models_chunk_equals_file_mode(model, sample_paths):
    for path in sample_paths:
        audio = sf.read(path, dtype="float32")[0]
        file_data, reconstruction = model.compress(audio)
        stream_data = _stream(model, audio, model.chunk_samples / model.sample_rate)
        assert Bitstream.from_bytes(stream_data).sections == Bitstream.from_bytes(file_data).sections
        np.testing.assert_array_equal(_decode(stream_data), reconstruction)
        np.testing.assert_array_equal(model.decompress(stream_data), reconstruction)  # whole-file API too


def test_short_chunks_equal_file_mode_of_the_same_chunking(model, sample_paths):
    audio = sf.read(sample_paths[0], dtype="float32")[0]
    chunked = copy.deepcopy(model)
    chunked.config = dataclasses.replace(model.config, chunk_seconds=0.64)
    file_data, reconstruction = chunked.compress(audio)
    stream_data = _stream(model, audio, 0.64)
    assert Bitstream.from_bytes(stream_data).sections == Bitstream.from_bytes(file_data).sections
    np.testing.assert_array_equal(_decode(stream_data), reconstruction)


def test_empty_stream_round_trips(model):
    encoder = StreamEncoder(model)
    data = encoder.finish()
    assert len(_decode(data)) == 0 and Bitstream.from_bytes(data).num_samples == 0


@pytest.mark.parametrize("cut", [1, 5, 12, -1, -3])
def test_cut_or_corrupt_stream_is_refused(model, sample_paths, cut):
    data = _stream(model, sf.read(sample_paths[0], dtype="float32")[0], 1.0)
    with pytest.raises(BitstreamError):
        _decode(data[:cut])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    with pytest.raises(BitstreamError):
        _decode(bytes(flipped))
    with pytest.raises(BitstreamError, match="after the end"):
        _decode(data + b"\0")


def test_forged_packet_length_is_refused_before_buffering(model):
    from entropy.bitstream import StreamHeader, _put_varint

    header = StreamHeader(model.weights_hash(), 16000, 16000).to_bytes()
    forged = bytearray(header)
    _put_varint(forged, 2 * (1 << 40))
    with pytest.raises(BitstreamError, match="invalid packet"):
        StreamDecoder().push(bytes(forged))


def test_wav_stream_of_unknown_length_reads_back(sample_paths):
    audio = sf.read(sample_paths[0], dtype="float32")[0]
    data = wav_stream_header(16000) + pcm16(audio)
    blocks = list(read_wav_stream(io.BufferedReader(io.BytesIO(data)), 16000, 4000))
    assert all(len(b) == 4000 for b in blocks[:-1])
    np.testing.assert_allclose(np.concatenate(blocks), audio, atol=1 / 32767)
    assert sf.info(io.BytesIO(data)).samplerate == 16000  # libsndfile reads it too


def test_pipe_encoder_emits_packets_before_its_input_ends(sample_paths, tmp_path):
    audio = sf.read(sample_paths[0], dtype="float32")[0]
    proc = subprocess.Popen([sys.executable, "-m", "ecc", "encode", "-", "-", "--quiet", "--chunk-ms", "500"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(wav_stream_header(16000) + pcm16(audio[:24000]))  # 1.5 s, input left open
    proc.stdin.flush()
    os.set_blocking(proc.stdout.fileno(), False)
    got, deadline = b"", time.time() + 60
    while len(got) < 20 and time.time() < deadline:
        got += proc.stdout.read() or b""
        time.sleep(0.05)
    assert len(got) >= 20, "no packet before the input ended"
    proc.stdin.write(pcm16(audio[24000:]))
    proc.stdin.close()
    os.set_blocking(proc.stdout.fileno(), True)
    got += proc.stdout.read()
    assert proc.wait(60) == 0
    assert Bitstream.from_bytes(got).num_samples == len(audio)


def test_pipeline_encode_decode_through_pipes(sample_paths, tmp_path):
    audio = sf.read(sample_paths[0], dtype="float32")[0]
    wav = wav_stream_header(16000) + pcm16(audio)
    encoded = subprocess.run([sys.executable, "-m", "ecc", "encode", "-", "-", "--quiet"], input=wav,
                             capture_output=True, check=True).stdout
    decoded = subprocess.run([sys.executable, "-m", "ecc", "decode", "-", "-", "--quiet"], input=encoded,
                             capture_output=True, check=True).stdout
    pcm = np.frombuffer(decoded[44:], dtype="<i2")
    assert decoded[:4] == b"RIFF" and len(pcm) == len(audio)
    assert sf.read(io.BytesIO(decoded))[0].shape == (len(audio),)


def test_memory_stays_bounded_on_a_long_stream(model, sample_paths):
    speech = np.concatenate([sf.read(p, dtype="float32")[0] for p in sample_paths])
    encoder, decoder = StreamEncoder(model, 1.0), StreamDecoder()
    rss = []
    for minute in range(3):
        for i in range(0, 60 * 16000, 16000):
            start = (minute * 60 * 16000 + i) % (len(speech) - 16000)
            decoder.push(encoder.push(speech[start : start + 16000]))
        rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    decoder.push(encoder.finish())
    decoder.finish()
    assert rss[-1] - rss[0] < 20 * 1024  # KiB: no growth with the stream's length


def test_info_reports_the_stream_framing(model, sample_paths, tmp_path, capsys):
    from ecc.cli import main

    path = tmp_path / "s.ecc"
    path.write_bytes(_stream(model, sf.read(sample_paths[0], dtype="float32")[0], 0.64))
    assert main(["info", str(path)]) == 0
    assert "stream, 640 ms chunks" in capsys.readouterr().out
