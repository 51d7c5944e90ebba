"""Gaussian conditional model: mean and scale given from outside (Ballé 2018, Minnen 2018)."""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import ndtr, ndtri

from .base import EntropyModel
from .quantize import QuantizeMode, quantize, residual_symbols, to_symbols
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

    def scale_indexes(self, scales: np.ndarray) -> np.ndarray:
        """Table index (int64) of each scale: the smallest table scale >= it."""
        return np.searchsorted(self.scale_table[:-1].numpy(), scales, side="left")

    def build_indexes(self, scales: torch.Tensor) -> torch.Tensor:
        """:meth:`scale_indexes` for a tensor."""
        return torch.from_numpy(self.scale_indexes(scales.detach().double().numpy()))

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

    def encode_array(
        self, encoder: RangeEncoder, y: np.ndarray, scales: np.ndarray, means: np.ndarray, skip: np.ndarray | None = None
    ) -> np.ndarray:
        """Code ``y`` given decoder-side ``scales`` and ``means`` (float64 arrays of one shape).

        ``skip`` (bool, same shape) marks symbols not coded at all; they decode to their mean.
        Returns the dequantized ``y_hat`` (float64) the decoder will reconstruct.
        """
        symbols = residual_symbols(y - means)
        if skip is not None:
            symbols[skip] = 0
            coded = ~skip
            encoder.encode(symbols[coded], self.scale_indexes(scales[coded]), self.tables)
        else:
            encoder.encode(symbols, self.scale_indexes(scales), self.tables)
        return symbols + means

    def decode_array(
        self, decoder: RangeDecoder, scales: np.ndarray, means: np.ndarray, skip: np.ndarray | None = None
    ) -> np.ndarray:
        """Decode ``y_hat`` (float64, ``means``' shape) given the encoder's ``scales``, ``means`` and ``skip``."""
        if skip is None:
            return decoder.decode(self.scale_indexes(scales), self.tables) + means
        symbols = np.zeros(means.shape, dtype=np.int64)
        coded = ~skip
        symbols[coded] = decoder.decode(self.scale_indexes(scales[coded]), self.tables)
        return symbols + means

    def compress(
        self, encoder: RangeEncoder, y: torch.Tensor, scales: torch.Tensor, means: torch.Tensor,
        skip: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Tensor version of :meth:`encode_array`; returns ``y_hat`` in ``means``' dtype."""
        y_hat = self.encode_array(encoder, *_arrays(y, scales, means), None if skip is None else skip.numpy())
        return torch.from_numpy(y_hat).to(means.dtype)

    def decompress(
        self, decoder: RangeDecoder, scales: torch.Tensor, means: torch.Tensor, skip: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Tensor version of :meth:`decode_array`."""
        y_hat = self.decode_array(decoder, *_arrays(scales, means), None if skip is None else skip.numpy())
        return torch.from_numpy(y_hat).to(means.dtype)

    def bits(self, y_hat: torch.Tensor, scales: torch.Tensor, means: torch.Tensor) -> np.ndarray:
        """Ideal code lengths in bits of quantized ``y_hat`` under the integer tables."""
        symbols = to_symbols(y_hat, means).numpy()
        return self.tables.bits(symbols, self.build_indexes(scales).numpy())


def _arrays(*tensors: torch.Tensor) -> tuple[np.ndarray, ...]:
    return tuple(t.detach().double().numpy() for t in tensors)
