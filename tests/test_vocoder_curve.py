"""The vocoder learning curve's phase measures (benchmarks/vocoder_curve.py)."""
import math

import numpy as np
import torch

from benchmarks.vocoder_curve import phase_errors, swapped_halves

N_FFT, HOP = 640, 160


def stft(x: torch.Tensor) -> torch.Tensor:
    return torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)


def test_phase_errors_are_zero_for_the_same_phase_and_blind_to_a_constant_rotation():
    spec = stft(torch.randn(1, 8000, generator=torch.Generator().manual_seed(0)))
    assert phase_errors(spec, spec) == {"group_delay_error": 0.0, "inst_freq_error": 0.0}
    rotated = phase_errors(spec * torch.exp(torch.tensor(0.7j)), spec)
    assert max(rotated.values()) < 1e-4


def test_random_phase_scores_about_half_pi():
    spec = stft(torch.randn(1, 16000, generator=torch.Generator().manual_seed(1)))
    noise = torch.rand(spec.shape, generator=torch.Generator().manual_seed(2)) * 2 * math.pi
    errors = phase_errors(spec.abs() * torch.exp(1j * noise), spec)
    for value in errors.values():
        assert abs(value - math.pi / 2) < 0.1


def test_swapped_halves_of_the_input_with_itself_rebuild_the_input():
    wav = torch.randn(1, 8000, generator=torch.Generator().manual_seed(3)) * 0.1
    spec = stft(wav)
    for half in swapped_halves(spec, spec, N_FFT, HOP, wav.shape[-1]):
        np.testing.assert_allclose(half, wav[0].numpy(), atol=1e-5)
