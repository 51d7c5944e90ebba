"""The shared vocoder: shapes, config validation, safe weights round trip, training resume."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from ecc.discriminator import MultiPeriodDiscriminator
from ecc.mel import LogMel, MelConfig
from ecc.vocoder import Vocoder, VocoderConfig
from ecc.vocoder_train import (VocoderTrainConfig, anti_wrap, export_vocoder, learning_rate, load_generator, phase_loss,
                               read_vocoder, train_vocoder)

TINY = VocoderConfig(dim=16, intermediate=32, layers=2)


def test_log_mel_frames_and_vocoder_output_length():
    mel = LogMel()(torch.randn(2, 16000))
    assert mel.shape == (2, 80, MelConfig().frames(16000)) == (2, 80, 101)
    vocoder = Vocoder(TINY)
    assert vocoder(mel, 16000).shape == (2, 16000)
    assert vocoder(mel).shape == (2, 100 * 160)
    assert vocoder.copy_synthesis(torch.randn(1, 5000)).shape == (1, 5000)


def test_vocoder_rejects_a_representation_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\[B, 80, T\] log-mel"):
        Vocoder(TINY)(torch.randn(1, 64, 10))


@pytest.mark.parametrize("field, value, message", [("dim", 0, "dim must be positive"),
                                                   ("kernel", 4, "kernel must be odd"),
                                                   ("n_fft", 100, "at least the hop")])
def test_vocoder_config_validates_on_construction(field, value, message):
    with pytest.raises(ValueError, match=message):
        replace(TINY, **{field: value})


def test_unknown_config_field_is_named():
    with pytest.raises(ValueError, match="unknown VocoderConfig field.*widht"):
        VocoderConfig.from_dict({"widht": 3})


def test_weights_round_trip_through_safetensors(tmp_path):
    vocoder = Vocoder(TINY)
    vocoder.save(tmp_path / "v.safetensors", {"step": 7})
    loaded = Vocoder.load(tmp_path / "v.safetensors")
    assert loaded.config == TINY
    assert read_vocoder(tmp_path / "v.safetensors")[1] == 7  # the step its record names
    mel = torch.randn(1, 80, 20)
    with torch.no_grad():
        assert torch.equal(loaded(mel), vocoder.eval()(mel))


def test_loading_a_file_that_is_not_vocoder_weights_names_it(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="bad.safetensors: not a safetensors"):
        Vocoder.load(bad)
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"), metadata={"family": "\"ecc\""})
    with pytest.raises(ValueError, match="family 'ecc'"):
        Vocoder.load(tmp_path / "other.safetensors")


def test_period_discriminator_folds_the_period_into_the_batch():
    outputs = MultiPeriodDiscriminator(periods=(2, 3), channels=(4, 8))(torch.randn(3, 1001))
    for (logits, features), period in zip(outputs, (2, 3)):
        assert logits.shape[0] == 3 and features[0].shape[0] == 3 * period


def test_training_warms_up_then_turns_adversarial_and_resumes(tmp_path, sample_paths, capsys):
    config = VocoderTrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=2, batch=2,
                                crop_seconds=0.25, warmup_steps=2, checkpoint_every=2, model=TINY,
                                period_channels=(4, 8), device="cpu")
    last = train_vocoder(config)
    state = torch.load(last, weights_only=True)  # plain tensors and values only
    assert state["step"] == 2
    # a resume keeps the run's own warm-up, takes a new phase weight and lr schedule
    train_vocoder(replace(config, steps=4, warmup_steps=10, phase_weight=3.0, decay_start=2, decay_end=3, lr_end=1e-5))
    assert "resumed" in capsys.readouterr().out
    saved = json.loads((tmp_path / "run" / "train_config.json").read_text())
    assert saved["warmup_steps"] == 2 and saved["phase_weight"] == 3.0 and saved["decay_end"] == 3
    assert torch.load(last, weights_only=True)["state"]["g_optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-5)
    generator, step = load_generator(last)
    assert step == 4 and generator.config == TINY
    vocoder = export_vocoder(last, tmp_path / "v.safetensors")
    assert torch.equal(Vocoder.load(tmp_path / "v.safetensors").embed.weight, vocoder.embed.weight)
    # a vocoder file re-exported with the reconstructed phase: same weights and record, new phase settings
    again = export_vocoder(tmp_path / "v.safetensors", tmp_path / "r.safetensors", phase="reconstructed", griffin_lim_iterations=3)
    reread, record = Vocoder.read(tmp_path / "r.safetensors")
    assert reread.config.phase == again.config.phase == "reconstructed" and reread.config.griffin_lim_iterations == 3
    assert torch.equal(reread.embed.weight, vocoder.embed.weight)
    assert record == Vocoder.read(tmp_path / "v.safetensors")[1] and record["step"] == 4


def test_a_lost_run_restarts_from_an_exported_generator_at_its_step(tmp_path, sample_paths, capsys):
    from ecc.cli import main

    config = VocoderTrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=2, batch=2,
                                crop_seconds=0.25, warmup_steps=1, checkpoint_every=2, model=TINY,
                                period_channels=(4, 8), device="cpu")
    last = train_vocoder(config)
    exported = tmp_path / "v.safetensors"
    assert main(["export-vocoder", str(last), str(exported), "--half"]) == 0
    assert main(["export-vocoder", str(last), str(exported)]) == 1  # nothing overwritten without --force
    assert "exists" in capsys.readouterr().err
    restarted = replace(config, out=str(tmp_path / "new"), steps=3, init_from=str(exported))
    state = torch.load(train_vocoder(restarted), weights_only=True)
    assert "started the generator from" in capsys.readouterr().out
    assert state["step"] == 3  # continued from the exported step 2: one more step
    start = Vocoder.load(exported).state_dict()
    fresh = Vocoder(TINY).state_dict()
    key = "embed.weight"
    moved = (state["state"]["generator"][key] - start[key].float()).abs().max()
    assert moved < 0.01 < (fresh[key] - start[key].float()).abs().max()  # one small step from the export
    other = replace(restarted, out=str(tmp_path / "other"), model=replace(TINY, layers=3))
    with pytest.raises(ValueError, match="config differs"):
        train_vocoder(other)


def test_learning_rate_is_constant_then_a_cosine_down_to_lr_end():
    config = VocoderTrainConfig(lr=2e-4, lr_end=2e-5, decay_start=100, decay_end=300)
    lrs = [learning_rate(config, step) for step in range(0, 400, 10)]
    assert lrs[:11] == [2e-4] * 11 and lrs[-10:] == [pytest.approx(2e-5)] * 10
    assert learning_rate(config, 200) == pytest.approx(1.1e-4)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_training_is_deterministic(tmp_path, sample_paths):
    weights = []
    for name in ("a", "b"):
        config = VocoderTrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / name), steps=2, batch=2,
                                    crop_seconds=0.25, warmup_steps=1, model=TINY, period_channels=(4, 8),
                                    device="cpu")
        weights.append(load_generator(train_vocoder(config))[0].state_dict())
    for key, value in weights[0].items():
        np.testing.assert_array_equal(value.numpy(), weights[1][key].numpy())


def test_phase_loss_is_blind_to_whole_turns_and_scores_each_difference():
    torch.manual_seed(0)
    target = torch.rand(2, 5, 7) * 6 - 3
    assert phase_loss(target + 2 * torch.pi * torch.randint(-3, 4, target.shape), target) < 1e-5
    shifted = phase_loss(target + 0.5, target)  # a constant offset: instantaneous phase only
    assert torch.isclose(shifted, torch.tensor(0.5), atol=1e-5)
    ramp = phase_loss(target + 0.1 * torch.arange(7.0), target)  # a delay-like ramp in time: also frequency
    assert ramp > phase_loss(target + 0.1 * torch.arange(7.0).mean(), target)
    assert torch.isclose(anti_wrap(torch.tensor([3.5 * torch.pi])), torch.tensor(0.5 * torch.pi))


def test_spectrum_and_waveform_are_the_forward_pass():
    vocoder = Vocoder(TINY).eval()
    mel = torch.randn(1, 80, 12)
    log_mag, phase = vocoder.spectrum(mel)
    assert log_mag.shape == phase.shape == (1, TINY.n_fft // 2 + 1, 12)
    torch.testing.assert_close(vocoder.waveform(log_mag, phase, 1760), vocoder(mel, 1760))
    wav = torch.randn(1, 1760) * 0.1
    spec = vocoder.stft(wav)  # the grid the head predicts: its own inverse is the waveform
    assert spec.shape == (1, TINY.n_fft // 2 + 1, 12)
    torch.testing.assert_close(vocoder.waveform(spec.abs().log(), spec.angle(), 1760), wav, atol=1e-5, rtol=0)


def test_the_committed_vocoder_milestone_loads_and_synthesizes(sample_paths):
    from benchmarks.metrics import pesq_wb
    from ecc.audio import load_audio

    from ecc.zoo import ZOO_DIR

    vocoder, step = read_vocoder(ZOO_DIR / "vocoder.safetensors")
    assert vocoder.config.same_network(VocoderConfig()) and step >= 5000
    clip = load_audio(sample_paths[0], 16000).samples
    with torch.no_grad():
        rebuilt = vocoder.with_phase("reconstructed").copy_synthesis(torch.from_numpy(clip)[None])[0].numpy()
    assert pesq_wb(clip, rebuilt, 16000) > 2.5  # a broken or mismatched file scores about 1
