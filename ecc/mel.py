"""Mel filterbank and the log-mel spectrogram: the vocoder's input representation and a loss domain."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn


@functools.lru_cache(maxsize=8)
def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int) -> torch.Tensor:
    """``[n_mels, n_fft // 2 + 1]`` triangular HTK-mel filters from 0 Hz to ``sample_rate / 2``."""
    def hz_to_mel(f):
        return 2595.0 * torch.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(torch.linspace(hz_to_mel(torch.tensor(0.0)), hz_to_mel(torch.tensor(sample_rate / 2)), n_mels + 2))
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs - lower) / (center - lower)
    down = (upper - freqs) / (upper - center)
    return torch.clamp(torch.minimum(up, down), min=0.0)


@dataclass(frozen=True)
class MelConfig:
    """Log-mel analysis: ``n_fft``-sample Hann window, ``hop`` samples (frames per second =
    ``sample_rate / hop``), ``n_mels`` bands over 0..``sample_rate / 2``, natural log of the magnitude
    with ``floor`` added."""

    sample_rate: int = 16000
    n_fft: int = 640
    hop: int = 160
    n_mels: int = 80
    floor: float = 1e-5

    def frames(self, samples: int) -> int:
        """Frames of a centered analysis of ``samples`` samples."""
        return samples // self.hop + 1


class LogMel(nn.Module):
    """Waveform ``[B, N]`` -> log-mel magnitude ``[B, n_mels, N // hop + 1]`` (centered frames)."""

    def __init__(self, config: MelConfig = MelConfig()) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)
        self.register_buffer("filters", mel_filterbank(config.n_fft, config.n_mels, config.sample_rate).clone(),
                             persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        c = self.config
        spec = torch.stft(wav, c.n_fft, c.hop, window=self.window, return_complex=True).abs()
        return torch.log(self.filters @ spec + c.floor)
