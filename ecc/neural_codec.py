"""The base of every codec family: an analysis transform, a latent codec, a synthesis transform.

A family (a subclass registered with :func:`ecc.registry.register`) supplies

- ``analyse(wav [1, N]) -> y [1, C, T]`` and ``synthesize(y_hat [1, C, T], samples) -> wav [1, samples]``,
- ``latent_shape(samples) -> (C, T)``, ``min_samples`` and ``frame_samples``,
- ``self.latent``: a :class:`~entropy.latent_codec.LatentCodec`, and a config dataclass with
  ``to_dict``/``from_dict``, ``sample_rate`` and ``chunk_seconds``,
- for ``ecc train``: ``forward(wav [B, N], mode, q, synthesize=True) -> ecc.codec.CodecOutput``.

This class writes the rest once: chunking (independent chunks, bounded memory), exact coding
(range coding; synthesis in float64 on one thread, so the encoder's reconstruction is the decoder's
output, unless the family sets ``exact_synthesis = False``), the weights hash, the container (which records family and operating point) and
safetensors save/load.
"""
from __future__ import annotations

import copy
import hashlib
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from entropy.bitstream import OPERATING_POINT_STEPS, Bitstream, StreamHeader, check_model_hash, weights_hash
from entropy.errors import BitstreamError
from entropy.exact import single_thread
from entropy.latent_codec import LatentCodec
from entropy.range_coder import RangeDecoder, RangeEncoder

from .weights import load_weights, save_weights


class NeuralCodec(nn.Module):
    """Waveform ``[N]`` at :attr:`sample_rate` -> latent -> bits -> waveform (see the module docstring)."""

    family: ClassVar[str]
    family_id: ClassVar[int]
    config_class: ClassVar[type]
    latent: LatentCodec

    exact_synthesis: ClassVar[bool] = True
    """True: synthesis runs in float64 on one thread, so decoded audio is the same on every machine
    and thread count. False (e.g. a family ending in a neural vocoder, too slow in float64): float32,
    so the audio agrees only to float tolerance. The coded symbols are exact either way."""

    def __init__(self, config, name: str) -> None:
        super().__init__()
        self.config = config
        self.name = name
        self.operating_point: float | None = None  # variable-rate models: the q that compress() uses

    # -- supplied by the family ------------------------------------------------------------------
    def analyse(self, wav: torch.Tensor) -> torch.Tensor:
        """``[1, N]`` (N >= :attr:`min_samples`) -> latent ``[1, C, T]``."""
        raise NotImplementedError

    def synthesize(self, y_hat: torch.Tensor, samples: int) -> torch.Tensor:
        """Latent ``[1, C, T]`` -> waveform ``[1, samples]`` (called in float64 on one thread)."""
        raise NotImplementedError

    def latent_shape(self, samples: int) -> tuple[int, int]:
        """``(C, T)`` of the latent of ``samples`` (>= :attr:`min_samples`) samples."""
        raise NotImplementedError

    @property
    def min_samples(self) -> int:
        """Shorter chunks are zero-padded to this many samples (and cropped after decoding)."""
        return 1

    @property
    def frame_samples(self) -> int:
        """Samples per latent frame: chunk lengths are multiples of it."""
        raise NotImplementedError

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    # -- operating point -------------------------------------------------------------------------
    @property
    def rates(self) -> int:
        """Trained operating points of a variable-rate model (0: one fixed rate)."""
        return self.latent.rates

    def at(self, q: float | None, name: str | None = None) -> "NeuralCodec":
        """This model (sharing its weights) coding at operating point ``q``, snapped to the
        container's ``1 / OPERATING_POINT_STEPS`` grid; ``q=None`` for a fixed-rate model."""
        if (q is None) != (self.rates == 0):
            raise ValueError(f"{self.name} is {'variable-rate: give an operating point' if self.rates else 'fixed-rate: it takes no operating point'}")
        if q is not None:
            q = float(q)
            if not 0.0 <= q <= self.rates - 1:
                raise ValueError(f"operating point {q} outside [0, {self.rates - 1}]")
            q = round(q * OPERATING_POINT_STEPS) / OPERATING_POINT_STEPS
        bound = copy.copy(self)
        bound.operating_point = q
        bound.name = name or self.name
        return bound

    def _q(self, code: int | None = None) -> float | None:
        """The operating point of a stream's ``code`` (default: this model's own)."""
        if code is None:
            if self.rates and self.operating_point is None:
                raise ValueError(f"{self.name} is variable-rate: choose an operating point (model.at(q))")
            return self.operating_point
        if not self.rates:
            if code:
                raise BitstreamError(f"bitstream asks for operating point {code / OPERATING_POINT_STEPS} "
                                     "of a fixed-rate model")
            return None
        q = code / OPERATING_POINT_STEPS
        if q > self.rates - 1:
            raise BitstreamError(f"bitstream operating point {q} is outside this model's [0, {self.rates - 1}]")
        return q

    @property
    def operating_code(self) -> int:
        """The operating point as the container stores it."""
        q = self._q()
        return 0 if q is None else round(q * OPERATING_POINT_STEPS)

    # -- identity --------------------------------------------------------------------------------
    def weights_hash(self) -> bytes:
        """Short hash of the weights and coding tables (and :meth:`decoding_settings`), written into
        and checked against files."""
        cached = self.__dict__.get("_weights_hash")
        if cached is None:
            cached = self.__dict__["_weights_hash"] = state_hash({**self.state_dict(), **self.decoding_settings()})
        return cached

    def decoding_settings(self) -> dict[str, torch.Tensor]:
        """Settings outside the weights that change the decoded audio, as tensors for the hash (none by
        default; an ``ecc-mel`` model whose vocoder reconstructs its phase names it)."""
        return {}

    def update(self) -> None:
        """Build the coding tables; call after changing weights (it also drops cached derived state)."""
        self.latent.update()
        for key in ("_float64_twin", "_weights_hash"):
            self.__dict__.pop(key, None)

    # -- chunking --------------------------------------------------------------------------------
    @property
    def chunk_samples(self) -> int:
        """Samples per independently coded chunk (a whole number of latent frames)."""
        step = self.frame_samples
        return max(step, int(self.config.chunk_seconds * self.sample_rate) // step * step)

    def _chunk_lengths(self, num_samples: int, chunk: int | None = None) -> Iterator[int]:
        """Samples of each chunk, lazily (a forged length is checked, never allocated)."""
        chunk = chunk or self.chunk_samples
        full, rest = divmod(num_samples, chunk)
        for _ in range(full):
            yield chunk
        if rest:
            yield rest

    def split(self, samples: np.ndarray) -> Iterator[np.ndarray]:
        """Mono float32 ``samples`` ``[N]`` cut into the :attr:`chunk_samples` blocks that
        :meth:`compress_chunks` takes."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono samples [N], got shape {samples.shape}")
        step = self.chunk_samples
        return (samples[i : i + step] for i in range(0, len(samples), step))

    def _analyse_chunk(self, chunk: np.ndarray) -> torch.Tensor:
        """Latent ``[1, C, T]`` of one chunk (zero-padded to :attr:`min_samples` if shorter)."""
        wav = torch.from_numpy(np.pad(chunk, (0, max(0, self.min_samples - len(chunk))))).unsqueeze(0)
        return self.analyse(wav)

    def _synthesize(self, y_hat: torch.Tensor, samples: int) -> np.ndarray:
        """Decoded audio ``[samples]`` of one chunk's latent. With :attr:`exact_synthesis`, in float64
        on one thread: the encoder-side reconstruction and the decoder's output are the same numbers
        on every machine; otherwise in float32 on the caller's threads."""
        if not self.exact_synthesis:
            return self.synthesize(y_hat, max(samples, self.min_samples))[0, :samples].numpy()
        twin = self.__dict__.get("_float64_twin")
        if twin is None:
            twin = self.__dict__["_float64_twin"] = copy.deepcopy(self).double().eval()
        with single_thread():
            wav = twin.synthesize(y_hat.double(), max(samples, self.min_samples))
        return wav[0, :samples].float().numpy()

    # -- coding ----------------------------------------------------------------------------------
    @torch.no_grad()
    def estimate_bits(self, samples: np.ndarray) -> float:
        """The model's ideal code length (bits) of ``samples`` ``[N]``, chunked as :meth:`compress`
        codes them, without container or range-coder overhead."""
        q = self._q()
        return sum(self.latent.estimate_bits(self._analyse_chunk(c), q) for c in self.split(samples))

    @torch.no_grad()
    def encode_chunk(self, chunk: np.ndarray, start: float = 0.0) -> tuple[bytes, torch.Tensor]:
        """Range-code one chunk of mono float samples ``[n]`` on its own (``start``: its time in the
        stream, s, for error messages). Returns the section and the quantized latent ``[1, C, T]``."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 1:
            raise ValueError(f"expected mono samples [N], got shape {chunk.shape}")
        if not np.isfinite(chunk).all():
            at = start + int(np.flatnonzero(~np.isfinite(chunk))[0]) / self.sample_rate
            raise ValueError(f"input audio holds a NaN or infinite sample (at {at:.3f} s); cannot code it")
        encoder = RangeEncoder()
        y_hat = self.latent.compress(encoder, self._analyse_chunk(chunk), self._q())
        return encoder.finish(), y_hat

    @torch.no_grad()
    def decode_chunk(self, section: bytes, samples: int, operating_code: int | None = None) -> np.ndarray:
        """Audio ``[samples]`` of one section made by :meth:`encode_chunk` (at the stream's
        ``operating_code``; default this model's); ``BitstreamError`` unless the section is exactly
        what the encoder writes for the symbols decoded from it."""
        if samples == 0:
            if section:
                raise BitstreamError(f"{len(section)} payload bytes for no samples")
            return np.zeros(0, dtype=np.float32)
        return self._synthesize(self.decode_latent(section, samples, operating_code), samples)

    @torch.no_grad()
    def decode_latent(self, section: bytes, samples: int, operating_code: int | None = None) -> torch.Tensor:
        """The quantized latent ``[1, C, T]`` of one section of ``samples`` (> 0) samples, verified
        as :meth:`decode_chunk` does (the latent :meth:`encode_chunk` returned)."""
        q = self._q(operating_code)
        decoder = RangeDecoder(section)
        y_hat = self.latent.decompress(decoder, (1, *self.latent_shape(max(samples, self.min_samples))), q)
        decoder.verify()
        return y_hat

    def header(self, num_samples: int, sections: tuple[bytes, ...], chunk_samples: int | None = None) -> Bitstream:
        """The container of this model's ``sections``."""
        return Bitstream(self.weights_hash(), self.sample_rate, num_samples, sections, chunk_samples=chunk_samples,
                         family=self.family_id, operating_point=self.operating_code)

    @torch.no_grad()
    def compress_chunks(
        self, chunks: Iterable[np.ndarray], reconstruct: bool = False, progress: Callable[[int], object] | None = None
    ) -> tuple[bytes, np.ndarray | None]:
        """Code mono float audio given as consecutive chunks of :attr:`chunk_samples` (the last may
        be shorter); one range-coded section per chunk. Returns the container bytes and, with
        ``reconstruct``, the encoder-side reconstruction ``[N]`` (exactly the decoder's output)."""
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
        out = (np.concatenate(recon) if recon else np.zeros(0, dtype=np.float32)) if reconstruct else None
        return self.header(total, tuple(sections)).to_bytes(), out

    def compress(self, samples: np.ndarray) -> tuple[bytes, np.ndarray]:
        """Code mono float audio ``[N]``; returns the container bytes and the reconstruction ``[N]``."""
        return self.compress_chunks(self.split(samples), reconstruct=True)

    def open_bitstream(self, data: bytes) -> Bitstream:
        """Parse ``data`` and check it was made by this model; raises ``BitstreamError`` otherwise."""
        stream = Bitstream.from_bytes(data)
        self.check_stream(stream)
        chunk = stream.chunk_samples or self.chunk_samples
        if len(stream.sections) != -(-stream.num_samples // chunk):  # before allocating anything
            raise BitstreamError(f"bitstream has {len(stream.sections)} sections for {stream.num_samples} samples")
        return stream

    def check_stream(self, stream: Bitstream | StreamHeader) -> None:
        """``BitstreamError`` unless a container or stream with this header was made by this model
        (family, weights, sample rate, operating point)."""
        if stream.family != self.family_id:
            from .registry import family_name

            raise BitstreamError(f"bitstream was made by a {family_name(stream.family)} codec, not {self.family}")
        check_model_hash(stream.model_hash, self.weights_hash(), getattr(stream, "model_name", None))
        if stream.sample_rate != self.sample_rate:
            raise BitstreamError(f"bitstream sample rate {stream.sample_rate} Hz != model's {self.sample_rate} Hz")
        self._q(stream.operating_point)

    def decompress_chunks(self, stream: Bitstream) -> Iterator[np.ndarray]:
        """Decode an opened bitstream chunk by chunk: float audio blocks at :attr:`sample_rate`."""
        for samples, section in zip(self._chunk_lengths(stream.num_samples, stream.chunk_samples), stream.sections):
            yield self.decode_chunk(section, samples, stream.operating_point)

    def decompress(self, data: bytes) -> np.ndarray:
        """Decode a container made by this model to float audio ``[N]`` at :attr:`sample_rate`."""
        chunks = list(self.decompress_chunks(self.open_bitstream(data)))
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)

    # -- model files -----------------------------------------------------------------------------
    def save(self, path: str | Path, record: dict | None = None, half: bool = False) -> None:
        """Write safetensors weights (coding tables included; call :meth:`update` first) with
        family, config, name (and ``record``) in the metadata; ``half``: float weights as float16."""
        metadata = {"family": self.family, "config": self.config.to_dict(), "name": self.name,
                    **({"record": record} if record else {})}
        save_weights(path, self.state_dict(), metadata, half)

    @classmethod
    def from_state(cls, config, state: dict[str, torch.Tensor], name: str) -> "NeuralCodec":
        """A model of this family from a config and a state dict (eval mode)."""
        model = cls(config, name)
        model.load_state_dict(state)
        return model.eval()


def state_hash(state: dict[str, torch.Tensor]) -> bytes:
    """:func:`entropy.bitstream.weights_hash` of a state dict: names and bytes, sorted by name."""
    digest = hashlib.sha256()
    for key, value in sorted(state.items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return weights_hash(digest.digest())


def load_codec(path: str | Path, name: str | None = None) -> NeuralCodec:
    """Any family's model file: safetensors from :meth:`NeuralCodec.save`, or a legacy ECC ``.pt``
    (loaded with ``weights_only``: a file that would run code is refused). ``ValueError`` naming the
    file if it is neither."""
    from .registry import family

    path = Path(path)
    if zipfile.is_zipfile(path):  # torch.save's format: a legacy ECC model
        from .codec import ECCCodec

        return ECCCodec.load_legacy(path, name)
    state, metadata = load_weights(path)
    try:
        cls = family(metadata["family"]).codec
        config = cls.config_class.from_dict(metadata["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a loadable codec model file ({type(exc).__name__}: {exc})") from exc
    return cls.from_state(config, state, name or metadata.get("name", path.stem))
