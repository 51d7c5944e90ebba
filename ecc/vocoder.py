"""The shared vocoder: 80-band log-mel at 100 frames/s -> waveform, phase generated (Vocos-style) or
reconstructed from the generated magnitude (PGHI + Griffin-Lim, :mod:`ecc.phase`).

Why log-mel: every codec family can predict it (it carries no phase, so no family has to code or
model phase), it is the representation the vocoder literature trains on, and at 80 x 100 values a
second it is small enough to regress from any latent. The generator is a ConvNeXt stack over mel
frames and an iSTFT head that predicts log-magnitude and phase per frame (Siuzdak, Vocos, 2023), so
all of it runs at the frame rate: cheap on a CPU. It is non-causal: each ConvNeXt block looks
``kernel // 2`` frames ahead (``lookahead_ms``).

Weights are stored as safetensors (no code runs on load) with the config in the file's metadata.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .mel import LogMel, MelConfig
from .phase import PhaseReconstructionConfig, reconstruct
from .weights import load_weights, save_weights

FAMILY = "vocoder"
PHASE_SOURCES = ("generated", "reconstructed")
LOG_MAGNITUDE_MAX = 8.0
"""The head's log-magnitude is clipped here before synthesis (an overflow guard; speech stays far below)."""


@dataclass(frozen=True)
class VocoderConfig:
    """Generator shape: ``layers`` ConvNeXt blocks of width ``dim`` (MLP width ``intermediate``, depthwise
    ``kernel`` frames) and an iSTFT head of ``n_fft`` samples at the mel hop. ``phase``: the waveform's
    phase is the head's (``"generated"``) or reconstructed from the head's magnitude by PGHI and
    ``griffin_lim_iterations`` of fast Griffin-Lim (``"reconstructed"``, :mod:`ecc.phase`)."""

    mel: MelConfig = MelConfig()
    dim: int = 256
    intermediate: int = 768
    layers: int = 8
    kernel: int = 7
    n_fft: int = 640
    phase: str = "generated"
    griffin_lim_iterations: int = 8  # 8: encode + decode >= 20x real time on one thread; 16: about +0.04 PESQ-WB

    def __post_init__(self) -> None:
        if isinstance(self.mel, dict):
            object.__setattr__(self, "mel", MelConfig(**self.mel))
        for name in ("dim", "intermediate", "layers", "n_fft"):
            if getattr(self, name) <= 0:
                raise ValueError(f"VocoderConfig.{name} must be positive, got {getattr(self, name)}")
        if self.kernel % 2 == 0:
            raise ValueError(f"VocoderConfig.kernel must be odd, got {self.kernel}")
        if self.phase not in PHASE_SOURCES:
            raise ValueError(f"VocoderConfig.phase must be one of {', '.join(PHASE_SOURCES)}, got {self.phase!r}")
        if self.griffin_lim_iterations < 0:
            raise ValueError(f"VocoderConfig.griffin_lim_iterations must be >= 0, got {self.griffin_lim_iterations}")
        if self.n_fft < self.mel.hop:
            raise ValueError(f"VocoderConfig.n_fft ({self.n_fft}) must be at least the hop ({self.mel.hop})")

    @property
    def lookahead_ms(self) -> float:
        """Algorithmic look-ahead of the generator (ConvNeXt receptive field to the right + half a window)."""
        frames = self.layers * (self.kernel // 2)
        return 1000 * (frames * self.mel.hop + self.n_fft // 2) / self.mel.sample_rate

    def same_network(self, other: "VocoderConfig") -> bool:
        """Whether ``other`` describes the same weights (it may synthesize with another phase source)."""
        return replace(self, phase=other.phase, griffin_lim_iterations=other.griffin_lim_iterations) == other

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VocoderConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown VocoderConfig field(s): {', '.join(sorted(unknown))}")
        return cls(**d)


class ConvNeXtBlock(nn.Module):
    """``[B, D, T]`` -> ``[B, D, T]``: depthwise conv, LayerNorm, MLP, layer scale, residual."""

    def __init__(self, dim: int, intermediate: int, kernel: int, layer_scale: float) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.expand = nn.Linear(dim, intermediate)
        self.project = nn.Linear(intermediate, dim)
        self.scale = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.depthwise(x).transpose(1, 2)
        h = self.project(F.gelu(self.expand(self.norm(h))))
        return x + (self.scale * h).transpose(1, 2)


class Vocoder(nn.Module):
    """Log-mel ``[B, n_mels, T]`` -> waveform ``[B, N]``; :meth:`copy_synthesis` runs wav -> mel -> wav."""

    def __init__(self, config: VocoderConfig = VocoderConfig()) -> None:
        super().__init__()
        self.config = config
        self.analysis = LogMel(config.mel)
        self.embed = nn.Conv1d(config.mel.n_mels, config.dim, config.kernel, padding=config.kernel // 2)
        self.norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.blocks = nn.ModuleList(ConvNeXtBlock(config.dim, config.intermediate, config.kernel, 1 / config.layers)
                                    for _ in range(config.layers))
        self.final_norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.head = nn.Linear(config.dim, config.n_fft + 2)  # log-magnitude and phase of n_fft // 2 + 1 bins
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    @property
    def sample_rate(self) -> int:
        return self.config.mel.sample_rate

    def spectrum(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, n_mels, T]`` -> the head's log-magnitude and phase (radians, unwrapped), each
        ``[B, n_fft // 2 + 1, T]``, on the grid of a centered STFT (Hann, ``n_fft``, the mel hop)."""
        c = self.config
        if mel.dim() != 3 or mel.shape[1] != c.mel.n_mels:
            raise ValueError(f"vocoder input must be [B, {c.mel.n_mels}, T] log-mel, got {list(mel.shape)}")
        x = self.norm(self.embed(mel).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        log_mag, phase = self.head(self.final_norm(x.transpose(1, 2))).transpose(1, 2).chunk(2, dim=1)
        return log_mag, phase

    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` -> complex ``[B, n_fft // 2 + 1, T]``: the STFT on the grid :meth:`spectrum` predicts."""
        return torch.stft(wav, self.config.n_fft, self.config.mel.hop, window=self.window, return_complex=True)

    def waveform(self, log_mag: torch.Tensor, phase: torch.Tensor, length: int) -> torch.Tensor:
        """The iSTFT of :meth:`spectrum`'s output: ``[B, length]``."""
        spec = torch.exp(log_mag.clamp(max=LOG_MAGNITUDE_MAX)) * torch.exp(1j * phase)  # [B, F, T]
        return torch.istft(spec, self.config.n_fft, self.config.mel.hop, window=self.window, length=length)

    def forward(self, mel: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """``[B, n_mels, T]`` -> ``[B, length]`` (default ``(T - 1) * hop`` samples), with the phase
        ``config.phase`` names."""
        c = self.config
        length = (mel.shape[-1] - 1) * c.mel.hop if length is None else length
        log_mag, phase = self.spectrum(mel)
        if c.phase == "reconstructed":
            return reconstruct(log_mag.clamp(max=LOG_MAGNITUDE_MAX), c.n_fft, c.mel.hop, length,
                               PhaseReconstructionConfig(iterations=c.griffin_lim_iterations))
        return self.waveform(log_mag, phase, length)

    def synthesis_settings(self) -> dict[str, torch.Tensor]:
        """What a model's hash must cover besides the weights: the Griffin-Lim iterations when the
        phase is reconstructed, nothing for the generated phase (so earlier hashes stand)."""
        if self.config.phase == "generated":
            return {}
        return {"phase_reconstruction_iterations": torch.tensor([self.config.griffin_lim_iterations])}

    def with_phase(self, phase: str, griffin_lim_iterations: int | None = None) -> "Vocoder":
        """This vocoder (same weights) with another phase source."""
        config = replace(self.config, phase=phase, griffin_lim_iterations=(
            self.config.griffin_lim_iterations if griffin_lim_iterations is None else griffin_lim_iterations))
        vocoder = type(self)(config).to(self.window.device)
        vocoder.load_state_dict(self.state_dict())
        return vocoder.train(self.training)

    def copy_synthesis(self, wav: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` -> ``[B, N]``: analysis to log-mel, then synthesis (the vocoder's own ceiling)."""
        return self(self.analysis(wav), wav.shape[-1])

    def save(self, path: str | Path, record: dict | None = None, half: bool = False) -> None:
        """Write safetensors weights with ``family``, ``config`` (and ``record``) in the metadata;
        ``half``: float weights as float16."""
        metadata = {"family": FAMILY, "config": self.config.to_dict(), **({"record": record} if record else {})}
        save_weights(path, self.state_dict(), metadata, half=half)

    @classmethod
    def load(cls, path: str | Path) -> "Vocoder":
        """Read a file written by :meth:`save`; ``ValueError`` naming the file if it is not one."""
        return cls.read(path)[0]

    @classmethod
    def read(cls, path: str | Path) -> tuple["Vocoder", dict]:
        """:meth:`load`, and the record saved with the weights (empty when there is none)."""
        state, metadata = load_weights(path)
        if metadata.get("family") != FAMILY:
            raise ValueError(f"{path}: holds family {metadata.get('family')!r}, not {FAMILY!r}")
        model = cls(VocoderConfig.from_dict(metadata["config"]))
        model.load_state_dict(state)
        return model.eval(), metadata.get("record", {})
