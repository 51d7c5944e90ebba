"""The ECC-mel family: ECC's analysis side and latent codec, a decoder to 80-band log-mel, and the
shared vocoder (:mod:`ecc.vocoder`) that generates the waveform and its phase from that log-mel.

The bitstream is the ECC latent's: this family's encoder, latent codec and operating points may be
those of an ECC model (``ecc train`` with ``init_from`` an ECC model and ``freeze`` on them trains
the mel decoder alone, and the rates stay the ECC model's). Only the synthesis differs:

    latent [1, C, T'] --causal conv decoder--> log-mel [1, n_mels, T] --vocoder--> waveform [1, N]

With ``encoder_input="log_mel"`` the encoder analyses the vocoder's log-mel instead of ECC's
compressed STFT, so the latent codes the very representation the decoder predicts (trained from
scratch; its window adds 10 ms of look-ahead to the STFT's). With ``linear_path`` as well, encoder and
decoder each add a linear block transform to their conv nets, which training starts at the KLT of the
training log-mel (:meth:`ECCMelCodec.init_klt`): the model starts as classical transform coding and
learns what a linear code misses.

The vocoder is a float32 network run after the entropy decoder (``exact_synthesis = False``): the
coded symbols are exact on every machine, the audio agrees to float tolerance.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch

from entropy.ecc_latent import ECCLatentConfig

from .codec import CodecOutput, ConvSTFTCodec, analysis_parts, analysis_problems
from .registry import register
from .transforms.conv import ConvDecoder, ConvTransformConfig, LinearPathDecoder, LinearPathEncoder
from .transforms.klt import BlockPCA, init_linear_paths
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
    encoder_input: str = "stft"  # what the encoder analyses: "stft" (ECC's compressed complex STFT) or "log_mel"
    mel_shift: float = 0.0  # log-mel standardization (nats): the decoder predicts (log-mel - mel_shift) / mel_scale,
    mel_scale: float = 1.0  # and a log_mel encoder analyses the same
    linear_path: bool = False  # log_mel encoder: a linear block transform beside the encoder's and decoder's conv nets

    def __post_init__(self) -> None:
        mel = self.vocoder.mel
        inputs = {"stft": None, "log_mel": ("vocoder n_mels", mel.n_mels)}
        problems = analysis_problems(self.stft, self.transform, self.latent, self.chunk_seconds,
                                     inputs.get(self.encoder_input))
        if self.encoder_input not in inputs:
            problems.append(f"encoder_input must be one of {', '.join(inputs)}, got {self.encoder_input!r}")
        if self.linear_path and self.encoder_input != "log_mel":
            problems.append("linear_path needs encoder_input 'log_mel' (the linear path maps log-mel blocks to the latent and back)")
        if not self.mel_scale > 0:
            problems.append(f"mel_scale must be positive, got {self.mel_scale}")
        if (mel.sample_rate, mel.hop) != (self.stft.sample_rate, self.stft.hop):
            problems.append(f"vocoder log-mel ({mel.sample_rate} Hz, hop {mel.hop}) != STFT "
                            f"({self.stft.sample_rate} Hz, hop {self.stft.hop})")
        if problems:
            raise ValueError("invalid ECCMelConfig: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, d: dict) -> "ECCMelConfig":
        return cls(*analysis_parts(d), VocoderConfig.from_dict(d.get("vocoder", {})), d.get("chunk_seconds", 20.0),
                   d.get("decoder_hidden"), d.get("encoder_input", "stft"), d.get("mel_shift", 0.0),
                   d.get("mel_scale", 1.0), d.get("linear_path", False))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def sample_rate(self) -> int:
        return self.stft.sample_rate


def band_weights(ranges: tuple[float, ...], n_mels: int) -> torch.Tensor:
    """Per-band weights ``[n_mels]`` from one weight per equal range of bands, low to high,
    normalized to mean 1 (so the loss keeps its scale against lambda * kbps)."""
    if not ranges or n_mels % len(ranges) or min(ranges) <= 0:
        raise ValueError(f"band weights must be positive, one per equal range of the {n_mels} bands, got {list(ranges)}")
    weights = torch.tensor(ranges, dtype=torch.float32).repeat_interleave(n_mels // len(ranges))
    return weights / weights.mean()


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
        if config.linear_path:
            self.encoder = LinearPathEncoder(config.transform)
            self.decoder = LinearPathDecoder(shape, config.vocoder.mel.n_mels)
        else:
            self.decoder = ConvDecoder(shape, config.vocoder.mel.n_mels)
        self.vocoder = Vocoder(config.vocoder)
        self.mel_loss_weights: torch.Tensor | None = None
        """Training only: per-band weights ``[n_mels]`` of the log-mel L1 (:func:`band_weights`); None: all alike."""

    def analyse(self, wav: torch.Tensor, log_mel: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, N]`` -> latent ``[B, C, T']`` of the configured encoder input (``log_mel``: the
        vocoder's analysis of ``wav``, when the caller has it already)."""
        if self.config.encoder_input == "stft":
            return super().analyse(wav)
        log_mel = self.vocoder.analysis(wav) if log_mel is None else log_mel
        return self.encoder(self.standardize(log_mel))

    def standardize(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``[B, n_mels, T]`` -> standardized: what a log_mel encoder reads and the decoder predicts."""
        return (log_mel - self.config.mel_shift) / self.config.mel_scale

    def init_klt(self, clips: list[torch.Tensor], step: float) -> None:
        """Start the linear paths at the KLT of ``clips`` (waveforms ``[1, N]``) with quantization step
        ``step`` (standardized log-mel units), and the conv paths at zero (see
        :func:`~ecc.transforms.klt.init_linear_paths`)."""
        if not self.config.linear_path:
            raise ValueError("init_klt: this model has no linear path (ECCMelConfig.linear_path)")
        with torch.no_grad():
            mels = [self.standardize(self.vocoder.analysis(clip)) for clip in clips]
        pca = BlockPCA.fit(mels, self.config.transform.downsample, self.config.transform.latent)
        init_linear_paths(self.encoder, self.decoder, pca, step)

    @property
    def min_samples(self) -> int:
        if self.config.encoder_input == "stft":
            return super().min_samples
        return max(super().min_samples, self.config.vocoder.mel.n_fft)

    def mel(self, y_hat: torch.Tensor, frames: int) -> torch.Tensor:
        """Latent ``[B, C, T']`` -> predicted log-mel ``[B, n_mels, frames]``."""
        return self.decoder(y_hat)[..., :frames] * self.config.mel_scale + self.config.mel_shift

    def forward(self, wav: torch.Tensor, mode: str = "ste", q: torch.Tensor | float | None = None,
                synthesize: bool = True) -> CodecOutput:
        """Training path: ``losses["mel_l1"]`` is the L1 distance of the predicted log-mel to the
        vocoder's analysis of ``wav`` (its input representation), each band weighted by
        :attr:`mel_loss_weights` when set; ``wav_hat`` is the vocoder's output
        (``synthesize=False`` skips it, for a stage that trains on the log-mel alone)."""
        target = self.vocoder.analysis(wav)
        out = self.latent(self.analyse(wav, target), mode, q)
        mel_hat = self.mel(out.y_hat, target.shape[-1])
        wav_hat = self.vocoder(mel_hat, wav.shape[-1]) if synthesize else None
        error = (mel_hat - target).abs()
        if self.mel_loss_weights is not None:
            error = error * self.mel_loss_weights.to(error)[:, None]
        return CodecOutput(wav_hat, out.total_bits, out.bits, out.aux, losses={"mel_l1": error.mean()})

    def decoding_settings(self) -> dict[str, torch.Tensor]:
        return {"vocoder." + k: v for k, v in self.vocoder.synthesis_settings().items()}

    def synthesize(self, y_hat: torch.Tensor, samples: int) -> torch.Tensor:
        return self.vocoder(self.mel(y_hat, self.frames(samples)), samples)
