"""Hardened file I/O and payload integrity: every item of the reliability report, as a user meets it."""
import dataclasses
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from ecc.audio import atomic_output
from ecc.cli import main
from ecc.zoo import DEFAULT_MODEL, load_model
from entropy.bitstream import Bitstream
from entropy.errors import BitstreamError

ECC = [sys.executable, "-m", "ecc"]


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, sample_paths):
    out = tmp_path_factory.mktemp("enc") / "clip.ecc"
    assert main(["encode", str(sample_paths[0]), str(out), "--quiet"]) == 0
    return out


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.startswith("ecc: error: ") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_outputs_get_the_permissions_the_umask_allows(encoded, tmp_path, sample_paths):
    old = os.umask(0o022)
    try:
        assert main(["encode", str(sample_paths[0]), str(tmp_path / "a.ecc"), "--quiet"]) == 0
        assert main(["decode", str(encoded), str(tmp_path / "a.wav"), "--quiet"]) == 0
    finally:
        os.umask(old)
    for name in ("a.ecc", "a.wav"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_an_output_that_cannot_be_created_is_one_line_naming_the_output(sample_paths, tmp_path, capsys, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/somewhere/.x.part")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    assert main(["encode", str(sample_paths[0]), str(tmp_path / "x.ecc"), "--quiet"]) == 1
    _one_line_error(capsys, "x.ecc", "Permission denied")


def test_truncated_flac_input_is_a_one_line_error(sample_paths, tmp_path, capsys):
    cut = tmp_path / "cut.flac"
    cut.write_bytes(sample_paths[0].read_bytes()[:20000])
    assert main(["encode", str(cut), str(tmp_path / "x.ecc"), "--quiet"]) == 1
    _one_line_error(capsys, "cut.flac", "corrupt or truncated")
    assert not (tmp_path / "x.ecc").exists()


@pytest.mark.parametrize("stdin, message", [(subprocess.DEVNULL, "standard input is empty"),
                                            (None, "standard input is closed")])
def test_empty_or_closed_stdin(tmp_path, stdin, message):
    code = "import os, sys; os.close(0); sys.stdin = None; from ecc.cli import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code] if stdin is None else ECC
    result = subprocess.run([*cmd, "encode", "-", str(tmp_path / "x.ecc")], stdin=stdin, capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.strip() == f"ecc: error: {message.replace('standard input is closed', '-: standard input is closed')}"


def test_directory_input_says_so(tmp_path, capsys):
    assert main(["encode", str(tmp_path), str(tmp_path / "x.ecc")]) == 1
    _one_line_error(capsys, "is a directory")


def test_infinite_sample_is_named_as_such(tmp_path, capsys):
    audio = np.zeros(16000, dtype=np.float32)
    audio[8000] = np.inf
    sf.write(tmp_path / "inf.wav", audio, 16000, subtype="FLOAT")
    assert main(["encode", str(tmp_path / "inf.wav"), str(tmp_path / "x.ecc"), "--quiet"]) == 1
    _one_line_error(capsys, "NaN or infinite sample (at 0.500 s)")


@pytest.mark.parametrize("text", ["{not json", '[{"name": "a", "q": 1}]'])
def test_malformed_zoo_record_names_its_file(tmp_path, capsys, monkeypatch, text):
    (tmp_path / "broken.json").write_text(text)
    monkeypatch.setenv("ECC_ZOO_PATH", str(tmp_path))
    assert main(["models"]) == 1
    _one_line_error(capsys, "broken.json", "malformed zoo record")


def test_bench_with_no_runnable_codec_says_why(tmp_path, sample_paths, capsys, monkeypatch):
    monkeypatch.setenv("LYRA_WEIGHTS_DIR", str(tmp_path / "none"))
    assert main(["bench", str(sample_paths[0]), "--codecs", "lyra", "--metrics", "pesq", "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "skipped lyra: Lyra weights missing" in err and "no codec could run" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_missing_output_directory_is_refused_and_named(command, encoded, sample_paths, tmp_path, capsys):
    source = sample_paths[0] if command == "encode" else encoded
    target = tmp_path / "no" / "such" / ("x.ecc" if command == "encode" else "x.wav")
    assert main([command, str(source), str(target), "--quiet"]) == 1
    _one_line_error(capsys, str(tmp_path / "no" / "such"), "no such directory")
    assert not (tmp_path / "no").exists()


def test_force_writes_through_a_symlink(encoded, tmp_path):
    real = tmp_path / "real.wav"
    real.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    assert main(["decode", str(encoded), str(link), "--force", "--quiet"]) == 0
    assert link.is_symlink() and sf.info(real).frames > 0


def test_force_writes_into_a_fifo(encoded, tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert main(["decode", str(encoded), str(fifo), "--force", "--quiet"]) == 0
    reader.join(10)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and received[0][:4] == b"RIFF"


def test_the_final_name_is_created_exclusively(tmp_path):
    target = tmp_path / "out.ecc"
    with pytest.raises(FileExistsError, match="pass --force"):
        with atomic_output(target) as handle:
            handle.write(b"mine")
            target.write_bytes(b"theirs")  # another writer wins the race after our check
    assert target.read_bytes() == b"theirs" and list(tmp_path.iterdir()) == [target]


def test_interrupted_write_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(tmp_path / "out.wav") as handle:
            handle.write(b"partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_decode_leaves_no_partial_file(tmp_path, sample_paths):
    long = tmp_path / "long.wav"
    audio = sf.read(sample_paths[0], dtype="float32")[0]
    sf.write(long, np.tile(audio, 40), 16000)  # ~2 min
    assert main(["encode", str(long), str(tmp_path / "long.ecc"), "--quiet"]) == 0
    proc = subprocess.Popen([*ECC, "decode", str(tmp_path / "long.ecc"), str(tmp_path / "out.wav"), "--quiet"],
                            stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not list(tmp_path.glob(".out.wav.*")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert proc.returncode in (0, 130)  # 0 only if it finished first
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == [] and (proc.returncode == 0) == (tmp_path / "out.wav").exists()


def test_an_interrupt_swallowed_by_a_callback_still_exits_130(encoded, tmp_path, monkeypatch):
    """soundfile's cffi callbacks print and drop an exception, then fail with another one."""
    import ecc.cli

    def swallowing_write(*args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except KeyboardInterrupt:
            pass
        raise AssertionError("written == len(data)")

    writer = ecc.cli._write_audio
    monkeypatch.setattr(ecc.cli, "_write_audio", swallowing_write)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["decode", str(encoded), str(tmp_path / "y.wav"), "--quiet"]) == 130
    assert signal.getsignal(signal.SIGTERM) is before  # the caller's handlers are back
    monkeypatch.setattr(ecc.cli, "_write_audio", writer)
    assert main(["decode", str(encoded), str(tmp_path / "z.wav"), "--quiet"]) == 0  # the next run is not "interrupted"


@pytest.mark.parametrize("suffix", [".ogg", ".opus", ".mp3", ".flac"])
def test_decode_writes_compressed_formats_properly(encoded, tmp_path, suffix):
    out = tmp_path / f"x{suffix}"
    assert main(["decode", str(encoded), str(out), "--quiet"]) == 0
    assert sf.info(out).duration == pytest.approx(Bitstream.from_bytes(encoded.read_bytes()).num_samples / 16000, abs=0.1)


def test_unsupported_output_format_is_refused_before_decoding(encoded, tmp_path, capsys):
    assert main(["decode", str(encoded), str(tmp_path / "x.aac")]) == 1
    _one_line_error(capsys, "cannot write .aac audio")


# -- payload integrity: a valid CRC over a changed payload --------------------------------------
def _rewrite(data: bytes, **changes) -> bytes:
    # every other header field (family, operating point) kept; CRC recomputed: only the decoder's own checks can catch it
    return dataclasses.replace(Bitstream.from_bytes(data), **changes).to_bytes()


@pytest.mark.parametrize("change", ["empty payload", "bytes appended", "payload cut", "zero bytes appended",
                                    "more samples", "fewer samples"])
def test_crc_valid_but_changed_payload_is_refused(encoded, change):
    model = load_model(DEFAULT_MODEL)
    data = encoded.read_bytes()
    stream = Bitstream.from_bytes(data)
    section = stream.sections[0]
    forged = {
        "empty payload": lambda: _rewrite(data, sections=(b"",)),
        "bytes appended": lambda: _rewrite(data, sections=(section + b"\x5a\xa5",)),
        "payload cut": lambda: _rewrite(data, sections=(section[: len(section) // 2],)),
        "zero bytes appended": lambda: _rewrite(data, sections=(section + b"\0\0\0\0",)),
        "more samples": lambda: _rewrite(data, num_samples=stream.num_samples + 16000),
        "fewer samples": lambda: _rewrite(data, num_samples=stream.num_samples // 2),
    }[change]()
    with pytest.raises(BitstreamError):
        model.decompress(forged)


def test_forged_huge_sample_count_is_refused_without_allocating(encoded):
    model = load_model(DEFAULT_MODEL)
    forged = _rewrite(encoded.read_bytes(), num_samples=2**40)
    start = time.perf_counter()
    with pytest.raises(BitstreamError, match="sections for"):
        model.decompress(forged)
    assert time.perf_counter() - start < 1.0


def test_a_foreign_models_payload_under_this_models_hash_is_refused(sample_paths):
    import torch

    from ecc.neural_codec import load_codec
    from ecc.zoo import entry

    model = load_model(DEFAULT_MODEL)
    other = load_codec(entry(DEFAULT_MODEL).checkpoint).at(model.operating_point)  # the same model, retrained a bit
    with torch.no_grad():
        other.latent.slices.params[0].net[-1].bias.add_(0.3)
    other.update()
    audio = sf.read(sample_paths[0], dtype="float32")[0]
    data, _ = other.compress(audio)
    forged = _rewrite(data, model_hash=model.weights_hash())
    with pytest.raises(BitstreamError):
        model.decompress(forged)


def test_readme_plot_example_runs_on_a_fresh_clone(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    line = next(l for l in (root / "README.md").read_text().splitlines() if l.startswith("ecc plot "))
    results = root / line.split()[2]
    assert results.is_file(), f"README example needs {results}"
    assert main(["plot", str(results), "--out", str(tmp_path)]) == 0 and list(tmp_path.glob("*.png"))


def test_models_say_their_rates_are_nominal_and_demo_gives_the_scale(capsys):
    assert main(["models"]) == 0
    assert all("kbps (nominal)" in line for line in capsys.readouterr().out.strip().splitlines())
    assert main(["demo"]) == 0
    assert "MOS-LQO: 1.0 bad .. 4.64" in capsys.readouterr().out


def test_fuzz_slice_has_no_tracebacks_hangs_or_accepted_cuts():
    from benchmarks.fuzz import KINDS, run

    result = run(len(KINDS) * 20, seed=1, models=(DEFAULT_MODEL,), time_limit=10.0, progress=False)
    assert result.total("exception") == 0 and result.total("hang") == 0, result.failures[:5]
    assert sum(result.counts.values()) == len(KINDS) * 20
    for kind in ("bit flips", "truncation", "extension", "splice", "random bytes", "crc-valid payload cut",
                 "crc-valid payload extended", "crc-valid sample rate"):
        assert result.counts[(kind, "accepted")] == 0, kind  # caught by the checksum or the decoder's checks


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_loading_a_model_file_never_runs_its_code(tmp_path, monkeypatch):
    import torch

    from ecc.codec import ECCCodec

    monkeypatch.chdir(tmp_path)
    torch.save({"config": {}, "state": {}, "evil": _Payload()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="evil.pt: not a loadable ECC model file"):
        ECCCodec.load(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


def test_inconsistent_model_config_fails_on_construction_with_a_clear_error():
    from ecc.codec import ECCConfig

    with pytest.raises(ValueError, match=r"transform.latent \(48\) != latent.latent \(32\)"):
        ECCConfig.from_dict({"latent": {"latent": 32}})


def test_force_to_dev_stdout_on_a_pipe_writes_into_the_pipe(encoded):
    result = subprocess.run([sys.executable, "-m", "ecc", "decode", str(encoded), "/dev/stdout", "--force", "--quiet"],
                            capture_output=True)
    assert result.returncode == 0 and result.stdout[:4] == b"RIFF", result.stderr
