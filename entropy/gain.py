"""Per-rate latent gains: one model, many rates (gain units, Cui et al., CVPR 2021).

The latent ``y`` ``[B, C, T]`` is multiplied by a learned gain vector before quantization (a finer
grid: more rate) and the quantized latent by a learned inverse gain after it. A real operating
point ``q`` in ``[0, rates - 1]`` interpolates the vectors of its two neighbouring rates
geometrically, so the rate is continuous between the trained points.

Only the encoder's analysis side and the synthesis side read the gains: the entropy model codes
the gained latent, so the gains never feed a table choice and need no exact evaluation.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class LatentGain(nn.Module):
    """``rates`` gain and inverse-gain vectors over ``channels``, stored as logs ``[rates, C]``."""

    def __init__(self, channels: int, rates: int, initial: Sequence[float] | None = None) -> None:
        super().__init__()
        if rates < 1:
            raise ValueError(f"a gain needs at least one rate, got {rates}")
        initial = [1.0] * rates if initial is None else list(initial)
        if len(initial) != rates or min(initial) <= 0:
            raise ValueError(f"need {rates} positive initial gains, got {initial}")
        logs = torch.tensor([math.log(g) for g in initial]).unsqueeze(1).repeat(1, channels)
        self.log_gain = nn.Parameter(logs.clone())
        self.log_inverse = nn.Parameter(-logs.clone())

    @property
    def rates(self) -> int:
        return self.log_gain.shape[0]

    def _interpolate(self, logs: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """Vectors ``[B, C, 1]`` at points ``q`` ``[B]`` (geometric interpolation)."""
        q = q.to(logs.dtype).clamp(0, self.rates - 1)
        low = q.floor().long().clamp(max=max(self.rates - 2, 0))
        frac = (q - low).unsqueeze(1)
        high = (low + 1).clamp(max=self.rates - 1)
        return torch.exp((1 - frac) * logs[low] + frac * logs[high]).unsqueeze(-1)

    def gain(self, q: torch.Tensor) -> torch.Tensor:
        """Gain ``[B, C, 1]`` applied to ``y`` before quantization, at points ``q`` ``[B]``."""
        return self._interpolate(self.log_gain, q)

    def inverse(self, q: torch.Tensor) -> torch.Tensor:
        """Inverse gain ``[B, C, 1]`` applied to the quantized latent, at points ``q`` ``[B]``."""
        return self._interpolate(self.log_inverse, q)
