"""The ``ecc`` command line as a user runs it: happy paths and every error path."""
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from ecc.cli import main
from ecc.zoo import DEFAULT_MODEL, list_models
from entropy.bitstream import Bitstream


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, sample_paths):
    out = tmp_path_factory.mktemp("enc") / "clip.ecc"
    assert main(["encode", str(sample_paths[0]), str(out), "--quiet"]) == 0
    return out


def test_encode_decode_info_models(encoded, tmp_path, sample_paths, capsys):
    wav = tmp_path / "out.wav"
    assert main(["decode", str(encoded), str(wav), "--quiet"]) == 0
    audio, rate = sf.read(wav)
    assert rate == 16000 and len(audio) == sf.info(sample_paths[0]).frames
    assert main(["info", str(encoded)]) == 0
    info = capsys.readouterr().out
    assert DEFAULT_MODEL in info and "kbps" in info and "sections:" in info
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [e.name for e in list_models()]


def test_resample_and_downmix_notice(tmp_path, sample_paths, capsys):
    audio, rate = sf.read(sample_paths[1])
    stereo = tmp_path / "stereo44.ogg"
    import soxr

    up = soxr.resample(audio, rate, 44100)
    sf.write(stereo, np.stack([up, up], axis=1), 44100, format="OGG")
    assert main(["encode", str(stereo), str(tmp_path / "s.ecc")]) == 0
    err = capsys.readouterr().err
    assert "resampled 44100 Hz -> 16000 Hz" in err and "downmixed 2 channels" in err
    stream = Bitstream.from_bytes((tmp_path / "s.ecc").read_bytes())
    assert abs(stream.num_samples - len(audio)) <= 2


def test_refuses_overwrite_without_force(encoded, tmp_path, sample_paths, capsys):
    target = tmp_path / "exists.ecc"
    target.write_bytes(b"keep me")
    assert main(["encode", str(sample_paths[0]), str(target), "--quiet"]) == 1
    assert "--force" in capsys.readouterr().err and target.read_bytes() == b"keep me"
    out_wav = tmp_path / "exists.wav"
    out_wav.write_bytes(b"keep me too")
    assert main(["decode", str(encoded), str(out_wav), "--quiet"]) == 1
    assert out_wav.read_bytes() == b"keep me too"
    assert main(["encode", str(sample_paths[0]), str(target), "--quiet", "--force"]) == 0
    assert target.read_bytes().startswith(b"Ec")


@pytest.mark.parametrize("command", ["encode", "decode", "info"])
def test_missing_input(tmp_path, command, capsys):
    assert main([command, str(tmp_path / "nope"), *([str(tmp_path / "o")] if command != "info" else [])]) == 1
    assert "no such file" in capsys.readouterr().err


def test_non_audio_input(tmp_path, capsys):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio")
    assert main(["encode", str(bogus), str(tmp_path / "o.ecc")]) == 1
    assert "not a readable audio file" in capsys.readouterr().err
    assert not (tmp_path / "o.ecc").exists()


def test_corrupt_and_truncated_bitstreams(encoded, tmp_path, capsys):
    data = encoded.read_bytes()
    cases = {"truncated": data[: len(data) // 2], "flipped": bytes([data[0]]) + data[1:10] + bytes([data[10] ^ 4]) + data[11:],
             "empty": b"", "audio": (tmp_path.parent / "x").name.encode() * 10}
    for name, payload in cases.items():
        bad = tmp_path / f"{name}.ecc"
        bad.write_bytes(payload)
        for command in (["decode", str(bad), str(tmp_path / f"{name}.wav")], ["info", str(bad)]):
            assert main(command) == 1, (name, command)
            err = capsys.readouterr().err
            assert err.startswith("ecc: error:") and "Traceback" not in err
        assert not (tmp_path / f"{name}.wav").exists()


def test_wrong_model(encoded, tmp_path, capsys):
    stream = Bitstream.from_bytes(encoded.read_bytes())
    bad = tmp_path / "other.ecc"
    bad.write_bytes(Bitstream(b"\0\0\0\0", stream.sample_rate, stream.num_samples, stream.sections).to_bytes())
    assert main(["decode", str(bad), str(tmp_path / "o.wav"), "--force"]) == 1
    assert "no installed model has weights 00000000" in capsys.readouterr().err
    assert main(["info", str(bad)]) == 0
    assert "unknown (weights 00000000, NOT installed)" in capsys.readouterr().out


def test_unknown_model_name(sample_paths, tmp_path, capsys):
    assert main(["encode", str(sample_paths[0]), str(tmp_path / "o.ecc"), "--model", "nope"]) == 1
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_pipes_through_python_m_ecc(sample_paths):
    clip = sample_paths[0].read_bytes()
    enc = subprocess.run([sys.executable, "-m", "ecc", "encode", "-", "-", "--quiet"], input=clip, capture_output=True, check=True)
    assert enc.stdout.startswith(b"Ec")
    dec = subprocess.run([sys.executable, "-m", "ecc", "decode", "-", "-", "--quiet"], input=enc.stdout, capture_output=True, check=True)
    assert dec.stdout[:4] == b"RIFF"
    help_text = subprocess.run([sys.executable, "-m", "ecc", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("encode", "decode", "info", "models"):
        assert command in help_text


def test_legacy_files_and_model_files_still_work_from_the_command_line(tmp_path, capsys, monkeypatch):
    """Files of formats 1, 2 and 3, made by a model in the earlier .pt layout installed through
    ECC_ZOO_PATH, decode from the command line; info names the model."""
    import json
    from pathlib import Path

    legacy = Path(__file__).parent / "data" / "legacy"
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "tiny-legacy.pt").write_bytes((legacy / "tiny-legacy.pt").read_bytes())
    (zoo / "tiny-legacy.json").write_text(json.dumps({"nominal_kbps": 1.0, "weights_hash": "45247fc3"}))
    monkeypatch.setenv("ECC_ZOO_PATH", str(zoo))
    for name in ("format1", "format2", "format3"):
        assert main(["decode", str(legacy / f"{name}.ecc"), str(tmp_path / f"{name}.wav"), "--quiet"]) == 0
        decoded = sf.read(tmp_path / f"{name}.wav", dtype="float32")[0]
        np.testing.assert_allclose(decoded, np.clip(np.load(legacy / "decoded.npy"), -1, 1), atol=1 / 32768)
    assert main(["info", str(legacy / "format1.ecc")]) == 0
    assert "tiny-legacy (weights 45247fc3, installed)" in capsys.readouterr().out


def test_encode_at_any_rate_of_the_variable_rate_model(tmp_path, sample_paths, capsys):
    """--kbps picks an operating point of the default preset's model; the file records it and decodes;
    a rate the model cannot reach is one error line."""
    from ecc.zoo import rate_range

    low, high = rate_range(DEFAULT_MODEL)
    sizes = []
    for kbps in (low, (low * high) ** 0.5, high):
        out = tmp_path / f"{kbps:.3f}.ecc"
        assert main(["encode", str(sample_paths[0]), str(out), "--kbps", str(kbps), "--quiet"]) == 0
        assert main(["decode", str(out), str(tmp_path / f"{kbps:.3f}.wav"), "--quiet"]) == 0
        sizes.append(out.stat().st_size)
    assert sizes[0] < sizes[1] < sizes[2]
    assert main(["info", str(out)]) == 0
    assert "family:       ecc" in capsys.readouterr().out
    assert main(["encode", str(sample_paths[0]), str(tmp_path / "x.ecc"), "--kbps", str(high * 3)]) == 1
    assert "outside the range" in capsys.readouterr().err and not (tmp_path / "x.ecc").exists()
    assert main(["models"]) == 0
    assert "families: ecc (id 1" in capsys.readouterr().err
