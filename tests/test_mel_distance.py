"""frame_average (benchmarks.mel_distance) and BlockPCA (ecc.transforms.klt): what a latent of a given frame rate and width could carry."""
import pytest
import torch

from benchmarks.mel_distance import frame_average
from ecc.transforms.klt import BlockPCA


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


def test_block_pca_with_every_component_is_the_identity_and_keeps_a_partial_last_block():
    torch.manual_seed(0)
    mels = [torch.randn(1, 6, 41) for _ in range(3)]  # 30 blocks of 2 x 6 = 12 values
    pca = BlockPCA.fit(mels, block=2, dims=12)
    mel = torch.randn(1, 6, 9)
    torch.testing.assert_close(pca(mel), mel, atol=1e-4, rtol=0)


def test_block_pca_keeps_what_its_components_span_and_drops_the_rest():
    torch.manual_seed(1)
    pattern = torch.randn(6, 2)  # one [n_mels, block] shape, scaled per block
    mels = [torch.einsum("k,bf->bkf", torch.randn(20), pattern).reshape(1, 6, 40)]  # [bands, blocks, frames]
    pca = BlockPCA.fit(mels, block=2, dims=1)
    inside = (3.0 * pattern).reshape(1, 6, 2)
    torch.testing.assert_close(pca(inside), inside, atol=1e-4, rtol=0)
    mel = torch.randn(1, 6, 5)
    out = pca(mel)
    torch.testing.assert_close(out[..., 4], mel[..., 4])  # the partial block is untouched
    direction = pattern.flatten() / pattern.norm()
    for k in range(2):  # each whole block is now a multiple of the pattern
        block = out[0, :, 2 * k:2 * k + 2]
        torch.testing.assert_close(block.flatten() - (block.flatten() @ direction) * direction,
                                   torch.zeros(12), atol=1e-4, rtol=0)


def test_block_pca_needs_as_many_blocks_as_components():
    with pytest.raises(ValueError, match="48 components need at least 48 blocks"):
        BlockPCA.fit([torch.randn(1, 80, 40)], block=4, dims=48)
