"""The ECC codec: STFT + causal conv transform around the ECC latent codec, with real bitstreams."""
from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from entropy.bitstream import Bitstream, weights_hash
from entropy.errors import BitstreamError
from entropy.latent_codec import ECCLatentCodec, ECCLatentConfig, single_thread
from entropy.range_coder import RangeDecoder, RangeEncoder

from .transforms.conv import ConvDecoder, ConvEncoder, ConvTransformConfig
from .transforms.source import HarmonicHead, HarmonicSourceConfig, PitchClasses, harmonic_source, yin_pitch
from .transforms.stft import CompressedSTFT, STFTConfig


@dataclass(frozen=True)
class ECCConfig:
    """Everything that defines an ECC model's architecture."""

    stft: STFTConfig = field(default_factory=STFTConfig)
    transform: ConvTransformConfig = field(default_factory=ConvTransformConfig)
    latent: ECCLatentConfig = field(default_factory=ECCLatentConfig)
    source: HarmonicSourceConfig = field(default_factory=HarmonicSourceConfig)
    chunk_seconds: float = 20.0  # coding works on independent chunks of this length (bounded memory)

    def __post_init__(self) -> None:
        problems = []
        if self.transform.latent != self.latent.latent:
            problems.append(f"transform.latent ({self.transform.latent}) != latent.latent ({self.latent.latent})")
        if self.transform.in_channels != 2 * self.stft.bins:
            problems.append(f"transform.in_channels ({self.transform.in_channels}) != 2 x STFT bins ({2 * self.stft.bins})")
        if self.latent.latent % self.latent.slices:
            problems.append(f"latent.latent ({self.latent.latent}) is not divisible into {self.latent.slices} slices")
        if self.chunk_seconds <= 0:
            problems.append(f"chunk_seconds must be positive, got {self.chunk_seconds}")
        if problems:
            raise ValueError("invalid ECCConfig: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, d: dict) -> "ECCConfig":
        transform = dict(d.get("transform", {}))
        if "strides" in transform:
            transform["strides"] = tuple(transform["strides"])
        return cls(
            STFTConfig(**d.get("stft", {})), ConvTransformConfig(**transform),
            ECCLatentConfig(**d.get("latent", {})), HarmonicSourceConfig(**d.get("source", {})),
            d.get("chunk_seconds", 20.0),
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def samples_per_latent_frame(self) -> int:
        return self.stft.hop * self.transform.downsample

    @property
    def latent_frame_rate(self) -> float:
        return self.stft.sample_rate / self.samples_per_latent_frame


@dataclass
class CodecOutput:
    """Training-path output: ``wav_hat`` ``[B, N]``, estimated ``bits`` ``[B]``; with a harmonic
    source, the decoder's pitch logits ``[B, classes + 1, T]`` and the input's YIN pitch ``[B, T]`` (Hz)."""

    wav_hat: torch.Tensor
    bits: torch.Tensor
    y_bits: torch.Tensor
    z_bits: torch.Tensor
    pitch_logits: torch.Tensor | None = None
    pitch: torch.Tensor | None = None


class ECCCodec(nn.Module):
    """Waveform ``[B, N]`` at ``config.stft.sample_rate`` -> latent -> bits -> waveform."""

    def __init__(self, config: ECCConfig = ECCConfig(), name: str = "ecc") -> None:
        super().__init__()
        self.config = config
        self.name = name
        self.stft = CompressedSTFT(config.stft)
        self.encoder = ConvEncoder(config.transform)
        self.decoder = ConvDecoder(config.transform)
        self.latent = ECCLatentCodec(config.latent)
        self.harmonic = (HarmonicHead(config.transform.hidden, config.stft.bins, config.source)
                         if config.source.enabled else None)
        self.pitch_classes = PitchClasses(config.source)

    @property
    def sample_rate(self) -> int:
        return self.config.stft.sample_rate

    def forward(self, wav: torch.Tensor, mode: str = "ste") -> CodecOutput:
        """In training mode the harmonic source follows the input's YIN pitch (teacher forcing);
        in eval mode, the decoder's own pitch, as in coding."""
        spec = self.stft.analysis(wav)
        out = self.latent(self.encoder(spec), mode)
        pitch = None
        if self.harmonic is not None:
            pitch = yin_pitch(wav, self.config.stft.hop, self.sample_rate, self.config.source)
        wav_hat, logits = self._decode(out.y_hat, spec.shape[-1], wav.shape[-1], pitch if self.training else None)
        return CodecOutput(wav_hat, out.bits, out.y_bits, out.z_bits, logits, pitch)

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

    def aux_loss(self) -> torch.Tensor:
        return self.latent.aux_loss()

    def update(self) -> None:
        """Build the coding tables; call after changing weights (it also drops cached derived state)."""
        self.latent.update()
        self.__dict__.pop("_float64_twin", None)
        self.__dict__.pop("_weights_hash", None)

    # -- identity --------------------------------------------------------------------------------
    def weights_hash(self) -> bytes:
        """Short hash of the weights and coding tables, written into and checked against files."""
        cached = self.__dict__.get("_weights_hash")
        if cached is None:
            digest = hashlib.sha256()
            for key, value in sorted(self.state_dict().items()):
                digest.update(key.encode())
                digest.update(value.detach().cpu().contiguous().numpy().tobytes())
            cached = self.__dict__["_weights_hash"] = weights_hash(digest.digest())
        return cached

    # -- coding ----------------------------------------------------------------------------------
    @property
    def chunk_samples(self) -> int:
        """Samples per independently coded chunk (a whole number of latent frames)."""
        step = self.config.samples_per_latent_frame
        return max(step, int(self.config.chunk_seconds * self.sample_rate) // step * step)

    def _chunk_lengths(self, num_samples: int, chunk: int | None = None) -> Iterator[int]:
        """Samples of each chunk (default :attr:`chunk_samples`), lazily (a forged length is checked,
        never allocated)."""
        chunk = chunk or self.chunk_samples
        full, rest = divmod(num_samples, chunk)
        for _ in range(full):
            yield chunk
        if rest:
            yield rest

    def _padded(self, samples: int) -> int:
        """Chunks shorter than one STFT window are zero-padded to it (and cropped after decoding)."""
        return max(samples, self.config.stft.n_fft)

    def _latent_frames(self, samples: int) -> int:
        frames = self._padded(samples) // self.config.stft.hop + 1
        return math.ceil(frames / self.config.transform.downsample)

    def _synthesize(self, y_hat: torch.Tensor, samples: int) -> np.ndarray:
        """Decoded audio ``[samples]`` of one chunk's latent, computed in float64 on one thread.

        The harmonic source integrates the decoded pitch over the chunk, so float32 differences
        between thread counts would grow into audible phase drift; in float64 on one thread the
        encoder-side reconstruction and the decoder's output are the same numbers."""
        twin = self.__dict__.get("_float64_twin")
        if twin is None:
            twin = self.__dict__["_float64_twin"] = copy.deepcopy(self).double().eval()
        padded = self._padded(samples)
        with single_thread():
            wav, _ = twin._decode(y_hat.double(), padded // self.config.stft.hop + 1, padded)
        return wav[0, :samples].float().numpy()

    def _analyse_chunk(self, chunk: np.ndarray) -> torch.Tensor:
        """Latent ``[1, C, T']`` of one chunk of samples (zero-padded to one STFT window if shorter)."""
        wav = torch.from_numpy(np.pad(chunk, (0, self._padded(len(chunk)) - len(chunk)))).unsqueeze(0)
        return self.encoder(self.stft.analysis(wav))

    def split(self, samples: np.ndarray) -> Iterator[np.ndarray]:
        """Mono float32 ``samples`` ``[N]`` cut into the :attr:`chunk_samples` blocks that
        :meth:`compress_chunks` takes."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono samples [N], got shape {samples.shape}")
        step = self.chunk_samples
        return (samples[i : i + step] for i in range(0, len(samples), step))

    @torch.no_grad()
    def estimate_bits(self, samples: np.ndarray) -> float:
        """The model's ideal code length (bits) of ``samples`` ``[N]``, chunked as :meth:`compress` codes
        them, without container or range-coder overhead."""
        return sum(self.latent.estimate_bits(self._analyse_chunk(chunk)) for chunk in self.split(samples))

    @torch.no_grad()
    def encode_chunk(self, chunk: np.ndarray, start: float = 0.0) -> tuple[bytes, torch.Tensor]:
        """Range-code one chunk of mono float samples ``[n]`` on its own (``start``: its time in the
        stream, s, for error messages). Returns the section and the quantized latent ``[1, C, T']``."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 1:
            raise ValueError(f"expected mono samples [N], got shape {chunk.shape}")
        if not np.isfinite(chunk).all():
            at = start + int(np.flatnonzero(~np.isfinite(chunk))[0]) / self.sample_rate
            raise ValueError(f"input audio holds a NaN or infinite sample (at {at:.3f} s); cannot code it")
        encoder = RangeEncoder()
        y_hat = self.latent.compress(encoder, self._analyse_chunk(chunk))
        return encoder.finish(), y_hat

    @torch.no_grad()
    def decode_chunk(self, section: bytes, samples: int) -> np.ndarray:
        """Audio ``[samples]`` of one section made by :meth:`encode_chunk`; ``BitstreamError`` unless the
        section is exactly what the encoder writes for the symbols decoded from it."""
        if samples == 0:
            if section:
                raise BitstreamError(f"{len(section)} payload bytes for no samples")
            return np.zeros(0, dtype=np.float32)
        decoder = RangeDecoder(section)
        y_hat = self.latent.decompress(decoder, 1, self._latent_frames(samples))
        decoder.verify()
        return self._synthesize(y_hat, samples)

    @torch.no_grad()
    def compress_chunks(
        self, chunks: Iterable[np.ndarray], reconstruct: bool = False, progress: Callable[[int], object] | None = None
    ) -> tuple[bytes, np.ndarray | None]:
        """Code mono float audio given as consecutive chunks of :attr:`chunk_samples` (the last may
        be shorter) at :attr:`sample_rate`; one range-coded section per chunk.

        Returns the container bytes and, with ``reconstruct``, the encoder-side reconstruction
        ``[N]`` (exactly what the decoder will output).
        """
        sections, recon, total = [], [], 0
        for chunk in chunks:
            if total % self.chunk_samples or len(chunk) > self.chunk_samples:
                raise ValueError(f"chunks must hold {self.chunk_samples} samples, but the last")
            section, y_hat = self.encode_chunk(chunk, total / self.sample_rate)
            sections.append(section)
            if reconstruct:
                recon.append(self._synthesize(y_hat, len(chunk)))
            total += len(chunk)
            if progress is not None:
                progress(len(chunk))
        stream = Bitstream(self.weights_hash(), self.sample_rate, total, tuple(sections))
        out = (np.concatenate(recon) if recon else np.zeros(0, dtype=np.float32)) if reconstruct else None
        return stream.to_bytes(), out

    def compress(self, samples: np.ndarray) -> tuple[bytes, np.ndarray]:
        """Code mono float audio ``[N]``; returns the container bytes and the reconstruction ``[N]``."""
        return self.compress_chunks(self.split(samples), reconstruct=True)

    def open_bitstream(self, data: bytes) -> Bitstream:
        """Parse ``data`` and check it was made by this model; raises ``BitstreamError`` otherwise."""
        stream = Bitstream.from_bytes(data)
        self.check_stream(stream.model_hash, stream.sample_rate)
        chunk = stream.chunk_samples or self.chunk_samples
        if len(stream.sections) != -(-stream.num_samples // chunk):  # before allocating anything
            raise BitstreamError(f"bitstream has {len(stream.sections)} sections for {stream.num_samples} samples")
        return stream

    def check_stream(self, model_hash: bytes, sample_rate: int) -> None:
        """``BitstreamError`` unless a stream with this header was made by this model."""
        Bitstream(model_hash, sample_rate, 0, ()).check_model(self.weights_hash())
        if sample_rate != self.sample_rate:
            raise BitstreamError(f"bitstream sample rate {sample_rate} Hz != model's {self.sample_rate} Hz")

    def decompress_chunks(self, stream: Bitstream) -> Iterator[np.ndarray]:
        """Decode an opened bitstream chunk by chunk: float audio blocks at :attr:`sample_rate`."""
        for samples, section in zip(self._chunk_lengths(stream.num_samples, stream.chunk_samples), stream.sections):
            yield self.decode_chunk(section, samples)

    def decompress(self, data: bytes) -> np.ndarray:
        """Decode a container made by this model to float audio ``[N]`` at :attr:`sample_rate`."""
        chunks = list(self.decompress_chunks(self.open_bitstream(data)))
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)

    # -- checkpoints -----------------------------------------------------------------------------
    def save(self, path, extra: dict | None = None) -> None:
        """Save config, name, weights and coding tables (call :meth:`update` first)."""
        torch.save({"config": self.config.to_dict(), "name": self.name, "state": self.state_dict(), **(extra or {})}, path)

    @classmethod
    def load(cls, path, name: str | None = None) -> "ECCCodec":
        """Read a file written by :meth:`save`. Only tensors and plain values are unpickled
        (``weights_only``): a file that would run code, or is not a model file, is a ``ValueError``
        naming it."""
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            config = ECCConfig.from_dict(ckpt["config"])
            state = ckpt["state"]
        except FileNotFoundError:
            raise
        except Exception as exc:  # unpickling refused, not a checkpoint, malformed config
            raise ValueError(f"{path}: not a loadable ECC model file ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
        model = cls(config, name or ckpt.get("name", "ecc"))
        model.load_state_dict(state)
        return model.eval()
