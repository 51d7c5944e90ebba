"""Integer probability tables shared by every entropy model.

A *table set* is a list of integer probability mass functions (pmfs) at a fixed precision.
Table ``i`` covers the integer values ``offsets[i] .. offsets[i] + lengths[i] - 2``; its last
bin is the *escape* bin, used for any value outside that support (the value itself is then
coded separately, see :mod:`entropy.range_coder`). Tables are built once by an entropy model's
``update()`` and stored in its state dict, so an encoder and a decoder that load the same
checkpoint use bit-identical tables on any machine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PMF_PRECISION = 16
"""Bits of precision of the integer pmfs: every table sums to ``2**PMF_PRECISION``."""


def quantize_pmf(pmf: np.ndarray, tail_mass: float, precision: int = PMF_PRECISION) -> np.ndarray:
    """Turn a float pmf over the support plus its tail mass into integer counts.

    Args:
        pmf: ``[K]`` non-negative probabilities of the in-support values.
        tail_mass: probability of all out-of-support values (the escape bin).
        precision: counts sum to ``2**precision``.

    Returns:
        ``[K + 1]`` int32 counts, each >= 1 (the last is the escape bin), summing to
        ``2**precision``.
    """
    probs = np.append(np.asarray(pmf, dtype=np.float64), max(float(tail_mass), 0.0))
    probs = np.where(np.isfinite(probs) & (probs > 0), probs, 0.0)
    total = 1 << precision
    if probs.size > total // 2:
        raise ValueError(f"table of {probs.size} bins does not fit {precision}-bit precision")
    norm = probs.sum()
    if norm <= 0:
        probs = np.ones_like(probs)
        norm = probs.size
    # every bin gets one count; the rest is shared in proportion to the probabilities
    spare = total - probs.size
    counts = 1 + np.floor(probs / norm * spare).astype(np.int64)
    counts[np.argmax(probs)] += total - counts.sum()
    return counts.astype(np.int32)


@dataclass(frozen=True)
class TableSet:
    """A set of integer pmfs, padded into one array.

    Attributes:
        counts: ``[N, L]`` int32, row ``i`` holds table ``i`` in its first ``lengths[i]`` entries
            (the last of those is the escape bin); the padding is zero.
        lengths: ``[N]`` int32 number of bins of each table, escape bin included (>= 2).
        offsets: ``[N]`` int32 value coded by the first bin of each table.
    """

    counts: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_tables(cls, tables: list[np.ndarray], offsets: np.ndarray) -> "TableSet":
        """Pad a list of count arrays (as returned by :func:`quantize_pmf`)."""
        lengths = np.array([len(t) for t in tables], dtype=np.int32)
        counts = np.zeros((len(tables), int(lengths.max(initial=2))), dtype=np.int32)
        for row, table in zip(counts, tables):
            row[: len(table)] = table
        return cls(counts, lengths, np.asarray(offsets, dtype=np.int32))

    def __len__(self) -> int:
        return len(self.lengths)

    def probabilities(self, index: int) -> np.ndarray:
        """``[lengths[index]]`` float64 probabilities of table ``index`` (exact binary fractions)."""
        return self.counts[index, : self.lengths[index]] / float(1 << PMF_PRECISION)

    def bits(self, values: np.ndarray, indexes: np.ndarray) -> np.ndarray:
        """Ideal code length in bits of each value under its table (escape bin for outliers,
        excluding the escape payload itself)."""
        values = np.asarray(values, dtype=np.int64)
        indexes = np.asarray(indexes, dtype=np.int64)
        bins = values - self.offsets[indexes]
        escape = self.lengths[indexes] - 1
        bins = np.where((bins < 0) | (bins >= escape), escape, bins)
        return PMF_PRECISION - np.log2(self.counts[indexes, bins])
