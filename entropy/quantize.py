"""Quantization of continuous latents for training and coding."""
from __future__ import annotations

from typing import Literal

import numpy as np
import torch

QuantizeMode = Literal["noise", "ste", "round"]

INT32_LIMIT = float(2**31 - 1)


def quantize(x: torch.Tensor, mode: QuantizeMode, offset: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Quantize ``x`` around ``offset`` (the result lies on ``offset + integers``).

    ``noise`` adds uniform noise in [-0.5, 0.5) (the differentiable rate proxy of Ballé et al.),
    ``ste`` rounds with a straight-through gradient, ``round`` rounds without a gradient path.
    """
    if mode == "noise":
        return x + torch.empty_like(x).uniform_(-0.5, 0.5)
    rounded = torch.round(x - offset) + offset
    if mode == "ste":
        return x + (rounded - x).detach()
    if mode == "round":
        return rounded
    raise ValueError(f"unknown quantization mode {mode!r}")


def residual_symbols(residual: np.ndarray) -> np.ndarray:
    """Integer symbols ``round(residual)`` (half to even) as int64, clamped to the int32 range; NaN raises."""
    residual = np.asarray(residual, dtype=np.float64)
    if np.isnan(residual).any():
        raise ValueError("cannot code NaN latents")
    return np.clip(np.round(residual), -INT32_LIMIT, INT32_LIMIT).astype(np.int64)


def to_symbols(x: torch.Tensor, offset: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Integer symbols ``round(x - offset)`` as int64 (see :func:`residual_symbols`)."""
    return torch.from_numpy(residual_symbols((x - offset).detach().double().numpy()))
