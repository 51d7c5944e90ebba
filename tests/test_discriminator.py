"""GAN fine-tuning parts: discriminator shapes, the least-squares and feature-matching losses, and
that the generator's adversarial losses update the decoder but not the discriminator."""
import torch

from ecc.discriminator import (AdversarialConfig, MultiResolutionDiscriminator, discriminator_loss,
                               feature_matching_loss, generator_loss)
from ecc.train import Adversary

SMALL = AdversarialConfig(fft_sizes=(64, 128), hidden=8, layers=2)


def test_each_resolution_gives_frame_logits_and_layer_features():
    torch.manual_seed(0)
    outputs = MultiResolutionDiscriminator(SMALL, 16000)(torch.randn(3, 1600))
    assert len(outputs) == 2
    for (logits, features), n_fft in zip(outputs, SMALL.fft_sizes):
        frames = 1600 // (n_fft // 4) + 1
        assert logits.shape == (3, frames)
        assert [f.shape for f in features] == [(3, 8, frames)] * 2


def test_least_squares_losses_vanish_only_at_their_targets():
    ones, zeros = [(torch.ones(2, 5), [])], [(torch.zeros(2, 5), [])]
    assert discriminator_loss(ones, zeros) == 0 and discriminator_loss(zeros, ones) == 2
    assert generator_loss(ones) == 0 and generator_loss(zeros) == 1


def test_feature_matching_is_relative_l1_and_zero_for_equal_features():
    real = [(torch.zeros(1, 1), [torch.full((1, 2, 3), 2.0)])]
    assert feature_matching_loss(real, real) == 0
    fake = [(torch.zeros(1, 1), [torch.full((1, 2, 3), 3.0)])]
    assert torch.isclose(feature_matching_loss(real, fake), torch.tensor(0.5))


def test_generator_losses_reach_the_decoder_not_the_discriminator():
    torch.manual_seed(0)
    adversary = Adversary.spectral(SMALL, 16000)
    wav = torch.randn(2, 1600) * 0.1
    decoder = torch.nn.Parameter(torch.ones(()))
    losses = {}
    before = [p.detach().clone() for p in adversary.discriminators.parameters()]
    adversary.step(wav, 0.5 * decoder * wav, losses)
    after = list(adversary.discriminators.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before)), "the discriminator step changed nothing"
    grads = [p.grad.clone() for p in after]
    (losses["adv"] + losses["fm"]).backward()
    assert decoder.grad is not None and decoder.grad != 0
    assert all(torch.equal(p.grad, g) for p, g in zip(after, grads))
