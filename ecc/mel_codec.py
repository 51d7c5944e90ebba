"""The ECC-mel family: ECC's analysis side and latent codec, a decoder to 80-band log-mel, and the
shared vocoder (:mod:`ecc.vocoder`) that generates the waveform and its phase from that log-mel.

The bitstream is the ECC latent's: this family's encoder, latent codec and operating points may be
those of an ECC model (``ecc train`` with ``init_from`` an ECC model and ``freeze`` on them trains
the mel decoder alone, and the rates stay the ECC model's). Only the synthesis differs:

    latent [1, C, T'] --causal conv decoder--> log-mel [1, n_mels, T] --vocoder--> waveform [1, N]

The vocoder is a float32 network run after the entropy decoder (``exact_synthesis = False``): the
coded symbols are exact on every machine, the audio agrees to float tolerance.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F

from entropy.ecc_latent import ECCLatentConfig

from .codec import CodecOutput, ConvSTFTCodec, analysis_parts, analysis_problems
from .registry import register
from .transforms.conv import ConvDecoder, ConvTransformConfig
from .transforms.stft import STFTConfig
from .vocoder import Vocoder, VocoderConfig


@dataclass(frozen=True)
class ECCMelConfig:
    """ECC's analysis side (``stft``, ``transform``, ``latent``) and the vocoder it decodes through;
    the STFT and the vocoder's log-mel share sample rate and hop, so mel frames are STFT frames."""

    stft: STFTConfig = field(default_factory=STFTConfig)
    transform: ConvTransformConfig = field(default_factory=ConvTransformConfig)
    latent: ECCLatentConfig = field(default_factory=ECCLatentConfig)
    vocoder: VocoderConfig = field(default_factory=VocoderConfig)
    chunk_seconds: float = 20.0
    decoder_hidden: int | None = None  # the log-mel decoder's width; None: the transform's (ECC's decoder's)

    def __post_init__(self) -> None:
        problems = analysis_problems(self.stft, self.transform, self.latent, self.chunk_seconds)
        mel = self.vocoder.mel
        if (mel.sample_rate, mel.hop) != (self.stft.sample_rate, self.stft.hop):
            problems.append(f"vocoder log-mel ({mel.sample_rate} Hz, hop {mel.hop}) != STFT "
                            f"({self.stft.sample_rate} Hz, hop {self.stft.hop})")
        if problems:
            raise ValueError("invalid ECCMelConfig: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, d: dict) -> "ECCMelConfig":
        return cls(*analysis_parts(d), VocoderConfig.from_dict(d.get("vocoder", {})), d.get("chunk_seconds", 20.0),
                   d.get("decoder_hidden"))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def sample_rate(self) -> int:
        return self.stft.sample_rate


@register
class ECCMelCodec(ConvSTFTCodec):
    """Waveform ``[B, N]`` -> ECC latent -> bits -> log-mel ``[B, n_mels, N // hop + 1]`` -> vocoder -> waveform."""

    family = "ecc-mel"
    family_id = 2
    config_class = ECCMelConfig
    exact_synthesis = False

    def __init__(self, config: ECCMelConfig = ECCMelConfig(), name: str = "ecc-mel") -> None:
        super().__init__(config, name)
        shape = replace(config.transform, hidden=config.decoder_hidden or config.transform.hidden)
        self.decoder = ConvDecoder(shape, config.vocoder.mel.n_mels)
        self.vocoder = Vocoder(config.vocoder)

    def mel(self, y_hat: torch.Tensor, frames: int) -> torch.Tensor:
        """Latent ``[B, C, T']`` -> predicted log-mel ``[B, n_mels, frames]``."""
        return self.decoder(y_hat)[..., :frames]

    def forward(self, wav: torch.Tensor, mode: str = "ste", q: torch.Tensor | float | None = None,
                synthesize: bool = True) -> CodecOutput:
        """Training path: ``losses["mel_l1"]`` is the L1 distance of the predicted log-mel to the
        vocoder's analysis of ``wav`` (its input representation); ``wav_hat`` is the vocoder's output
        (``synthesize=False`` skips it, for a stage that trains on the log-mel alone)."""
        out = self.latent(self.analyse(wav), mode, q)
        target = self.vocoder.analysis(wav)
        mel_hat = self.mel(out.y_hat, target.shape[-1])
        wav_hat = self.vocoder(mel_hat, wav.shape[-1]) if synthesize else None
        return CodecOutput(wav_hat, out.total_bits, out.bits, out.aux, losses={"mel_l1": F.l1_loss(mel_hat, target)})

    def synthesize(self, y_hat: torch.Tensor, samples: int) -> torch.Tensor:
        return self.vocoder(self.mel(y_hat, self.frames(samples)), samples)
