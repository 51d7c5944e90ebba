"""Gaussian conditional model: mean and scale given from outside (Ballé 2018, Minnen 2018)."""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import ndtr, ndtri

from .base import EntropyModel
from .quantize import QuantizeMode, quantize, to_symbols
from .range_coder import RangeDecoder, RangeEncoder
from .tables import TableSet, quantize_pmf


def log_scale_table(minimum: float = 0.11, maximum: float = 256.0, levels: int = 128) -> torch.Tensor:
    """``[levels]`` log-spaced scales from ``minimum`` to ``maximum``."""
    return torch.exp(torch.linspace(math.log(minimum), math.log(maximum), levels, dtype=torch.float64))


class GaussianConditional(EntropyModel):
    """Symbols ``round(y - mean)`` coded under a discretized Gaussian of the given scale.

    Scales are bounded below by the smallest table scale; each symbol is coded with the smallest
    table scale >= its scale. Likelihoods are bounded below by ``likelihood_bound``.
    """

    def __init__(
        self,
        scale_table: torch.Tensor | None = None,
        tail_mass: float = 1e-9,
        likelihood_bound: float = 1e-9,
    ) -> None:
        super().__init__()
        table = log_scale_table() if scale_table is None else scale_table.double()
        if table.ndim != 1 or table.numel() < 1 or (table[1:] <= table[:-1]).any() or table[0] <= 0:
            raise ValueError("scale_table must be a 1-D, strictly increasing table of positive scales")
        self.register_buffer("scale_table", table)
        self.tail_mass = tail_mass
        self.likelihood_bound = likelihood_bound

    @property
    def scale_bound(self) -> float:
        """The smallest scale the model represents; smaller scales are raised to it."""
        return float(self.scale_table[0])

    def likelihood(self, y_hat: torch.Tensor, scales: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
        """Probability of the unit bin around ``y_hat`` under ``N(means, scales)``; any shape."""
        values = (y_hat - means).abs()
        scales = scales.clamp_min(self.scale_bound)
        upper = 0.5 * torch.erfc(-(0.5 - values) / (scales * math.sqrt(2)))
        lower = 0.5 * torch.erfc(-(-0.5 - values) / (scales * math.sqrt(2)))
        return (upper - lower).clamp_min(self.likelihood_bound)

    def forward(
        self, y: torch.Tensor, scales: torch.Tensor, means: torch.Tensor, mode: QuantizeMode = "noise"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantize ``y`` around ``means``; returns ``(y_hat, likelihoods)``, both ``y``'s shape."""
        y_hat = quantize(y, mode, means)
        return y_hat, self.likelihood(y_hat, scales, means)

    def build_indexes(self, scales: torch.Tensor) -> torch.Tensor:
        """Table index (int64) of each scale: the smallest table scale >= it."""
        return torch.bucketize(scales.double(), self.scale_table[:-1], right=False)

    @torch.no_grad()
    def build_tables(self) -> TableSet:
        multiplier = -float(ndtri(self.tail_mass / 2))
        tables, offsets = [], []
        for scale in self.scale_table.numpy():
            half = int(math.ceil(scale * multiplier))
            values = np.arange(-half, half + 1, dtype=np.float64)
            pmf = ndtr((values + 0.5) / scale) - ndtr((values - 0.5) / scale)
            tables.append(quantize_pmf(pmf, 2 * ndtr((-half - 0.5) / scale)))
            offsets.append(-half)
        return TableSet.from_tables(tables, np.array(offsets))

    def compress(
        self, encoder: RangeEncoder, y: torch.Tensor, scales: torch.Tensor, means: torch.Tensor,
        skip: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Code ``y`` given decoder-side ``scales`` and ``means`` (same shape).

        ``skip`` (bool, same shape) marks symbols not coded at all; they decode to their mean.
        Returns the dequantized ``y_hat`` the decoder will reconstruct.
        """
        symbols = to_symbols(y, means)
        if skip is not None:
            symbols = symbols.masked_fill(skip, 0)
        coded = slice(None) if skip is None else ~skip
        self.encode_symbols(encoder, symbols[coded], self.build_indexes(scales)[coded])
        return symbols.to(means.dtype) + means

    def decompress(
        self, decoder: RangeDecoder, scales: torch.Tensor, means: torch.Tensor, skip: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decode ``y_hat`` (``means``' shape) given the same ``scales``, ``means`` and ``skip`` as the encoder."""
        symbols = torch.zeros(means.shape, dtype=torch.int64)
        coded = torch.ones_like(symbols, dtype=torch.bool) if skip is None else ~skip
        symbols[coded] = self.decode_symbols(decoder, self.build_indexes(scales)[coded]).long()
        return symbols.to(means.dtype) + means

    def bits(self, y_hat: torch.Tensor, scales: torch.Tensor, means: torch.Tensor) -> np.ndarray:
        """Ideal code lengths in bits of quantized ``y_hat`` under the integer tables."""
        symbols = to_symbols(y_hat, means).numpy()
        return self.tables.bits(symbols, self.build_indexes(scales).numpy())
