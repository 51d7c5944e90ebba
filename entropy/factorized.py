"""Factorized prior: a learned per-channel density for hyper-latents (Ballé et al., 2018)."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import EntropyModel
from .quantize import QuantizeMode, quantize, to_symbols
from .range_coder import RangeDecoder, RangeEncoder
from .tables import TableSet, quantize_pmf


class FactorizedPrior(EntropyModel):
    """Per-channel non-parametric density, modelled by its cumulative (Ballé et al. 2018, App. 6.1).

    Inputs are ``[B, C, T]``. Likelihoods are of ``x`` quantized with unit bins. Three learned
    quantiles per channel (the ``tail_mass / 2`` tails and the median) set the coding support and
    are fitted by :meth:`aux_loss`.
    """

    def __init__(
        self,
        channels: int,
        filters: tuple[int, ...] = (3, 3, 3),
        init_scale: float = 10.0,
        tail_mass: float = 1e-9,
        likelihood_bound: float = 1e-9,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.tail_mass = tail_mass
        self.likelihood_bound = likelihood_bound
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(dims) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(dims) - 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        self.quantiles = nn.Parameter(torch.tensor([-init_scale, 0.0, init_scale]).repeat(channels, 1, 1))
        target = math.log(2 / tail_mass - 1)
        self.register_buffer("_quantile_targets", torch.tensor([-target, 0.0, target]))

    def _logits_cumulative(self, x: torch.Tensor, stop_gradient: bool = False) -> torch.Tensor:
        """Logit of the cumulative density at ``x`` ``[C, 1, N]`` -> ``[C, 1, N]``."""
        logits = x
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            if stop_gradient:
                matrix, bias = matrix.detach(), bias.detach()
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.factors):
                factor = self.factors[i].detach() if stop_gradient else self.factors[i]
                logits = logits + torch.tanh(factor) * torch.tanh(logits)
        return logits

    @property
    def medians(self) -> torch.Tensor:
        """``[C]`` learned medians, around which symbols are quantized."""
        return self.quantiles[:, 0, 1].detach()

    def aux_loss(self) -> torch.Tensor:
        """Loss that moves the quantiles to the ``tail_mass / 2`` tails and the median."""
        logits = self._logits_cumulative(self.quantiles, stop_gradient=True)
        return (logits - self._quantile_targets.view(1, 1, 3)).abs().sum()

    def likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Probability of the unit bin around each value of ``x`` ``[B, C, T]``."""
        b, c, t = x.shape
        values = x.permute(1, 0, 2).reshape(c, 1, b * t)
        lower = self._logits_cumulative(values - 0.5)
        upper = self._logits_cumulative(values + 0.5)
        sign = -torch.sign(lower + upper).detach()
        probs = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        probs = probs.reshape(c, b, t).permute(1, 0, 2)
        return probs.clamp_min(self.likelihood_bound)

    def forward(self, x: torch.Tensor, mode: QuantizeMode = "noise") -> tuple[torch.Tensor, torch.Tensor]:
        """Quantize ``x`` ``[B, C, T]``; returns ``(x_hat, likelihoods)`` of the same shape."""
        x_hat = quantize(x, mode, self.medians.view(1, -1, 1))
        return x_hat, self.likelihood(x_hat)

    @torch.no_grad()
    def build_tables(self) -> TableSet:
        medians = self.medians
        low = torch.ceil(medians - self.quantiles[:, 0, 0]).clamp_min(0).long()
        high = torch.ceil(self.quantiles[:, 0, 2] - medians).clamp_min(0).long()
        length = int((low + high + 1).max())
        values = torch.arange(length, dtype=torch.float32).view(1, 1, -1) + (medians - low).view(-1, 1, 1)
        lower = self._logits_cumulative(values - 0.5)
        upper = self._logits_cumulative(values + 0.5)
        sign = -torch.sign(lower + upper)
        pmf = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()[:, 0].double().numpy()
        tail = (torch.sigmoid(lower[:, 0, 0]) + torch.sigmoid(-upper[:, 0, -1])).double().numpy()
        sizes = (low + high + 1).numpy()
        tables = [quantize_pmf(pmf[c, : sizes[c]], tail[c]) for c in range(self.channels)]
        return TableSet.from_tables(tables, -low.numpy())

    def _indexes(self, shape: torch.Size) -> torch.Tensor:
        return torch.arange(self.channels).view(1, -1, 1).expand(shape)

    def compress(self, encoder: RangeEncoder, x: torch.Tensor) -> torch.Tensor:
        """Code ``x`` ``[B, C, T]``; returns the dequantized ``x_hat`` the decoder will see."""
        medians = self.medians.view(1, -1, 1)
        symbols = to_symbols(x, medians)
        self.encode_symbols(encoder, symbols, self._indexes(x.shape))
        return symbols.to(x.dtype) + medians

    def decompress(self, decoder: RangeDecoder, shape: tuple[int, int, int]) -> torch.Tensor:
        """Decode ``x_hat`` of ``shape`` ``[B, C, T]``."""
        symbols = self.decode_symbols(decoder, self._indexes(torch.Size(shape)))
        return symbols.float() + self.medians.view(1, -1, 1)

    def bits(self, x_hat: torch.Tensor) -> np.ndarray:
        """Ideal code lengths in bits of quantized ``x_hat`` under the integer tables."""
        symbols = to_symbols(x_hat, self.medians.view(1, -1, 1)).numpy()
        return self.tables.bits(symbols, self._indexes(x_hat.shape).numpy())
