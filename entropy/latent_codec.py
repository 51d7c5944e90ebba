"""The latent-codec interface: what sits between an analysis transform and a synthesis transform
and decides the bitrate (CompressAI's ``latent_codecs`` split).

A latent codec takes a latent ``y`` ``[B, C, T]`` and

- trains: :meth:`LatentCodec.forward` returns the quantized latent, the estimated bits of each of
  its named parts (``[B]`` each) and its auxiliary losses;
- codes: :meth:`LatentCodec.compress` writes ``y`` into a :class:`~entropy.range_coder.RangeEncoder`
  and returns exactly the ``y_hat`` that :meth:`LatentCodec.decompress` rebuilds from the bytes.

Every network whose output feeds a table choice at coding time is evaluated through
:func:`entropy.exact.exact` by both sides. A variable-rate codec takes an operating point ``q`` in
``[0, rates - 1]``; a fixed-rate codec (``rates == 0``) takes ``q=None``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .base import EntropyModel
from .exact import reset_exact
from .quantize import QuantizeMode
from .range_coder import RangeDecoder, RangeEncoder


@dataclass
class LatentOutput:
    """Training-path result: ``y_hat`` ``[B, C, T]``, estimated ``bits`` ``[B]`` per named part,
    auxiliary losses (scalars) by name."""

    y_hat: torch.Tensor
    bits: dict[str, torch.Tensor]
    aux: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def total_bits(self) -> torch.Tensor:
        """All parts' bits ``[B]``."""
        return sum(self.bits.values())


class LatentCodec(nn.Module):
    """Base of the latent codecs (see the module docstring); subclasses implement the three paths."""

    @property
    def rates(self) -> int:
        """Trained operating points (0: one fixed rate)."""
        return 0

    def forward(self, y: torch.Tensor, mode: QuantizeMode = "ste", q: torch.Tensor | float | None = None) -> LatentOutput:
        raise NotImplementedError

    def compress(self, encoder: RangeEncoder, y: torch.Tensor, q: float | None = None) -> torch.Tensor:
        """Code ``y`` ``[B, C, T]``; returns the ``y_hat`` the decoder will rebuild."""
        raise NotImplementedError

    def decompress(self, decoder: RangeDecoder, shape: tuple[int, int, int], q: float | None = None) -> torch.Tensor:
        """Rebuild ``y_hat`` of ``shape`` ``[B, C, T]`` from ``decoder``."""
        raise NotImplementedError

    def estimate_bits(self, y: torch.Tensor, q: float | None = None) -> float:
        """Ideal code length (bits) of ``y`` as :meth:`compress` codes it, without coder overhead."""
        raise NotImplementedError

    def entropy_models(self) -> list[EntropyModel]:
        return [m for m in self.modules() if isinstance(m, EntropyModel)]

    def aux_loss(self) -> torch.Tensor:
        """Sum of the entropy models' auxiliary losses (e.g. factorized-prior quantiles)."""
        losses = [m.aux_loss() for m in self.entropy_models() if hasattr(m, "aux_loss")]
        return sum(losses) if losses else torch.zeros(())

    def update(self) -> None:
        """Build every entropy model's integer tables and drop the exact evaluators (call after
        changing weights, before coding or saving)."""
        for model in self.entropy_models():
            model.update()
        reset_exact(self)
