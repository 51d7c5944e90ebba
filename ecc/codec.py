"""The ECC family: STFT + causal conv transform around the ECC latent codec (scalar quantization,
hyperprior, channel slices + LRP, temporal context, entropy skip, per-rate gains).

:class:`ConvSTFTCodec` is the analysis side (compressed STFT -> causal conv encoder -> ECC latent
codec) that the ECC family shares with the vocoder family :mod:`ecc.mel_codec`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from entropy.ecc_latent import ECCLatentCodec, ECCLatentConfig, upgrade_state_names

from .neural_codec import NeuralCodec, load_codec, state_hash
from .registry import register
from .transforms.conv import ConvDecoder, ConvEncoder, ConvTransformConfig
from .transforms.source import HarmonicHead, HarmonicSourceConfig, PitchClasses, harmonic_source, yin_pitch
from .transforms.stft import CompressedSTFT, STFTConfig


def analysis_problems(stft: STFTConfig, transform: ConvTransformConfig, latent: ECCLatentConfig,
                      chunk_seconds: float, encoder_input: tuple[str, int] | None = None) -> list[str]:
    """What is inconsistent in the shared analysis side's configuration (empty when nothing).
    ``encoder_input``: (name, channels) of what the encoder analyses; default the compressed STFT."""
    problems = []
    if transform.latent != latent.latent:
        problems.append(f"transform.latent ({transform.latent}) != latent.latent ({latent.latent})")
    name, channels = encoder_input or ("2 x STFT bins", 2 * stft.bins)
    if transform.in_channels != channels:
        problems.append(f"transform.in_channels ({transform.in_channels}) != {name} ({channels})")
    if latent.latent % latent.slices:
        problems.append(f"latent.latent ({latent.latent}) is not divisible into {latent.slices} slices")
    if chunk_seconds <= 0:
        problems.append(f"chunk_seconds must be positive, got {chunk_seconds}")
    return problems


def analysis_parts(d: dict) -> tuple[STFTConfig, ConvTransformConfig, ECCLatentConfig]:
    """The shared analysis side's configs from a config dict (``stft``, ``transform``, ``latent``)."""
    transform = dict(d.get("transform", {}))
    if "strides" in transform:
        transform["strides"] = tuple(transform["strides"])
    return STFTConfig(**d.get("stft", {})), ConvTransformConfig(**transform), ECCLatentConfig(**d.get("latent", {}))


@dataclass(frozen=True)
class ECCConfig:
    """Everything that defines an ECC model's architecture."""

    stft: STFTConfig = field(default_factory=STFTConfig)
    transform: ConvTransformConfig = field(default_factory=ConvTransformConfig)
    latent: ECCLatentConfig = field(default_factory=ECCLatentConfig)
    source: HarmonicSourceConfig = field(default_factory=HarmonicSourceConfig)
    chunk_seconds: float = 20.0  # coding works on independent chunks of this length (bounded memory)

    def __post_init__(self) -> None:
        problems = analysis_problems(self.stft, self.transform, self.latent, self.chunk_seconds)
        if problems:
            raise ValueError("invalid ECCConfig: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, d: dict) -> "ECCConfig":
        return cls(*analysis_parts(d), HarmonicSourceConfig(**d.get("source", {})), d.get("chunk_seconds", 20.0))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def sample_rate(self) -> int:
        return self.stft.sample_rate


@dataclass
class CodecOutput:
    """Training-path output: ``wav_hat`` ``[B, N]`` (None when not synthesized), estimated ``bits``
    ``[B]`` (and per latent part), the latent codec's auxiliary losses, the family's own
    reconstruction ``losses`` in its intermediate representation (e.g. log-mel L1); with a harmonic
    source, the decoder's pitch logits ``[B, classes + 1, T]`` and the input's YIN pitch ``[B, T]`` (Hz)."""

    wav_hat: torch.Tensor | None
    bits: torch.Tensor
    part_bits: dict[str, torch.Tensor]
    aux: dict[str, torch.Tensor]
    pitch_logits: torch.Tensor | None = None
    pitch: torch.Tensor | None = None
    losses: dict[str, torch.Tensor] = field(default_factory=dict)


class ConvSTFTCodec(NeuralCodec):
    """The shared analysis side: waveform ``[B, N]`` -> compressed STFT ``[B, 2F, T]`` (T = N // hop + 1)
    -> causal conv encoder -> latent ``[B, C, ceil(T / downsample)]`` -> ECC latent codec. A family
    built on it adds the decoder (:meth:`synthesize`). Its config has ``stft``, ``transform``,
    ``latent`` and ``chunk_seconds``."""

    def __init__(self, config, name: str) -> None:
        super().__init__(config, name)
        self.stft = CompressedSTFT(config.stft)
        self.encoder = ConvEncoder(config.transform)
        self.latent = ECCLatentCodec(config.latent)

    def frames(self, samples: int) -> int:
        """Spectral frames (hop-spaced, centered) of ``samples`` samples."""
        return samples // self.config.stft.hop + 1

    def analyse(self, wav: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.stft.analysis(wav))

    def latent_shape(self, samples: int) -> tuple[int, int]:
        return self.config.latent.latent, math.ceil(self.frames(samples) / self.config.transform.downsample)

    @property
    def min_samples(self) -> int:
        return self.config.stft.n_fft

    @property
    def frame_samples(self) -> int:
        return self.config.stft.hop * self.config.transform.downsample


@register
class ECCCodec(ConvSTFTCodec):
    """Waveform ``[B, N]`` at ``config.stft.sample_rate`` -> latent -> bits -> waveform."""

    family = "ecc"
    family_id = 1
    config_class = ECCConfig

    def __init__(self, config: ECCConfig = ECCConfig(), name: str = "ecc") -> None:
        super().__init__(config, name)
        self.decoder = ConvDecoder(config.transform)
        self.harmonic = (HarmonicHead(config.transform.hidden, config.stft.bins, config.source)
                         if config.source.enabled else None)
        self.pitch_classes = PitchClasses(config.source)

    def forward(self, wav: torch.Tensor, mode: str = "ste", q: torch.Tensor | float | None = None,
                synthesize: bool = True) -> CodecOutput:
        """``q``: operating point(s) of a variable-rate model (``[B]`` or one number). In training mode
        the harmonic source follows the input's YIN pitch (teacher forcing); in eval mode, the
        decoder's own pitch, as in coding. The waveform is this family's only reconstruction, so
        ``synthesize=False`` is refused."""
        if not synthesize:
            raise ValueError("the ecc family reconstructs the waveform only: it cannot train without synthesis")
        spec = self.stft.analysis(wav)
        out = self.latent(self.encoder(spec), mode, q)
        pitch = None
        if self.harmonic is not None:
            pitch = yin_pitch(wav, self.config.stft.hop, self.sample_rate, self.config.source)
        wav_hat, logits = self._decode(out.y_hat, spec.shape[-1], wav.shape[-1], pitch if self.training else None)
        return CodecOutput(wav_hat, out.total_bits, out.bits, out.aux, logits, pitch)

    def _decode(self, y_hat: torch.Tensor, frames: int, length: int,
                pitch: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Latent ``[B, C, T']`` -> waveform ``[B, length]`` (and pitch logits with a harmonic source).

        The spectrum is the decoder's own complex output plus, with a harmonic source, per-bin gains
        times the spectrum of a harmonic pulse train at ``pitch`` (Hz ``[B, frames]``; default: the
        pitch the decoder predicts)."""
        features = self.decoder.features(y_hat)[..., :frames]
        spec = self.stft.decompress(self.decoder.output(features))
        if self.harmonic is None:
            return self.stft.istft(spec, length), None
        gains, logits = self.harmonic(features)
        if pitch is None:
            pitch, voicing = self.pitch_classes.decode(logits)
        else:
            voicing = (pitch > 0).to(spec.real.dtype)
        source = harmonic_source(pitch, voicing, self.config.stft.hop, self.sample_rate, length)
        return self.stft.istft(spec + gains * self.stft.stft(source), length), logits

    # -- the family's part of coding (see NeuralCodec) --------------------------------------------
    def synthesize(self, y_hat: torch.Tensor, samples: int) -> torch.Tensor:
        return self._decode(y_hat, self.frames(samples), samples)[0]

    # -- model files -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, name: str | None = None) -> "ECCCodec":
        """An ECC model file (safetensors, or a legacy ``.pt``); ``ValueError`` naming the file if it
        is not one."""
        model = load_codec(path, name)
        if not isinstance(model, cls):
            raise ValueError(f"{path}: holds a {model.family} model, not {cls.family}")
        return model

    @classmethod
    def load_legacy(cls, path: str | Path, name: str | None = None) -> "ECCCodec":
        """A ``.pt`` file of the earlier format (``{config, name, state}``). Only tensors and plain
        values are unpickled (``weights_only``): a file that would run code, or is not a model file,
        is a ``ValueError`` naming it. Its weights hash is that of the stored names, so the files it
        wrote still decode."""
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            config = ECCConfig.from_dict(ckpt["config"])
            state = ckpt["state"]
        except FileNotFoundError:
            raise
        except Exception as exc:  # unpickling refused, not a checkpoint, malformed config
            raise ValueError(f"{path}: not a loadable ECC model file ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
        model = cls.from_state(config, upgrade_state_names(state, "latent."), name or ckpt.get("name", "ecc"))
        model.__dict__["_weights_hash"] = state_hash(state)
        return model
