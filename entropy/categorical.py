"""Categorical model for discrete indices (VQ / RVQ codes), frequencies learned from data."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .base import EntropyModel
from .errors import BitstreamError
from .range_coder import RangeDecoder, RangeEncoder
from .tables import TableSet, quantize_pmf


class CategoricalModel(EntropyModel):
    """One learned categorical distribution per codebook.

    Indices are ``[B, G, T]`` with values in ``[0, K)`` for ``G`` codebooks of ``K`` entries. The
    logits are trained by the rate loss (``-log2`` of :meth:`likelihood`) or set from counts with
    :meth:`fit`.
    """

    def __init__(self, num_codebooks: int, codebook_size: int, likelihood_bound: float = 1e-9) -> None:
        super().__init__()
        if num_codebooks < 1 or codebook_size < 1:
            raise ValueError("need at least one codebook of at least one entry")
        self.logits = nn.Parameter(torch.zeros(num_codebooks, codebook_size))
        self.likelihood_bound = likelihood_bound

    @property
    def num_codebooks(self) -> int:
        return self.logits.shape[0]

    @property
    def codebook_size(self) -> int:
        return self.logits.shape[1]

    def _check(self, indices: torch.Tensor) -> None:
        if indices.ndim != 3 or indices.shape[1] != self.num_codebooks:
            raise ValueError(f"indices must be [B, {self.num_codebooks}, T], got {list(indices.shape)}")
        if indices.numel() and (indices.min() < 0 or indices.max() >= self.codebook_size):
            raise ValueError(f"indices must lie in [0, {self.codebook_size})")

    def likelihood(self, indices: torch.Tensor) -> torch.Tensor:
        """Probability of each index ``[B, G, T]`` under its codebook's distribution."""
        self._check(indices)
        probs = torch.softmax(self.logits, dim=-1)  # [G, K]
        b, g, t = indices.shape
        picked = torch.gather(probs.unsqueeze(0).expand(b, g, -1), 2, indices.long())
        return picked.clamp_min(self.likelihood_bound)

    @torch.no_grad()
    def fit(self, indices: torch.Tensor, prior_count: float = 0.5) -> None:
        """Set the distributions to the smoothed empirical frequencies of ``indices`` ``[B, G, T]``."""
        self._check(indices)
        counts = torch.stack(
            [torch.bincount(indices[:, g].reshape(-1).long(), minlength=self.codebook_size) for g in range(self.num_codebooks)]
        )
        self.logits.copy_(torch.log(counts.float() + prior_count))

    @torch.no_grad()
    def build_tables(self) -> TableSet:
        probs = torch.softmax(self.logits.double(), dim=-1).numpy()
        tables = [quantize_pmf(p, 0.0) for p in probs]
        return TableSet.from_tables(tables, np.zeros(len(tables), dtype=np.int32))

    def _indexes(self, shape: torch.Size) -> torch.Tensor:
        return torch.arange(self.num_codebooks).view(1, -1, 1).expand(shape)

    def compress(self, encoder: RangeEncoder, indices: torch.Tensor) -> None:
        """Code ``indices`` ``[B, G, T]``."""
        self._check(indices)
        self.encode_symbols(encoder, indices.long(), self._indexes(indices.shape))

    def decompress(self, decoder: RangeDecoder, shape: tuple[int, int, int]) -> torch.Tensor:
        """Decode int64 indices of ``shape`` ``[B, G, T]``."""
        indices = self.decode_symbols(decoder, self._indexes(torch.Size(shape))).long()
        if indices.numel() and (indices.min() < 0 or indices.max() >= self.codebook_size):
            raise BitstreamError("decoded index outside the codebook: corrupt stream")
        return indices

    def bits(self, indices: torch.Tensor) -> np.ndarray:
        """Ideal code lengths in bits under the integer tables."""
        return self.tables.bits(indices.numpy(), self._indexes(indices.shape).numpy())
