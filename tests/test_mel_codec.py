"""The ecc-mel family: ECC's latent decoded to log-mel and through the shared vocoder. Round trips,
exact symbols across thread counts, files, and the cheap training stage (mel decoder on a frozen
ECC encoder and latent codec, whose bitstream it then shares)."""
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from ecc.codec import ECCCodec, ECCConfig
from ecc.mel_codec import ECCMelCodec, ECCMelConfig, band_weights
from ecc.neural_codec import load_codec
from ecc.train import TrainConfig, operating_points, train
from ecc.transforms.conv import ConvTransformConfig
from ecc.vocoder import Vocoder, VocoderConfig
from entropy.bitstream import Bitstream
from entropy.ecc_latent import ECCLatentConfig
from entropy.errors import BitstreamError

TRANSFORM = ConvTransformConfig(hidden=32, latent=16, blocks=1)
LATENT = ECCLatentConfig(latent=16, hyper=4, hidden=32, rates=3)
VOCODER = VocoderConfig(dim=16, intermediate=32, layers=2)
TINY = ECCMelConfig(transform=TRANSFORM, latent=LATENT, vocoder=VOCODER)
ROOT = Path(__file__).resolve().parents[1]


def tiny_model(seed: int = 0) -> ECCMelCodec:
    torch.manual_seed(seed)
    model = ECCMelCodec(TINY, "tiny-mel").eval()
    model.update()
    return model


def speech(seconds: float = 1.3, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=int(16000 * seconds)) * 0.1).astype(np.float32)


def test_round_trip_records_the_family_and_decodes_to_the_reconstruction():
    model = tiny_model().at(1.5)
    audio = speech()
    data, recon = model.compress(audio)
    stream = Bitstream.from_bytes(data)
    assert stream.family == ECCMelCodec.family_id == 2 and stream.operating_point == 24
    decoded = model.decompress(data)
    assert decoded.shape == audio.shape and np.isfinite(decoded).all()
    np.testing.assert_allclose(decoded, recon, atol=1e-5)


def test_an_ecc_model_refuses_an_ecc_mel_bitstream():
    data, _ = tiny_model().at(1.0).compress(speech())
    ecc = ECCCodec(ECCConfig(transform=TRANSFORM, latent=LATENT)).eval()
    ecc.update()
    with pytest.raises(BitstreamError, match="made by a ecc-mel codec, not ecc"):
        ecc.at(1.0).decompress(data)


def test_config_ties_the_vocoder_mel_to_the_stft_frames():
    with pytest.raises(ValueError, match="vocoder log-mel .*hop 256.* != STFT"):
        replace(TINY, vocoder=replace(VOCODER, mel=replace(VOCODER.mel, hop=256), n_fft=1024))
    assert ECCMelConfig.from_dict(json.loads(json.dumps(TINY.to_dict()))) == TINY


_DECODE_ONE_THREAD = """
import sys, numpy as np, torch
torch.set_num_threads(1)
from ecc.neural_codec import load_codec
from entropy.bitstream import Bitstream
model = load_codec(sys.argv[1])
stream = model.open_bitstream(open(sys.argv[2], "rb").read())
latents = [model.decode_latent(s, n, stream.operating_point).numpy()
           for n, s in zip(model._chunk_lengths(stream.num_samples, stream.chunk_samples), stream.sections)]
np.save(sys.argv[3], np.concatenate(latents, axis=-1))
np.save(sys.argv[4], model.decompress(open(sys.argv[2], "rb").read()))
"""


def test_symbols_are_exact_across_thread_counts_and_audio_agrees_to_float_tolerance(tmp_path):
    model = tiny_model(1)
    model.save(tmp_path / "m.safetensors")
    bound = load_codec(tmp_path / "m.safetensors").at(0.75)
    torch.set_num_threads(2)
    audio = speech(2.1, seed=3)
    chunks = [bound.encode_chunk(c) for c in bound.split(audio)]
    data, recon = bound.compress(audio)
    (tmp_path / "x.ecc").write_bytes(data)
    subprocess.run([sys.executable, "-c", _DECODE_ONE_THREAD, str(tmp_path / "m.safetensors"), str(tmp_path / "x.ecc"),
                    str(tmp_path / "latent.npy"), str(tmp_path / "audio.npy")], check=True, cwd=ROOT)
    np.testing.assert_array_equal(np.load(tmp_path / "latent.npy"), np.concatenate([y.numpy() for _, y in chunks], -1))
    np.testing.assert_allclose(np.load(tmp_path / "audio.npy"), recon, atol=1e-4)


def test_uniform_rate_sampling_interpolates_lambda_in_log():
    config = TrainConfig(lmbdas=(1.0, 0.1, 0.01), rate_sampling="uniform")
    torch.manual_seed(0)
    q, lmbda = operating_points(config, 3, step=5, batch=1000)
    assert q.shape == lmbda.shape == (1000,) and 0 <= q.min() and q.max() <= 2
    torch.testing.assert_close(lmbda, 10 ** -q)
    assert operating_points(replace(config, rate_sampling="cycle"), 3, step=5, batch=4)[0] == 2
    q, lmbda = operating_points(TrainConfig(lmbda=0.3), 0, step=5, batch=2)
    assert q is None and lmbda.tolist() == pytest.approx([0.3, 0.3])


def test_train_config_names_unknown_fields_and_family_mismatches():
    with pytest.raises(ValueError, match="unknown TrainConfig field.*lamda"):
        TrainConfig.from_dict({"lamda": 1})
    with pytest.raises(ValueError, match="not the ecc family's config"):
        TrainConfig(model=TINY)
    parsed = TrainConfig.from_dict({"family": "ecc-mel", "model": TINY.to_dict(), "freeze": ["encoder."]})
    assert parsed.model == TINY and parsed.freeze == ("encoder.",)


def test_a_wider_mel_decoder_round_trips_through_its_model_file(tmp_path):
    config = replace(TINY, decoder_hidden=48)
    assert ECCMelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    torch.manual_seed(0)
    model = ECCMelCodec(config, "wide-mel").eval()
    model.update()
    assert model.decoder.net[0].out_channels == 48 and model.encoder.net[0].out_channels == TRANSFORM.hidden
    model.save(tmp_path / "wide.safetensors")
    loaded = load_codec(tmp_path / "wide.safetensors")
    audio = speech(1.0, seed=4)
    np.testing.assert_array_equal(loaded.at(1.0).compress(audio)[1], model.at(1.0).compress(audio)[1])


LOG_MEL = replace(TINY, transform=replace(TRANSFORM, in_channels=VOCODER.mel.n_mels), encoder_input="log_mel",
                  mel_shift=-1.4, mel_scale=2.4)


def test_a_log_mel_encoder_analyses_the_standardized_log_mel_and_round_trips(tmp_path):
    assert ECCMelConfig.from_dict(json.loads(json.dumps(LOG_MEL.to_dict()))) == LOG_MEL
    torch.manual_seed(5)
    model = ECCMelCodec(LOG_MEL, "log-mel").eval()
    model.update()
    audio = speech(1.0, seed=6)
    wav = torch.from_numpy(audio)[None]
    with torch.no_grad():
        standardized = (model.vocoder.analysis(wav) + 1.4) / 2.4
        torch.testing.assert_close(model.analyse(wav), model.encoder(standardized))
        y = model.analyse(wav)
        torch.testing.assert_close(model.mel(y, 101), model.decoder(y)[..., :101] * 2.4 - 1.4)
    model.save(tmp_path / "m.safetensors")
    bound = load_codec(tmp_path / "m.safetensors").at(1.0)
    data, recon = bound.compress(audio)
    np.testing.assert_allclose(bound.decompress(data), recon, atol=1e-5)
    # shorter than the log-mel window (40 ms): padded to it, as the STFT's window is for ECC's encoder
    assert model.min_samples == VOCODER.mel.n_fft
    short = speech(0.02, seed=7)
    data, recon = bound.compress(short)
    assert bound.decompress(data).shape == short.shape


def test_configs_without_the_new_fields_keep_the_stft_encoder_and_the_raw_decoder_output():
    legacy = {k: v for k, v in TINY.to_dict().items() if k not in ("encoder_input", "mel_shift", "mel_scale")}
    assert ECCMelConfig.from_dict(legacy) == TINY
    assert (TINY.encoder_input, TINY.mel_shift, TINY.mel_scale) == ("stft", 0.0, 1.0)


@pytest.mark.parametrize("change, message", [
    ({"encoder_input": "log_mel"}, r"transform.in_channels \(322\) != vocoder n_mels \(80\)"),
    ({"encoder_input": "mfcc"}, "encoder_input must be one of stft, log_mel"),
    ({"mel_scale": 0.0}, "mel_scale must be positive"),
])
def test_encoder_input_and_standardization_are_validated(change, message):
    with pytest.raises(ValueError, match=message):
        replace(ECCMelConfig(), **change)


def test_mel_decoder_trains_on_a_frozen_ecc_model_and_shares_its_bitstream(tmp_path, sample_paths):
    torch.manual_seed(2)
    ecc = ECCCodec(ECCConfig(transform=TRANSFORM, latent=LATENT), "tiny-ecc").eval()
    ecc.update()
    ecc.save(tmp_path / "ecc.safetensors")
    torch.manual_seed(3)
    Vocoder(VOCODER).save(tmp_path / "vocoder.safetensors")
    config = TrainConfig(family="ecc-mel", data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=3,
                         batch=2, crop_seconds=0.5, model=TINY, init_from=str(tmp_path / "ecc.safetensors"),
                         vocoder_from=str(tmp_path / "vocoder.safetensors"), waveform_weight=0.0,
                         freeze=("encoder.", "latent.", "vocoder."), lmbdas=(1.0, 0.1, 0.01),
                         rate_sampling="uniform", checkpoint_every=3)
    state = torch.load(train(config), weights_only=True)
    assert state["family"] == "ecc-mel" and state["step"] == 3 and "aux_optimizer" not in state
    vocoder = Vocoder.load(tmp_path / "vocoder.safetensors").state_dict()
    for name, value in ecc.named_parameters():
        if name.startswith(("encoder.", "latent.")):
            assert torch.equal(state["state"][name], value), name
    for name, value in vocoder.items():
        assert torch.equal(state["state"]["vocoder." + name], value), name
    assert not torch.equal(state["state"]["decoder.net.0.weight"], ecc.state_dict()["decoder.net.0.weight"])

    from ecc.train import read_model

    mel = read_model(tmp_path / "run" / "last.pt")  # a training checkpoint: the joint fine-tune's init_from
    assert mel.family == "ecc-mel" and read_model(tmp_path / "ecc.safetensors").family == "ecc"
    audio = speech(1.0, seed=5)
    assert mel.at(1.25).encode_chunk(audio)[0] == ecc.at(1.25).encode_chunk(audio)[0]  # same symbols, same bytes


def test_band_weights_weigh_the_log_mel_loss_per_band_range():
    weights = band_weights((3.0, 1.0), 80)
    assert weights.shape == (80,) and weights.mean().item() == pytest.approx(1.0)
    assert torch.all(weights[:40] == 1.5) and torch.all(weights[40:] == 0.5)
    for bad in ((), (1.0, 0.0), (1.0, 1.0, 1.0)):  # empty, not positive, 80 bands not in 3 equal ranges
        with pytest.raises(ValueError, match="band weights"):
            band_weights(bad, 80)
    model = tiny_model()
    wav = torch.from_numpy(speech(0.5, seed=4))[None]
    with torch.no_grad():
        target = model.vocoder.analysis(wav)
        error = (model.mel(model.latent(model.analyse(wav, target), "round", 1.0).y_hat, target.shape[-1]) - target).abs()
        plain = model(wav, "round", 1.0, synthesize=False).losses["mel_l1"]
        model.mel_loss_weights = band_weights((3.0, 1.0), 80)
        weighted = model(wav, "round", 1.0, synthesize=False).losses["mel_l1"]
    torch.testing.assert_close(plain, error.mean())
    torch.testing.assert_close(weighted, (error[:, :40].mean() * 1.5 + error[:, 40:].mean() * 0.5) / 2)
    assert not torch.isclose(plain, weighted)


def test_mel_band_weights_are_for_ecc_mel_runs_and_must_fit_the_bands(tmp_path, sample_paths):
    with pytest.raises(ValueError, match="mel_band_weights weighs the ecc-mel"):
        TrainConfig(mel_band_weights=(2.0, 1.0))
    parsed = TrainConfig.from_dict({"family": "ecc-mel", "mel_band_weights": [2, 1]})
    assert parsed.mel_band_weights == (2, 1)
    config = TrainConfig(family="ecc-mel", data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=1,
                         model=TINY, mel_band_weights=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="one per equal range of the 80 bands"):
        train(config)


def test_ecc_mel_cannot_start_from_an_ecc_model_without_its_architecture(tmp_path, sample_paths):
    ECCCodec(ECCConfig(transform=TRANSFORM, latent=LATENT)).save(tmp_path / "ecc.safetensors")
    config = TrainConfig(family="ecc-mel", data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=1,
                         init_from=str(tmp_path / "ecc.safetensors"))
    with pytest.raises(ValueError, match="is a ecc model: give the ecc-mel architecture"):
        train(config)


def test_harness_codec_of_a_family_lists_only_its_models(tmp_path, monkeypatch):
    from benchmarks.codecs import CodecUnavailable, get_codec

    from benchmarks.codecs.ecc_zoo import ECCZoo

    shipped_ecc, shipped_mel = set(get_codec("ecc").points), set(get_codec("ecc-mel").points)
    assert shipped_ecc and shipped_mel and not shipped_ecc & shipped_mel
    assert all(name.startswith("ecc-mel-") for name in shipped_mel)
    with pytest.raises(CodecUnavailable, match="no toy models installed.*ECC_ZOO_PATH"):
        ECCZoo("toy").check()
    model = tiny_model(4)
    model.save(tmp_path / "tiny-mel.safetensors")
    presets = [{"name": "tiny-mel-a", "q": 0.5, "kbps": 1.0}, {"name": "tiny-mel-b", "q": 2.0, "kbps": 2.0}]
    (tmp_path / "tiny-mel.json").write_text(json.dumps({"family": "ecc-mel", "presets": presets,
                                                        "weights_hash": model.weights_hash().hex()}))
    monkeypatch.setenv("ECC_ZOO_PATH", str(tmp_path))
    codec = get_codec("ecc-mel")
    assert codec.points.keys() == shipped_mel | {"tiny-mel-a", "tiny-mel-b"}
    assert codec.points["tiny-mel-a"] == 1.0 and codec.points["tiny-mel-b"] == 2.0
    assert set(get_codec("ecc").points) == shipped_ecc
    audio = speech(1.0, seed=6)
    coded = codec.code(audio, "tiny-mel-b")
    assert len(coded.audio) == len(audio) and 0 < coded.payload_bits < coded.file_bits


def test_joint_fine_tune_against_the_vocoder_runs_discriminators(tmp_path, sample_paths, capsys):
    from ecc.discriminator import AdversarialConfig
    from ecc.vocoder_train import VocoderTrainConfig, train_vocoder

    run = train_vocoder(VocoderTrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / "vocoder"), steps=2,
                                           batch=2, crop_seconds=0.25, warmup_steps=1, period_channels=(4, 8),
                                           resolution=AdversarialConfig(hidden=8, layers=2), model=VOCODER))
    vocoder_run = torch.load(run, weights_only=True)["state"]
    config = TrainConfig(family="ecc-mel", data=str(sample_paths[0].parent), out=str(tmp_path / "joint"), steps=2,
                         batch=2, crop_seconds=0.5, model=TINY, vocoder_from=str(run), discriminators_from=str(run),
                         adversarial=AdversarialConfig(weight=1.0, feature_weight=2.0), freeze=("encoder.", "latent."),
                         lmbdas=(1.0, 0.1, 0.01), checkpoint_every=2)
    state = torch.load(train(config), weights_only=True)
    models = state["discriminator"]["models"]
    assert len(models) == 2  # the run's multi-period and multi-resolution discriminators, trained on
    assert models[0].keys() == vocoder_run["mpd"].keys() and models[1].keys() == vocoder_run["mrd"].keys()
    assert any(not torch.equal(models[1][k], vocoder_run["mrd"][k]) for k in models[1])
    assert any(not torch.equal(state["state"]["vocoder." + k], v) for k, v in vocoder_run["generator"].items())
    train(replace(config, steps=3, checkpoint_every=3))  # resumes with the saved discriminators
    assert "resumed" in capsys.readouterr().out

    from ecc.train import export

    presets = [{"name": "tiny-mel-x", "q": 1.0, "kbps": 1.0}]
    exported = export(tmp_path / "joint" / "last.pt", tmp_path / "m.safetensors", "tiny-mel", presets=presets,
                      vocoder=run)  # the vocoder swapped for the run's (step 2)
    assert json.loads((tmp_path / "m.json").read_text())["vocoder"] == {"file": str(run), "step": 2}
    for name, value in vocoder_run["generator"].items():
        assert torch.equal(exported.vocoder.state_dict()[name], value), name
    with pytest.raises(ValueError, match="discriminators_from needs adversarial"):
        replace(config, adversarial=None)

    # a vocoder file that reconstructs its phase brings that setting into the exported model's file
    from ecc.audio import load_audio
    from ecc.cli import main

    assert main(["export-vocoder", str(run), str(tmp_path / "rebuilt.safetensors"), "--phase", "reconstructed",
                 "--griffin-lim-iterations", "3"]) == 0
    export(tmp_path / "joint" / "last.pt", tmp_path / "r.safetensors", "tiny-mel-r", presets=presets,
           vocoder=tmp_path / "rebuilt.safetensors")
    rebuilding = load_codec(tmp_path / "r.safetensors")
    assert rebuilding.vocoder.config.phase == "reconstructed" and rebuilding.config.vocoder.phase == "reconstructed"
    assert rebuilding.vocoder.config.griffin_lim_iterations == 3
    for name, value in vocoder_run["generator"].items():
        assert torch.equal(rebuilding.vocoder.state_dict()[name], value), name
    assert rebuilding.weights_hash() != exported.weights_hash()  # a file names the decoder that made its audio
    clip = load_audio(sample_paths[0], 16000).samples[:8000]
    (_, generated), (rebuilt_file, rebuilt) = exported.at(1.0).compress(clip), rebuilding.at(1.0).compress(clip)
    assert not np.allclose(generated, rebuilt, atol=1e-3)
    np.testing.assert_allclose(rebuilding.decompress(rebuilt_file), rebuilt, atol=1e-5)


def test_vocoder_from_must_match_and_freeze_must_leave_something(tmp_path, sample_paths):
    from ecc.train import attach_vocoder

    Vocoder(replace(VOCODER, dim=24)).save(tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="differs from the model's"):
        attach_vocoder(ECCMelCodec(TINY), tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="ecc model has no vocoder"):
        attach_vocoder(ECCCodec(ECCConfig(transform=TRANSFORM, latent=LATENT)), tmp_path / "other.safetensors")
    config = TrainConfig(family="ecc-mel", data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=1,
                         model=TINY, freeze=("stft.", "encoder.", "latent.", "decoder.", "vocoder."))
    with pytest.raises(ValueError, match="leaves nothing to train"):
        train(config)
