"""Multi-resolution spectral discriminator and the adversarial losses of GAN fine-tuning.

At 1-6 kbps the decoder has to *generate* phase and fine structure; magnitude losses alone make it
over-smooth. Each sub-discriminator sees the power-law compressed *complex* STFT (so phase is
visible) at one resolution, with frequency folded into channels (1-D convs, fast on CPUs, see
``ecc/transforms/conv.py``). Losses are least-squares GAN plus feature matching, as in HiFi-GAN.
:class:`Adversary` runs the discriminator update and the generator's losses for any set of
discriminators (codec fine-tuning and the vocoder's training alike).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from .distributed import Context, average_gradients
from .transforms.stft import CompressedSTFT, STFTConfig


@dataclass(frozen=True)
class AdversarialConfig:
    """GAN fine-tuning: loss weights (added to the reconstruction loss), the discriminator's learning
    rate and its shape (one sub-discriminator per FFT size, hop = FFT size / 4)."""

    weight: float = 0.25  # generator's least-squares adversarial loss
    feature_weight: float = 1.0  # feature matching (normalized L1 between discriminator activations)
    lr: float = 2e-4
    fft_sizes: tuple[int, ...] = (256, 512, 1024)
    hidden: int = 128
    layers: int = 4

    @classmethod
    def from_dict(cls, d: dict) -> "AdversarialConfig":
        d = dict(d)
        if "fft_sizes" in d:
            d["fft_sizes"] = tuple(d["fft_sizes"])
        return cls(**d)


class SpectralDiscriminator(nn.Module):
    """Waveform ``[B, N]`` -> per-frame logits ``[B, T]`` and the hidden activations ``[B, hidden, T]``
    of each layer, from the compressed complex STFT at one resolution."""

    def __init__(self, n_fft: int, hidden: int, layers: int, sample_rate: int) -> None:
        super().__init__()
        self.stft = CompressedSTFT(STFTConfig(sample_rate, n_fft, n_fft // 4, 0.3))
        channels = [2 * (n_fft // 2 + 1)] + [hidden] * layers
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv1d(c_in, c_out, 3, padding=2**i, dilation=2**i))
            for i, (c_in, c_out) in enumerate(zip(channels, channels[1:]))
        )
        self.out = weight_norm(nn.Conv1d(hidden, 1, 3, padding=1))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.stft.analysis(wav)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
            features.append(x)
        return self.out(x).squeeze(1), features


class MultiResolutionDiscriminator(nn.Module):
    """One :class:`SpectralDiscriminator` per FFT size; returns a list of their outputs."""

    def __init__(self, config: AdversarialConfig, sample_rate: int) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            SpectralDiscriminator(n, config.hidden, config.layers, sample_rate) for n in config.fft_sizes
        )

    def forward(self, wav: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return [d(wav) for d in self.discriminators]


Outputs = list[tuple[torch.Tensor, list[torch.Tensor]]]


def discriminator_loss(real: Outputs, fake: Outputs) -> torch.Tensor:
    """Least squares: real logits pushed to 1, fake to 0; mean over sub-discriminators."""
    return sum(((1 - r) ** 2).mean() + (f**2).mean() for (r, _), (f, _) in zip(real, fake)) / len(real)


def generator_loss(fake: Outputs) -> torch.Tensor:
    """Least squares: the decoder's output pushed to be judged real (1)."""
    return sum(((1 - f) ** 2).mean() for f, _ in fake) / len(fake)


def feature_matching_loss(real: Outputs, fake: Outputs) -> torch.Tensor:
    """Mean over layers of ``|f_fake - f_real|_1 / |f_real|_1`` (real activations detached)."""
    terms = [
        (f - r.detach()).abs().mean() / r.detach().abs().mean().clamp_min(1e-8)
        for (_, real_features), (_, fake_features) in zip(real, fake)
        for r, f in zip(real_features, fake_features)
    ]
    return sum(terms) / len(terms)


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's period discriminator, scaled down: the waveform ``[B, N]`` is cut into ``period``
    interleaved phases, folded into the batch, and judged by strided 1-D convs (the same maths as
    HiFi-GAN's (k, 1) 2-D kernels, faster on CPUs). Logits ``[B, T]`` and activations per layer."""

    def __init__(self, period: int, channels: tuple[int, ...] = (16, 64, 256, 512)) -> None:
        super().__init__()
        self.period = period
        widths = (1,) + channels
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv1d(c_in, c_out, 5, stride=3, padding=2)) for c_in, c_out in zip(widths, widths[1:])
        )
        self.convs.append(weight_norm(nn.Conv1d(channels[-1], channels[-1], 5, padding=2)))
        self.out = weight_norm(nn.Conv1d(channels[-1], 1, 3, padding=1))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        batch, n = wav.shape
        pad = (-n) % self.period
        if pad:
            wav = F.pad(wav.unsqueeze(1), (0, pad), mode="reflect").squeeze(1)
        x = wav.view(batch, -1, self.period).transpose(1, 2).reshape(batch * self.period, 1, -1)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            features.append(x)
        return self.out(x).reshape(batch, -1), features


class MultiPeriodDiscriminator(nn.Module):
    """One :class:`PeriodDiscriminator` per period (primes, so the phases seen do not repeat)."""

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11), channels: tuple[int, ...] = (16, 64, 256, 512)) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, channels) for p in periods)

    def forward(self, wav: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return [d(wav) for d in self.discriminators]


class Adversary:
    """Discriminators and their optimizer for GAN fine-tuning: a fresh multi-resolution spectral one
    (:meth:`spectral`), or the shared vocoder run's multi-period and multi-resolution ones with their
    trained weights and optimizer state (:meth:`from_vocoder_run`, for a joint fine-tune through the
    vocoder)."""

    def __init__(self, discriminators: list[torch.nn.Module], optimizer: torch.optim.Optimizer) -> None:
        self.discriminators = torch.nn.ModuleList(discriminators)
        self.optimizer = optimizer

    @classmethod
    def spectral(cls, config: AdversarialConfig, sample_rate: int) -> "Adversary":
        discriminator = MultiResolutionDiscriminator(config, sample_rate)
        return cls([discriminator], torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=(0.8, 0.99)))

    @classmethod
    def from_vocoder_run(cls, checkpoint: str | Path) -> "Adversary":
        """The discriminators of a vocoder training checkpoint (``runs/vocoder/last.pt``)."""
        from .vocoder_train import VocoderGAN, VocoderTrainConfig

        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        gan = VocoderGAN(VocoderTrainConfig.from_dict(json.loads(state["config"])), torch.device("cpu"))
        gan.load_state_dict(state["state"])
        return cls([gan.mpd, gan.mrd], gan.d_optimizer)

    def _outputs(self, wav: torch.Tensor) -> list:
        return [d(wav) for d in self.discriminators]

    def step(self, wav: torch.Tensor, wav_hat: torch.Tensor, losses: dict[str, torch.Tensor],
             context: Context = Context()) -> None:
        """One discriminator update on real ``wav`` vs decoded ``wav_hat`` ``[B, N]``, then the generator's
        losses against the updated discriminators into ``losses``: ``adv``, ``fm`` (and ``disc``, logged),
        each summed over the discriminators."""
        real, fake = self._outputs(wav), self._outputs(wav_hat.detach())
        losses["disc"] = sum(discriminator_loss(r, f) for r, f in zip(real, fake))
        self.optimizer.zero_grad(set_to_none=True)
        losses["disc"].backward()
        average_gradients(self.discriminators.parameters(), context)
        self.optimizer.step()
        self.discriminators.requires_grad_(False)  # the generator's losses reach the decoder only
        with torch.no_grad():
            real = self._outputs(wav)
        fake = self._outputs(wav_hat)
        self.discriminators.requires_grad_(True)
        losses["adv"] = sum(generator_loss(f) for f in fake)
        losses["fm"] = sum(feature_matching_loss(r, f) for r, f in zip(real, fake))

    def state_dict(self) -> dict:
        return {"models": [d.state_dict() for d in self.discriminators], "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        models = state["models"] if "models" in state else [state["model"]]  # "model": runs of one discriminator
        for discriminator, weights in zip(self.discriminators, models, strict=True):
            discriminator.load_state_dict(weights)
        self.optimizer.load_state_dict(state["optimizer"])
