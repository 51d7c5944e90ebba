"""Reconstruction losses: the overshoot-weighted L1, the multi-resolution STFT loss built on it, and
the compressed complex-spectrum loss."""
import torch

from ecc.losses import MultiResolutionSTFTLoss, compressed_complex_loss, weighted_l1


def test_weighted_l1_is_l1_at_weight_one_and_weighs_overshoot():
    target = torch.zeros(4)
    estimate = torch.tensor([1.0, -1.0, 2.0, -2.0])
    assert weighted_l1(estimate, target) == torch.nn.functional.l1_loss(estimate, target)
    assert weighted_l1(estimate, target, 3.0) == (3 * 1 + 1 + 3 * 2 + 2) / 4


def test_overshoot_weight_penalizes_added_noise_more_than_missing_energy():
    torch.manual_seed(0)
    speech = torch.randn(1, 8000) * torch.linspace(0, 1, 8000) ** 4  # quiet start, loud end
    louder, quieter = speech * 1.5, speech / 1.5
    plain, asymmetric = MultiResolutionSTFTLoss(), MultiResolutionSTFTLoss(overshoot_weight=3.0)
    for name in ("stft", "mel"):
        assert torch.isclose(asymmetric(quieter, speech)[name], plain(quieter, speech)[name])
        assert asymmetric(louder, speech)[name] > plain(louder, speech)[name] + 0.3


def test_compressed_complex_loss_scores_phase_that_magnitude_losses_miss():
    torch.manual_seed(0)
    speech = torch.randn(1, 16000)
    flipped = -speech  # same magnitude spectrum, every phase turned by pi
    assert compressed_complex_loss(speech, speech) == 0
    assert MultiResolutionSTFTLoss()(flipped, speech)["stft"] < 1e-4
    # |a e^{j(phi+pi)} - a e^{j phi}|^2 = 4 a^2, a = |X|**0.3: four times the silent output's loss
    silent = compressed_complex_loss(torch.zeros_like(speech), speech)
    assert torch.isclose(compressed_complex_loss(flipped, speech), 4 * silent, rtol=1e-4)
