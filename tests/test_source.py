"""Harmonic source: YIN pitch targets, pitch classes, the pulse train, and a codec that uses them."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from ecc.codec import ECCCodec
from ecc.transforms.source import HarmonicSourceConfig, PitchClasses, harmonic_source, yin_pitch

from test_train import TINY

SR, HOP = 16000, 160
CONFIG = HarmonicSourceConfig(enabled=True)


def _buzz(f0: float, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return (0.3 * torch.sign(torch.sin(2 * math.pi * f0 * t)) + 0.01 * torch.randn(len(t)))[None]


@pytest.mark.parametrize("f0", [75.0, 123.0, 210.0, 380.0])
def test_yin_finds_the_pitch_of_a_buzz(f0):
    pitch = yin_pitch(_buzz(f0), HOP, SR, CONFIG)
    assert pitch.shape == (1, SR // HOP + 1)
    inner = pitch[0, 5:-5]
    assert (inner > 0).all()
    assert abs(inner.median().item() / f0 - 1) < 0.02  # integer lags: within 2 %


def test_yin_calls_silence_and_noise_unvoiced():
    assert (yin_pitch(torch.zeros(1, SR), HOP, SR, CONFIG) == 0).all()
    noise = torch.randn(1, SR, generator=torch.Generator().manual_seed(0)) * 0.3
    assert (yin_pitch(noise, HOP, SR, CONFIG) > 0).float().mean() < 0.1


def test_pitch_classes_round_trip():
    classes = PitchClasses(CONFIG)
    pitch = torch.tensor([[0.0, 65.0, 100.0, 151.5, 299.0, 410.0]])
    targets = classes.targets(pitch)
    assert torch.allclose(targets.sum(1), torch.ones(1, 6))
    decoded, voicing = classes.decode(torch.log(targets + 1e-9))
    assert voicing[0, 0] < 1e-6 and (voicing[0, 1:] > 0.999).all()
    np.testing.assert_allclose(decoded[0, 1:].numpy(), pitch[0, 1:].numpy(), rtol=0.01)


def test_harmonic_source_puts_energy_on_the_harmonics_only():
    f0 = 200.0
    source = harmonic_source(torch.full((1, 101), f0), torch.ones(1, 101), HOP, SR, SR)
    assert abs(source.square().mean().item() - 1.0) < 0.1
    spectrum = torch.fft.rfft(source[0] * torch.hann_window(SR)).abs()  # 1 Hz bins
    harmonics = spectrum[torch.arange(1, 40) * int(f0)]
    between = spectrum[torch.arange(1, 40) * int(f0) + int(f0) // 2]
    assert harmonics.min() > 100 * between.max()
    silent = harmonic_source(torch.full((1, 101), f0), torch.zeros(1, 101), HOP, SR, SR)
    assert silent.abs().max() == 0


def test_codec_with_harmonic_source_codes_consistently():
    torch.manual_seed(0)
    model = ECCCodec(replace(TINY, source=CONFIG), "tiny-source")
    model.train()
    audio = _buzz(150.0, 0.5)
    out = model(audio)
    assert out.pitch_logits.shape == (1, CONFIG.logits, audio.shape[-1] // HOP + 1)
    assert out.pitch.shape == (1, audio.shape[-1] // HOP + 1)
    model.eval()
    model.update()
    data, recon = model.compress(audio[0].numpy())
    np.testing.assert_array_equal(model.decompress(data), recon)
