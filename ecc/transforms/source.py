"""Harmonic excitation for the decoder: pitch targets (YIN), pitch classes, and a band-limited
harmonic source whose phase is continuous by construction.

The decoder cannot receive phase at 1-6 kbps, and a conv decoder trained on magnitude losses makes
the spectral envelope but not coherent harmonics. So, as in neural source-filter vocoders, it predicts
the pitch of each spectral frame (a class over log-spaced pitches, trained on YIN estimates of the
input) and per-bin gains for the spectrum of a harmonic pulse train at that pitch. The pitch comes from
the decoded latent; nothing extra is sent. Frames are the STFT's: ``T = N // hop + 1`` centered frames.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .conv import CausalConv1d


@dataclass(frozen=True)
class HarmonicSourceConfig:
    """Pitch range (Hz) covered by ``classes`` log-spaced pitch classes (plus one 'unvoiced' class)."""

    enabled: bool = False
    f0_min: float = 60.0
    f0_max: float = 420.0
    classes: int = 64
    yin_threshold: float = 0.15

    @property
    def logits(self) -> int:
        """Pitch-head outputs per frame: the pitch classes, then 'unvoiced'."""
        return self.classes + 1


class PitchClasses:
    """Maps pitch in Hz ``[B, T]`` (0 = unvoiced) to soft class targets and logits back to Hz."""

    def __init__(self, config: HarmonicSourceConfig, blur: float = 1.0) -> None:
        self.config = config
        self.log_centers = torch.linspace(math.log(config.f0_min), math.log(config.f0_max), config.classes)
        self.blur = blur

    def targets(self, f0: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` Hz -> ``[B, classes + 1, T]`` probabilities, Gaussian-blurred over pitch classes."""
        step = self.log_centers[1] - self.log_centers[0]
        distance = (torch.log(f0.clamp_min(1.0)).unsqueeze(1) - self.log_centers.view(1, -1, 1)) / step
        voiced = (f0 > 0).unsqueeze(1)
        pitch = torch.softmax(-0.5 * (distance / self.blur) ** 2, dim=1) * voiced
        return torch.cat([pitch, (~voiced).float()], dim=1)

    def decode(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, classes + 1, T]`` -> (pitch Hz ``[B, T]``, voicing probability ``[B, T]``).

        Pitch is the probability-weighted log pitch over the 5 classes around the most likely one,
        so it varies smoothly with the logits except where two distant classes tie.
        """
        probs = torch.softmax(logits, dim=1)
        pitch, voicing = probs[:, :-1], 1.0 - probs[:, -1]
        best = pitch.argmax(dim=1, keepdim=True)
        offsets = torch.arange(-2, 3).view(1, -1, 1)
        idx = (best + offsets).clamp(0, self.config.classes - 1)
        weights = pitch.gather(1, idx)
        log_f0 = (weights * self.log_centers[idx]).sum(1) / weights.sum(1).clamp_min(1e-12)
        return torch.exp(log_f0), voicing


@torch.no_grad()
def yin_pitch(wav: torch.Tensor, hop: int, sample_rate: int, config: HarmonicSourceConfig) -> torch.Tensor:
    """YIN pitch of each centered frame: ``[B, N]`` -> Hz ``[B, N // hop + 1]`` (0 where unvoiced or silent)."""
    min_lag = int(sample_rate / config.f0_max)
    max_lag = int(math.ceil(sample_rate / config.f0_min))
    window = 2 * hop  # integration window
    length = window + max_lag + 1
    padded = F.pad(wav.unsqueeze(1), (length // 2, length - length // 2), mode="reflect").squeeze(1)
    frames = padded.unfold(-1, length, hop)[:, : wav.shape[-1] // hop + 1]  # [B, T, length]
    n_fft = 1 << (2 * length - 1).bit_length()
    spectrum = torch.fft.rfft(frames, n_fft)
    head = torch.fft.rfft(frames[..., :window], n_fft)
    corr = torch.fft.irfft(spectrum * head.conj(), n_fft)[..., : max_lag + 1]  # sum_j x_j x_{j+lag}, j < window
    energy = frames.square().cumsum(-1)
    e0 = energy[..., window - 1 : window]
    lagged = energy[..., window - 1 : window + max_lag] - F.pad(energy, (1, 0))[..., : max_lag + 1]
    diff = (e0 + lagged - 2 * corr).clamp_min(0.0)  # d(lag), lag = 0..max_lag
    lags = torch.arange(max_lag + 1, dtype=wav.dtype)
    cmnd = diff[..., 1:] * lags[1:] / diff[..., 1:].cumsum(-1).clamp_min(1e-12)
    cmnd = F.pad(cmnd, (1, 0), value=1.0)
    cmnd[..., :min_lag] = 1.0
    below = cmnd < config.yin_threshold
    started = below.long().cumsum(-1) > 0  # at or after the first lag below the threshold
    first_dip = started & ~((started & ~below).long().cumsum(-1) > 0)  # ... and before it rises again
    lag = torch.where(first_dip, cmnd, torch.full_like(cmnd, 2.0)).argmin(-1)
    rms = (e0.squeeze(-1) / window).sqrt()
    voiced = below.any(-1) & (rms > 1e-3)
    return torch.where(voiced, sample_rate / lag.clamp_min(1).to(wav.dtype), torch.zeros_like(rms))


def harmonic_source(f0: torch.Tensor, voicing: torch.Tensor, hop: int, sample_rate: int, length: int) -> torch.Tensor:
    """Band-limited pulse train with all harmonics of ``f0`` below Nyquist, unit mean power where voiced.

    ``f0``, ``voicing``: ``[B, T]`` per centered frame (Hz; 0-1) -> waveform ``[B, length]``. The phase
    is the running integral of the (linearly interpolated) pitch, so harmonics stay coherent across frames.
    """
    frames = f0.shape[-1]
    positions = torch.arange(length, dtype=f0.dtype) / hop
    left = positions.floor().long().clamp(max=frames - 1)
    right = (left + 1).clamp(max=frames - 1)
    frac = (positions - left).clamp(0.0, 1.0)
    f0_s = f0[:, left] * (1 - frac) + f0[:, right] * frac
    gain = voicing[:, left] * (1 - frac) + voicing[:, right] * frac
    f0_s = f0_s.clamp_min(1.0)
    phase = torch.remainder(torch.cumsum(2 * math.pi * f0_s / sample_rate, dim=-1), 2 * math.pi)
    harmonics = torch.floor(sample_rate / 2 / f0_s).clamp_min(1.0)
    half = 0.5 * phase
    sin_half = torch.sin(half)
    safe = sin_half.abs() > 1e-4
    dirichlet = torch.where(safe, torch.sin((harmonics + 0.5) * phase) / (2 * torch.where(safe, sin_half, 1.0)) - 0.5,
                            harmonics)
    return gain * dirichlet * torch.sqrt(2.0 / harmonics)


class HarmonicHead(nn.Module):
    """Decoder features ``[B, hidden, T]`` -> per-bin harmonic gains ``[B, bins, T]`` (>= 0) and
    pitch logits ``[B, classes + 1, T]``; one causal conv over the decoder's last features."""

    def __init__(self, hidden: int, bins: int, config: HarmonicSourceConfig) -> None:
        super().__init__()
        self.bins = bins
        self.conv = CausalConv1d(hidden, bins + config.logits, 3)
        nn.init.zeros_(self.conv.weight)
        with torch.no_grad():
            self.conv.bias.zero_()
            self.conv.bias[:bins] = -7.0  # start with a quiet harmonic path

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.conv(features)
        return F.softplus(out[:, : self.bins]), out[:, self.bins :]
