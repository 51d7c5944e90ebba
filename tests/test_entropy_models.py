"""Entropy models: exact coding round trips, tables surviving a checkpoint, rate estimates."""
import io

import numpy as np
import pytest
import torch

from entropy.categorical import CategoricalModel
from entropy.factorized import FactorizedPrior
from entropy.gaussian import GaussianConditional
from entropy.range_coder import RangeDecoder, RangeEncoder


def reload(model: torch.nn.Module, fresh: torch.nn.Module) -> torch.nn.Module:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer))
    return fresh


def test_gaussian_round_trip_through_checkpoint():
    gen = torch.Generator().manual_seed(0)
    model = GaussianConditional()
    model.update()
    decoder_model = reload(model, GaussianConditional())
    scales = torch.exp(torch.empty(4, 8, 100).uniform_(-4, 5, generator=gen))
    means = torch.randn(4, 8, 100, generator=gen) * 20
    y = means + torch.randn(4, 8, 100, generator=gen) * scales
    y[0, 0, :5] = torch.tensor([1e6, -1e6, 1e12, -3e9, 0.49])  # outliers, beyond int32 too
    encoder = RangeEncoder()
    y_hat = model.compress(encoder, y, scales, means)
    decoded = decoder_model.decompress(RangeDecoder(encoder.finish()), scales, means)
    assert torch.equal(decoded, y_hat)
    inliers = y.abs() < 1e6
    assert torch.equal(y_hat[inliers], (torch.round(y - means) + means)[inliers])


def test_gaussian_skip_codes_nothing_for_skipped_symbols():
    gen = torch.Generator().manual_seed(1)
    model = GaussianConditional()
    model.update()
    scales = torch.exp(torch.empty(1, 4, 500).uniform_(-3, 3, generator=gen))
    means = torch.randn(1, 4, 500, generator=gen)
    y = means + torch.randn(1, 4, 500, generator=gen) * scales
    skip = scales < 0.5
    sizes = {}
    for name, mask in (("all", None), ("skip", skip)):
        encoder = RangeEncoder()
        y_hat = model.compress(encoder, y, scales, means, skip=mask)
        data = encoder.finish()
        sizes[name] = len(data)
        assert torch.equal(model.decompress(RangeDecoder(data), scales, means, skip=mask), y_hat)
    assert torch.equal(y_hat[skip], means[skip])
    assert sizes["skip"] < sizes["all"]


def test_gaussian_table_bits_match_likelihood():
    model = GaussianConditional()
    model.update()
    scales = torch.full((20000,), 3.0, dtype=torch.float64)
    means = torch.zeros_like(scales)
    y_hat = torch.round(torch.randn(20000, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 3)
    ideal = -torch.log2(model.likelihood(y_hat, scales, means)).sum().item()
    assert model.bits(y_hat, scales, means).sum() == pytest.approx(ideal, rel=0.01)


def test_factorized_round_trip_and_aux_loss():
    torch.manual_seed(3)
    model = FactorizedPrior(6)
    x = torch.randn(2, 6, 50) * torch.arange(1, 7).view(1, 6, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    initial = model.aux_loss().item()
    for _ in range(300):
        optimizer.zero_grad()
        _, likelihoods = model(x)
        loss = -torch.log2(likelihoods).mean() + model.aux_loss()
        loss.backward()
        optimizer.step()
    assert model.aux_loss().item() < initial
    model.update()
    decoder_model = reload(model, FactorizedPrior(6))
    x[0, 0, 0] = 1e5  # outlier
    encoder = RangeEncoder()
    x_hat = model.compress(encoder, x)
    decoded = decoder_model.decompress(RangeDecoder(encoder.finish()), tuple(x.shape))
    assert torch.equal(decoded, x_hat)
    assert (x_hat - x).abs().max() <= 0.5 + 1e-4
    # the trained density codes near its estimate
    with torch.no_grad():
        estimate = -torch.log2(model.likelihood(x_hat[:, :, 1:])).sum().item()
    assert model.bits(x_hat[:, :, 1:]).sum() == pytest.approx(estimate, rel=0.05)


def test_categorical_fit_and_round_trip():
    gen = torch.Generator().manual_seed(4)
    probs = torch.softmax(torch.randn(2, 64, generator=gen) * 2, dim=1)
    indices = torch.stack([torch.multinomial(p, 3000, replacement=True, generator=gen) for p in probs]).unsqueeze(0)
    model = CategoricalModel(2, 64)
    model.fit(indices)
    model.update()
    decoder_model = reload(model, CategoricalModel(2, 64))
    encoder = RangeEncoder()
    model.compress(encoder, indices)
    data = encoder.finish()
    assert torch.equal(decoder_model.decompress(RangeDecoder(data), tuple(indices.shape)), indices)
    entropy = -(probs * torch.log2(probs)).sum().item() * 3000
    assert 8 * len(data) < 1.05 * entropy
    with pytest.raises(ValueError):
        model.compress(RangeEncoder(), indices + 64)


def test_coding_without_update_is_an_error():
    with pytest.raises(RuntimeError, match="update"):
        GaussianConditional().compress(RangeEncoder(), torch.zeros(3), torch.ones(3), torch.zeros(3))


def test_nan_latents_rejected():
    model = GaussianConditional()
    model.update()
    with pytest.raises(ValueError, match="NaN"):
        model.compress(RangeEncoder(), torch.tensor([float("nan")]), torch.ones(1), torch.zeros(1))


def test_tables_are_identical_after_reload():
    model = FactorizedPrior(3)
    model.update()
    fresh = reload(model, FactorizedPrior(3))
    np.testing.assert_array_equal(fresh.tables.counts, model.tables.counts)
    np.testing.assert_array_equal(fresh.tables.offsets, model.tables.offsets)
