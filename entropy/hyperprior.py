"""Hyperprior part: side information ``z`` about the latent, coded with a factorized prior, and
decoded into features ``[B, hidden, T]`` that condition the latent's entropy model (Ballé 2018)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .exact import exact
from .factorized import FactorizedPrior
from .quantize import QuantizeMode, quantize
from .range_coder import RangeDecoder, RangeEncoder


class Hyperprior(nn.Module):
    """``y`` ``[B, latent, T]`` -> ``z`` ``[B, hyper, ceil(T / stride)]`` -> features ``[B, hidden, T]``."""

    def __init__(self, latent: int, hyper: int, hidden: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.hyper = hyper
        self.analysis = nn.Sequential(
            nn.Conv1d(latent, hidden, 3, padding=1), nn.GELU(),
            nn.Conv1d(hidden, hidden, 2 * stride, stride=stride, padding=stride // 2), nn.GELU(),
            nn.Conv1d(hidden, hyper, 1),
        )
        self.synthesis = nn.Sequential(
            nn.Conv1d(hyper, hidden, 3, padding=1), nn.GELU(),
            nn.ConvTranspose1d(hidden, hidden, stride, stride=stride), nn.GELU(),
            nn.Conv1d(hidden, hidden, 3, padding=1),
        )
        self.prior = FactorizedPrior(hyper)

    def _analyse(self, y: torch.Tensor) -> torch.Tensor:
        return self.analysis(F.pad(y, (0, -y.shape[-1] % self.stride)))

    def forward(self, y: torch.Tensor, mode: QuantizeMode = "ste") -> tuple[torch.Tensor, torch.Tensor]:
        """Training path: features ``[B, hidden, T]`` and the bits of ``z`` ``[B]`` (noise rate in
        training modes, rounding with ``mode="round"``)."""
        z = self._analyse(y)
        z_hat, likelihood = self.prior(z, "round" if mode == "round" else "noise")
        if mode == "ste":
            z_hat = quantize(z, "ste", self.prior.medians.view(1, -1, 1))
        bits = -torch.log2(likelihood).flatten(1).sum(1)
        return self.synthesis(z_hat)[..., : y.shape[-1]], bits

    def compress(self, encoder: RangeEncoder, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Code ``z`` of ``y``; returns the exact features ``[B, hidden, T]`` (float64, as the decoder
        gets them) and the coded ``z_hat``."""
        z_hat = self.prior.compress(encoder, self._analyse(y))
        return exact(self.synthesis)(z_hat)[..., : y.shape[-1]], z_hat

    def decompress(self, decoder: RangeDecoder, batch: int, frames: int) -> torch.Tensor:
        """The exact features ``[batch, hidden, frames]``."""
        z_hat = self.prior.decompress(decoder, (batch, self.hyper, -(-frames // self.stride)))
        return exact(self.synthesis)(z_hat)[..., :frames]
