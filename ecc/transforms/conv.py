"""Causal 1-D convolutional encoder/decoder between a spectrum ``[B, 2F, T]`` and a latent ``[B, C, T / 4]``.

Frequency is folded into channels (1-D convs run far faster than 2-D ones on CPUs). Every conv is
causal in time, so a frame's latent depends only on the audio up to that frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ConvTransformConfig:
    """Widths and depth. ``downsample``: product of the time strides (spectral frames per latent frame)."""

    in_channels: int = 322
    hidden: int = 192
    latent: int = 48
    blocks: int = 2
    strides: tuple[int, ...] = (2, 2)

    @property
    def downsample(self) -> int:
        out = 1
        for s in self.strides:
            out *= s
        return out


class CausalConv1d(nn.Conv1d):
    """``Conv1d`` padded on the left only: output frame ``t`` sees inputs ``<= t * stride``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = (self.kernel_size[0] - 1) * self.dilation[0] + 1 - self.stride[0]
        return super().forward(F.pad(x, (max(pad, 0), 0)))


class ResidualBlock(nn.Module):
    """Two causal convs (dilations 1 and 3) with a skip connection. ``[B, C, T]`` -> same."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.GELU(), CausalConv1d(channels, channels, 3, dilation=1),
            nn.GELU(), CausalConv1d(channels, channels, 3, dilation=3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ConvEncoder(nn.Module):
    """``[B, in_channels, T]`` -> ``[B, latent, ceil(T / downsample)]``."""

    def __init__(self, config: ConvTransformConfig) -> None:
        super().__init__()
        h = config.hidden
        layers: list[nn.Module] = [CausalConv1d(config.in_channels, h, 3)]
        for stride in config.strides:
            layers += [ResidualBlock(h) for _ in range(config.blocks)]
            layers += [nn.GELU(), CausalConv1d(h, h, 2 * stride, stride=stride)]
        layers += [ResidualBlock(h), nn.GELU(), nn.Conv1d(h, config.latent, 1)]
        self.net = nn.Sequential(*layers)
        self.downsample = config.downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(F.pad(x, (0, -x.shape[-1] % self.downsample)))


class CausalUpsample(nn.Module):
    """Repeat each frame ``factor`` times, then a causal conv. ``[B, C, T]`` -> ``[B, C, T * factor]``."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.conv = CausalConv1d(channels, channels, 2 * factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.repeat_interleave(x, self.factor, dim=-1))


class ConvDecoder(nn.Module):
    """``[B, latent, T']`` -> ``[B, out_channels, T' * downsample]`` (default ``out_channels``: the
    encoder's ``in_channels``, i.e. the spectrum it analysed)."""

    def __init__(self, config: ConvTransformConfig, out_channels: int | None = None) -> None:
        super().__init__()
        h = config.hidden
        layers: list[nn.Module] = [CausalConv1d(config.latent, h, 3), ResidualBlock(h)]
        for stride in reversed(config.strides):
            layers += [nn.GELU(), CausalUpsample(h, stride)]
            layers += [ResidualBlock(h) for _ in range(config.blocks)]
        layers += [nn.GELU(), CausalConv1d(h, out_channels or config.in_channels, 3)]
        self.net = nn.Sequential(*layers)

    def features(self, y: torch.Tensor) -> torch.Tensor:
        """Last hidden features ``[B, hidden, T' * downsample]`` (before the output conv)."""
        return self.net[:-1](y)

    def output(self, features: torch.Tensor) -> torch.Tensor:
        return self.net[-1](features)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(y))


class LinearPathEncoder(ConvEncoder):
    """:class:`ConvEncoder` plus a linear path in parallel: each block of ``downsample`` input frames
    mapped linearly to one latent frame (a strided conv). ``[B, in_channels, T]`` -> ``[B, latent,
    ceil(T / downsample)]``, the sum of both paths. Started from a KLT (:mod:`.klt`), the conv net
    learns what the linear code misses."""

    def __init__(self, config: ConvTransformConfig) -> None:
        super().__init__(config)
        self.linear = nn.Conv1d(config.in_channels, config.latent, config.downsample, stride=config.downsample)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, -x.shape[-1] % self.downsample))
        return self.net(x) + self.linear(x)


class LinearPathDecoder(ConvDecoder):
    """:class:`ConvDecoder` plus the linear path back: each latent frame mapped linearly to its block
    of ``downsample`` output frames (a transposed conv, stride = kernel = ``downsample``).
    ``[B, latent, T']`` -> ``[B, out_channels, T' * downsample]``, the sum of both paths."""

    def __init__(self, config: ConvTransformConfig, out_channels: int | None = None) -> None:
        super().__init__(config, out_channels)
        self.linear = nn.ConvTranspose1d(config.latent, out_channels or config.in_channels, config.downsample,
                                         stride=config.downsample)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return super().forward(y) + self.linear(y)
