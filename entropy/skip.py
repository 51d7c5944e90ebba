"""Entropy skip part: symbols whose decoder-side scale is below a threshold are not coded at all
(they decode to their predicted mean); encoder and decoder derive the same mask from the same
exact scales, so no mask is sent."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class EntropySkip:
    """Skip symbols whose predicted scale is below ``threshold``."""

    threshold: float

    def mask(self, scale: torch.Tensor) -> torch.Tensor:
        """Boolean mask (``True``: not coded) of ``scale``'s shape."""
        return scale < self.threshold
