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

    def analysis(self, wav: torch.Tensor) -> torch.Tensor:
        c = self.config
        spec = torch.stft(wav, c.n_fft, c.hop, window=self.window, return_complex=True)
        mag = spec.abs().clamp_min(1e-8)
        spec = spec * (mag ** (c.power - 1))
        return torch.cat([spec.real, spec.imag], dim=1)

    def synthesis(self, features: torch.Tensor, length: int) -> torch.Tensor:
        c = self.config
        real, imag = features.chunk(2, dim=1)
        spec = torch.complex(real, imag)
        mag = spec.abs().clamp_min(1e-8)
        spec = spec * (mag ** (1 / c.power - 1))
        return torch.istft(spec, c.n_fft, c.hop, window=self.window, length=length)
