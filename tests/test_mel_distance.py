"""frame_average: the latent-frame-rate smoothing that benchmarks.mel_distance measures."""
import torch

from benchmarks.mel_distance import frame_average


def test_period_one_and_constant_spectra_are_unchanged():
    mel = torch.randn(2, 80, 37)
    torch.testing.assert_close(frame_average(mel, 1), mel)
    constant = torch.full((1, 80, 37), -3.0)
    torch.testing.assert_close(frame_average(constant, 4), constant)


def test_detail_inside_a_latent_frame_is_averaged_away():
    alternating = torch.tensor([1.0, -1.0] * 20).expand(1, 80, 40)  # varies every frame, mean 0 per block
    out = frame_average(alternating, 4)
    assert out.shape == alternating.shape
    torch.testing.assert_close(out, torch.zeros_like(out))
