"""STFT analysis/synthesis with power-law compressed magnitude (phase kept)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class STFTConfig:
    """Window and hop in samples at ``sample_rate``; ``power`` compresses the magnitude (|X|**power)."""

    sample_rate: int = 16000
    n_fft: int = 320
    hop: int = 160
    power: float = 0.3

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1


class CompressedSTFT(nn.Module):
    """Waveform ``[B, N]`` <-> compressed complex spectrum folded into channels ``[B, 2F, T]``.

    ``T = N // hop + 1`` frames (centered STFT); channels hold the real parts of the ``F`` bins,
    then the imaginary parts, of ``|X|**power * exp(j angle(X))``.
    """

    def __init__(self, config: STFTConfig = STFTConfig()) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` -> complex spectrum ``[B, F, T]``."""
        c = self.config
        return torch.stft(wav, c.n_fft, c.hop, window=self.window, return_complex=True)

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Complex spectrum ``[B, F, T]`` -> ``[B, length]``."""
        c = self.config
        return torch.istft(spec, c.n_fft, c.hop, window=self.window, length=length)

    def compress(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex ``[B, F, T]`` -> compressed, folded ``[B, 2F, T]``."""
        spec = spec * (spec.abs().clamp_min(1e-8) ** (self.config.power - 1))
        return torch.cat([spec.real, spec.imag], dim=1)

    def decompress(self, features: torch.Tensor) -> torch.Tensor:
        """Compressed, folded ``[B, 2F, T]`` -> complex ``[B, F, T]``."""
        spec = torch.complex(*features.chunk(2, dim=1))
        return spec * (spec.abs().clamp_min(1e-8) ** (1 / self.config.power - 1))

    def analysis(self, wav: torch.Tensor) -> torch.Tensor:
        return self.compress(self.stft(wav))

    def synthesis(self, features: torch.Tensor, length: int) -> torch.Tensor:
        return self.istft(self.decompress(features), length)
