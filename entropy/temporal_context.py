"""Temporal context part: features of frame ``t`` from the decoded frames ``t-K .. t-1``."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TemporalContext(nn.Module):
    """A causal conv over the last ``frames`` decoded latent frames: ``[B, C, T]`` -> ``[B, width, T]``."""

    def __init__(self, latent: int, width: int, frames: int) -> None:
        super().__init__()
        self.frames = frames
        self.conv = nn.Conv1d(latent, width, frames)

    @property
    def width(self) -> int:
        return self.conv.out_channels

    def forward(self, y_past: torch.Tensor) -> torch.Tensor:
        """Context of every frame of ``y_past`` ``[B, C, T]`` (zeros before the first) -> ``[B, width, T]``."""
        return self.conv(F.pad(y_past, (self.frames, 0)))[..., : y_past.shape[-1]]

    def step(self, window: torch.Tensor) -> torch.Tensor:
        """Context ``[B, width]`` of the frame that follows ``window`` ``[B, C, frames]`` (coding path)."""
        return self.conv(window)[..., 0]
