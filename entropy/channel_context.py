"""Channel-wise context part (Minnen & Singh 2020): the latent's channels are cut into slices;
each slice's Gaussian mean and scale are predicted from the hyper features, the temporal context
and the slices decoded before it, and latent residual prediction (LRP) then corrects the
quantization error of each decoded slice from the same context."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pointwise_mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    """Three 1x1 convs with GELUs: ``[B, inputs, T]`` -> ``[B, outputs, T]``."""
    return nn.Sequential(
        nn.Conv1d(inputs, hidden, 1), nn.GELU(), nn.Conv1d(hidden, hidden, 1), nn.GELU(), nn.Conv1d(hidden, outputs, 1)
    )


class SliceParameters(nn.Module):
    """Context ``[B, D, T]`` -> Gaussian ``(mean, scale)``, each ``[B, width, T]`` (scale > 0)."""

    def __init__(self, context: int, hidden: int, width: int) -> None:
        super().__init__()
        self.net = pointwise_mlp(context, hidden, 2 * width)

    def forward(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, raw = self.net(context).chunk(2, dim=1)
        return mean, F.softplus(raw) + 1e-3


class ResidualPredictor(nn.Module):
    """LRP: context and the decoded slice ``[B, D, T]`` -> correction in ``(-0.5, 0.5)`` ``[B, width, T]``."""

    def __init__(self, context: int, hidden: int, width: int) -> None:
        super().__init__()
        self.net = pointwise_mlp(context, hidden, width)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.tanh(self.net(context))


class ChannelSlices(nn.Module):
    """``slices`` slices of ``latent // slices`` channels; ``context`` channels of outside context
    (hyper features + temporal context) reach every slice, ``hyper`` of them (the hyper features)
    reach LRP. ``slices=1``: no channel context; ``lrp=False``: no residual prediction."""

    def __init__(self, latent: int, slices: int, hidden: int, context: int, hyper: int, lrp: bool) -> None:
        super().__init__()
        if latent % slices:
            raise ValueError(f"latent channels ({latent}) must split into {slices} equal slices")
        self.width = w = latent // slices
        self.params = nn.ModuleList(SliceParameters(context + i * w, hidden, w) for i in range(slices))
        self.lrp = nn.ModuleList(ResidualPredictor(hyper + (i + 1) * w, hidden, w) for i in range(slices)) if lrp else None

    def __len__(self) -> int:
        return len(self.params)
