"""A harmonic comb for decoders that predict log-mel (the ecc-mel family): the log-mel counterpart of
:mod:`ecc.transforms.source`'s harmonic source.

A conv decoder trained on L1 log-mel at 1 kbps blurs the harmonics of voiced frames (it keeps about
half of their ripple across the low bands). The comb head predicts, from the decoded log-mel and the
latent, the pitch of each frame (classes over log-spaced pitches, trained on the input's YIN pitch) and
a gain, and adds the comb of that pitch to the decoded log-mel:

    log-mel = decoded + voicing * gain * band_scale * comb(pitch)

``comb(f0)`` is the log-mel analysis of a harmonic pulse train at ``f0`` (plus noise 30 dB down), less
its mean over pitches and bands, tabulated on a fine log-pitch grid and interpolated linearly, so the
gradient reaches the pitch. Nothing extra is sent: the pitch comes from the decoded latent.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..mel import LogMel
from .conv import CausalConv1d
from .source import HarmonicSourceConfig, PitchClasses, harmonic_source

COMB_PITCHES = 512
"""Points of the comb table, log-spaced over the pitch classes' range."""


@torch.no_grad()
def comb_templates(analysis: LogMel, config: HarmonicSourceConfig, points: int = COMB_PITCHES) -> torch.Tensor:
    """``[points, n_mels]``: the log-mel (nats) of a unit-power pulse train at ``points`` log-spaced
    pitches over ``config.f0_min..f0_max`` with white noise 30 dB down, averaged over 0.5 s, less the
    mean over pitches and then over bands. Deterministic (seeded noise)."""
    mel = analysis.config
    generator = torch.Generator().manual_seed(0)
    f0s = torch.exp(torch.linspace(math.log(config.f0_min), math.log(config.f0_max), points))
    samples = mel.sample_rate // 2
    frames = mel.frames(samples)
    rows = []
    for chunk in f0s.split(64):
        f0 = chunk.view(-1, 1).expand(-1, frames).contiguous()
        wav = harmonic_source(f0, torch.ones_like(f0), mel.hop, mel.sample_rate, samples)
        wav = wav + 0.03 * torch.randn(wav.shape, generator=generator)
        rows.append(analysis(wav)[..., 10:-10].mean(-1))  # edge frames see the reflection padding
    table = torch.cat(rows)
    table = table - table.mean(0, keepdim=True)
    return table - table.mean(1, keepdim=True)


class MelCombHead(nn.Module):
    """Decoded log-mel ``[B, n_mels, T]`` (standardized) and latent ``[B, C, T']`` -> the comb to add
    ``[B, n_mels, T]`` (standardized units: the learned gain absorbs the table's nats) and pitch logits
    ``[B, classes + 1, T]``. Causal: frame
    ``t`` sees decoded frames ``<= t`` and the latent blocks that cover them. Given ``pitch`` (Hz
    ``[B, T]``, 0 = unvoiced; in training, the input's YIN pitch), the comb follows it instead of the
    head's (teacher forcing, as ECC's harmonic source does: with the head's own pitch, still untrained
    at the start, the comb only adds noise and its gain collapses to zero)."""

    def __init__(self, n_mels: int, latent: int, downsample: int, config: HarmonicSourceConfig,
                 analysis: LogMel, hidden: int = 128) -> None:
        super().__init__()
        self.downsample = downsample
        self.pitch_classes = PitchClasses(config)
        self.net = nn.Sequential(CausalConv1d(n_mels + latent, hidden, 3), nn.GELU(), CausalConv1d(hidden, hidden, 3),
                                 nn.GELU(), nn.Conv1d(hidden, config.logits + 1, 1))
        with torch.no_grad():
            self.net[-1].bias[-1] = -2.0  # the gain starts at softplus(-2) = 0.13
        self.band_scale = nn.Parameter(torch.ones(1, n_mels, 1))
        self.register_buffer("templates", comb_templates(analysis, config), persistent=False)

    def forward(self, decoded: torch.Tensor, y_hat: torch.Tensor,
                pitch: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        frames = decoded.shape[-1]
        latent = y_hat.repeat_interleave(self.downsample, -1)[..., :frames]
        out = self.net(torch.cat([decoded, latent], 1))
        logits, gain = out[:, :-1], F.softplus(out[:, -1:])
        if pitch is None:
            f0, voicing = self.pitch_classes.decode(logits)
        else:
            f0, voicing = pitch.clamp_min(1.0), (pitch > 0).to(decoded.dtype)
        c = self.pitch_classes.config
        points = self.templates.shape[0]
        position = ((torch.log(f0) - math.log(c.f0_min)) / math.log(c.f0_max / c.f0_min) * (points - 1)).clamp(0, points - 1)
        below = position.detach().floor().long().clamp(max=points - 2)
        frac = (position - below).unsqueeze(1)
        comb = (self.templates[below].transpose(1, 2) * (1 - frac)
                + self.templates[below + 1].transpose(1, 2) * frac)  # [B, n_mels, T]
        return comb * voicing.unsqueeze(1) * gain * self.band_scale, logits
