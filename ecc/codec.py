"""The ECC codec: STFT + causal conv transform around the ECC latent codec, with real bitstreams."""
from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from entropy.bitstream import Bitstream, ModelId, weights_hash
from entropy.errors import BitstreamError
from entropy.latent_codec import ECCLatentCodec, ECCLatentConfig
from entropy.range_coder import RangeDecoder, RangeEncoder

from .transforms.conv import ConvDecoder, ConvEncoder, ConvTransformConfig
from .transforms.stft import CompressedSTFT, STFTConfig


@dataclass(frozen=True)
class ECCConfig:
    """Everything that defines an ECC model's architecture."""

    stft: STFTConfig = field(default_factory=STFTConfig)
    transform: ConvTransformConfig = field(default_factory=ConvTransformConfig)
    latent: ECCLatentConfig = field(default_factory=ECCLatentConfig)
    chunk_seconds: float = 20.0  # coding works on independent chunks of this length (bounded memory)

    @classmethod
    def from_dict(cls, d: dict) -> "ECCConfig":
        transform = dict(d.get("transform", {}))
        if "strides" in transform:
            transform["strides"] = tuple(transform["strides"])
        return cls(
            STFTConfig(**d.get("stft", {})), ConvTransformConfig(**transform),
            ECCLatentConfig(**d.get("latent", {})), d.get("chunk_seconds", 20.0),
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
    """Training-path output: ``wav_hat`` ``[B, N]``, estimated ``bits`` ``[B]``."""

    wav_hat: torch.Tensor
    bits: torch.Tensor
    y_bits: torch.Tensor
    z_bits: torch.Tensor


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

    @property
    def sample_rate(self) -> int:
        return self.config.stft.sample_rate

    def forward(self, wav: torch.Tensor, mode: str = "ste") -> CodecOutput:
        spec = self.stft.analysis(wav)
        out = self.latent(self.encoder(spec), mode)
        spec_hat = self.decoder(out.y_hat)[..., : spec.shape[-1]]
        return CodecOutput(self.stft.synthesis(spec_hat, wav.shape[-1]), out.bits, out.y_bits, out.z_bits)

    def aux_loss(self) -> torch.Tensor:
        return self.latent.aux_loss()

    def update(self) -> None:
        self.latent.update()

    # -- identity --------------------------------------------------------------------------------
    def model_id(self) -> ModelId:
        """Name + short hash of the weights (and tables), written into and checked against files."""
        cached = self.__dict__.get("_model_id")
        if cached is None:
            digest = hashlib.sha256()
            for key, value in sorted(self.state_dict().items()):
                digest.update(key.encode())
                digest.update(value.detach().cpu().contiguous().numpy().tobytes())
            cached = ModelId(self.name, weights_hash(digest.digest()))
            self.__dict__["_model_id"] = cached
        return cached

    # -- coding ----------------------------------------------------------------------------------
    def _chunks(self, num_samples: int) -> Iterator[tuple[int, int]]:
        step = self.config.samples_per_latent_frame
        chunk = max(step, int(self.config.chunk_seconds * self.sample_rate) // step * step)
        for start in range(0, num_samples, chunk):
            yield start, min(start + chunk, num_samples)

    def _latent_frames(self, samples: int) -> int:
        return math.ceil((samples // self.config.stft.hop + 1) / self.config.transform.downsample)

    @torch.no_grad()
    def compress(self, samples: np.ndarray, progress=None) -> tuple[bytes, np.ndarray]:
        """Code mono float audio ``[N]`` at :attr:`sample_rate`.

        Returns the container bytes and the encoder-side reconstruction ``[N]`` (what the decoder
        will output). One range-coded section per chunk.
        """
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono samples [N], got shape {samples.shape}")
        sections, recon = [], []
        for start, end in self._chunks(len(samples)):
            wav = torch.from_numpy(samples[start:end]).unsqueeze(0)
            encoder = RangeEncoder()
            y_hat = self.latent.compress(encoder, self.encoder(self.stft.analysis(wav)))
            sections.append(encoder.finish())
            recon.append(self._synthesize(y_hat, end - start))
            if progress is not None:
                progress(end - start)
        stream = Bitstream(self.model_id(), self.sample_rate, len(samples), tuple(sections))
        out = np.concatenate(recon) if recon else np.zeros(0, dtype=np.float32)
        return stream.to_bytes(), out

    def _synthesize(self, y_hat: torch.Tensor, samples: int) -> np.ndarray:
        frames = samples // self.config.stft.hop + 1
        spec_hat = self.decoder(y_hat)[..., :frames]
        return self.stft.synthesis(spec_hat, samples)[0].numpy()

    @torch.no_grad()
    def decompress(self, data: bytes | Bitstream, progress=None) -> np.ndarray:
        """Decode a container made by this model to float audio ``[N]`` at :attr:`sample_rate`."""
        stream = data if isinstance(data, Bitstream) else Bitstream.from_bytes(data)
        stream.check_model(self.model_id())
        if stream.sample_rate != self.sample_rate:
            raise BitstreamError(f"bitstream sample rate {stream.sample_rate} Hz != model's {self.sample_rate} Hz")
        chunks = list(self._chunks(stream.num_samples))
        if len(chunks) != len(stream.sections):
            raise BitstreamError(f"bitstream has {len(stream.sections)} sections, expected {len(chunks)}")
        out = []
        for (start, end), section in zip(chunks, stream.sections):
            y_hat = self.latent.decompress(RangeDecoder(section), 1, self._latent_frames(end - start))
            out.append(self._synthesize(y_hat, end - start))
            if progress is not None:
                progress(end - start)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    # -- checkpoints -----------------------------------------------------------------------------
    def save(self, path, extra: dict | None = None) -> None:
        """Save config, name, weights and coding tables (call :meth:`update` first)."""
        torch.save({"config": self.config.to_dict(), "name": self.name, "state": self.state_dict(), **(extra or {})}, path)

    @classmethod
    def load(cls, path, name: str | None = None) -> "ECCCodec":
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        model = cls(ECCConfig.from_dict(ckpt["config"]), name or ckpt.get("name", "ecc"))
        model.load_state_dict(ckpt["state"])
        return model.eval()
