"""ECC latent codec: scalar quantization + hyperprior + channel-slice context + LRP + temporal
context + entropy skip, behind one interface (training ``forward``, real ``compress/decompress``).

Shapes: latents ``y`` are ``[B, C, T]`` (``C`` channels at the latent frame rate).

Coding is frame by frame (the temporal context looks at past decoded frames); encoder and decoder
run the same loop (:meth:`ECCLatentCodec._code`) on the same inputs, in float64 on one thread, and
every entropy parameter that feeds a table choice or a later prediction is snapped to a binary grid,
so both sides pick identical tables whatever their thread counts (cf. CompressAI issues #279/#309).
"""
from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import erf
from torch import nn

from .factorized import FactorizedPrior
from .gaussian import GaussianConditional
from .quantize import QuantizeMode, quantize
from .range_coder import RangeDecoder, RangeEncoder

_GRID = 2.0**-12  # entropy parameters are snapped to multiples of this


@dataclass(frozen=True)
class ECCLatentConfig:
    """Switches and sizes of the entropy model; each part can be turned off to measure it.

    ``slices=1`` disables the channel context; ``temporal=0`` the temporal context;
    ``skip_scale=None`` the entropy skip (symbols whose predicted scale is below it are not coded).
    """

    latent: int = 48
    hyper: int = 16
    hyper_stride: int = 2
    hidden: int = 128
    slices: int = 4
    lrp: bool = True
    temporal: int = 2
    skip_scale: float | None = 0.2
    lane_frames: int = 25  # coding only: frames per independently coded lane (see ECCLatentCodec._code)

    def __post_init__(self) -> None:
        if self.latent % self.slices:
            raise ValueError(f"latent channels ({self.latent}) must split into {self.slices} equal slices")


@dataclass
class LatentOutput:
    """Training-path result. ``y_hat``: ``[B, C, T]``; bits: ``[B]`` estimated bits per item."""

    y_hat: torch.Tensor
    y_bits: torch.Tensor
    z_bits: torch.Tensor

    @property
    def bits(self) -> torch.Tensor:
        return self.y_bits + self.z_bits


def _pointwise_mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(inputs, hidden, 1), nn.GELU(), nn.Conv1d(hidden, hidden, 1), nn.GELU(), nn.Conv1d(hidden, outputs, 1)
    )


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (reproducible float results whatever the thread count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class ECCLatentCodec(nn.Module):
    """The ECC bottleneck (see the module docstring)."""

    def __init__(self, config: ECCLatentConfig = ECCLatentConfig()) -> None:
        super().__init__()
        self.config = c = config
        s = c.hyper_stride
        self.hyper_analysis = nn.Sequential(
            nn.Conv1d(c.latent, c.hidden, 3, padding=1), nn.GELU(),
            nn.Conv1d(c.hidden, c.hidden, 2 * s, stride=s, padding=s // 2), nn.GELU(),
            nn.Conv1d(c.hidden, c.hyper, 1),
        )
        self.hyper_synthesis = nn.Sequential(
            nn.Conv1d(c.hyper, c.hidden, 3, padding=1), nn.GELU(),
            nn.ConvTranspose1d(c.hidden, c.hidden, s, stride=s), nn.GELU(),
            nn.Conv1d(c.hidden, c.hidden, 3, padding=1),
        )
        self.hyper_prior = FactorizedPrior(c.hyper)
        self.gaussian = GaussianConditional()
        width = c.latent // c.slices
        temporal_width = c.hidden // 2 if c.temporal else 0
        self.temporal = nn.Conv1d(c.latent, temporal_width, c.temporal) if c.temporal else None
        self.params = nn.ModuleList(
            _pointwise_mlp(c.hidden + temporal_width + i * width, c.hidden, 2 * width) for i in range(c.slices)
        )
        self.lrp = (
            nn.ModuleList(_pointwise_mlp(c.hidden + (i + 1) * width, c.hidden, width) for i in range(c.slices))
            if c.lrp else None
        )

    # -- shared pieces ---------------------------------------------------------------------------
    @property
    def slice_width(self) -> int:
        return self.config.latent // self.config.slices

    def _hyper_features(self, z_hat: torch.Tensor, frames: int) -> torch.Tensor:
        return self.hyper_synthesis(z_hat)[..., :frames]

    def _analyse(self, y: torch.Tensor) -> torch.Tensor:
        pad = -y.shape[-1] % self.config.hyper_stride
        return self.hyper_analysis(F.pad(y, (0, pad)))

    def _temporal_context(self, y_past: torch.Tensor) -> torch.Tensor:
        """Context of frame ``t`` from frames ``t-K .. t-1`` of ``y_past`` ``[B, C, T]`` -> ``[B, W, T]``."""
        k = self.config.temporal
        return self.temporal(F.pad(y_past, (k, 0)))[..., : y_past.shape[-1]]

    def _slice_params(self, i: int, context: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        mean, scale_raw = self.params[i](torch.cat(context, dim=1)).chunk(2, dim=1)
        return mean, F.softplus(scale_raw) + 1e-3

    def _refine(self, i: int, hyper: torch.Tensor, y_hat_upto: list[torch.Tensor]) -> torch.Tensor:
        return 0.5 * torch.tanh(self.lrp[i](torch.cat([hyper, *y_hat_upto], dim=1)))

    def _skip_mask(self, scale):
        """Entropy skip: where the (decoder-side) scale is below ``skip_scale``; tensor or array."""
        skip = self.config.skip_scale
        return None if skip is None else scale < skip

    # -- training path ---------------------------------------------------------------------------
    def forward(self, y: torch.Tensor, mode: QuantizeMode = "ste") -> LatentOutput:
        """Quantize ``y`` ``[B, C, T]`` with rate estimates.

        The rate uses additive noise (training) or rounding (``mode="round"``, evaluation); the
        reconstruction path uses ``mode``.
        """
        training_rate = mode != "round"
        z = self._analyse(y)
        z_hat, z_lik = self.hyper_prior(z, "noise" if training_rate else "round")
        if mode == "ste":
            z_hat = quantize(z, "ste", self.hyper_prior.medians.view(1, -1, 1))
        hyper = self._hyper_features(z_hat, y.shape[-1])
        extra = []
        if self.temporal is not None:
            y_past = quantize(y, "noise") if training_rate else torch.round(y)
            extra = [self._temporal_context(y_past)]
        y_bits = torch.zeros(y.shape[0], device=y.device)
        decoded: list[torch.Tensor] = []
        for i, y_slice in enumerate(y.split(self.slice_width, dim=1)):
            mean, scale = self._slice_params(i, [hyper, *extra, *decoded])
            y_rate = quantize(y_slice, "noise") if training_rate else torch.round(y_slice - mean) + mean
            bits = -torch.log2(self.gaussian.likelihood(y_rate, scale, mean))
            y_hat = quantize(y_slice, mode, mean)
            skip = self._skip_mask(scale.detach())
            if skip is not None:
                bits = bits.masked_fill(skip, 0.0)
                y_hat = torch.where(skip, mean, y_hat)
            y_bits = y_bits + bits.flatten(1).sum(1)
            if self.lrp is not None:
                y_hat = y_hat + self._refine(i, hyper, [*decoded, y_hat])
            decoded.append(y_hat)
        z_bits = -torch.log2(z_lik).flatten(1).sum(1)
        return LatentOutput(torch.cat(decoded, dim=1), y_bits, z_bits)

    def aux_loss(self) -> torch.Tensor:
        return self.hyper_prior.aux_loss()

    def update(self) -> None:
        """Build the integer tables of both entropy models (call before saving for coding)."""
        self.hyper_prior.update()
        self.gaussian.update()

    # -- coding path -----------------------------------------------------------------------------
    @torch.no_grad()
    def _hyper_features_exact(self, z_hat: torch.Tensor, frames: int) -> np.ndarray:
        """Hyper features ``[B, hidden, T]`` in float64 on one thread, snapped to the grid."""
        synthesis = copy.deepcopy(self.hyper_synthesis).double()
        with single_thread():
            return _snap_np(synthesis(z_hat.double())[..., :frames].numpy())

    def _lanes(self, x: np.ndarray) -> np.ndarray:
        """``[B, D, T]`` -> ``[B * L, D, lane_frames]``: the frames cut into ``L`` lanes (zero padded)."""
        lf = self.config.lane_frames
        b, d, t = x.shape
        lanes = -(-t // lf)
        x = np.pad(x, ((0, 0), (0, 0), (0, lanes * lf - t)))
        return x.reshape(b, d, lanes, lf).transpose(0, 2, 1, 3).reshape(b * lanes, d, lf)

    def _code(self, z_hat: torch.Tensor, frames: int, code_slice: Callable[..., np.ndarray]) -> torch.Tensor:
        """The frame loop shared by encoder and decoder.

        The frames are cut into lanes of ``lane_frames`` that are coded side by side (the temporal
        context starts afresh in each lane, as at the start of a training crop), so one step codes
        one frame of every lane. ``code_slice(rows, t, i, mean, scale, skip)`` gets ``[R, w]`` float64
        arrays for the lanes ``rows`` still running at step ``t`` and returns the quantized slice
        (encoder: from ``y``; decoder: from the stream).
        """
        engine = _FrameEngine(self)
        batch, k, lf = z_hat.shape[0], self.config.temporal, self.config.lane_frames
        hyper = self._lanes(self._hyper_features_exact(z_hat, frames))
        lanes = hyper.shape[0] // batch
        lengths = np.tile(np.minimum(lf, frames - lf * np.arange(lanes)), batch)
        y_hat = np.zeros((hyper.shape[0], self.config.latent, lf + k))  # k leading zero frames = empty past
        for t in range(int(lengths.max(initial=0))):
            rows = np.flatnonzero(lengths > t)
            h = hyper[rows, :, t]
            extra = [engine.temporal(y_hat[rows, :, t : t + k])] if k else []
            decoded: list[np.ndarray] = []
            for i in range(self.config.slices):
                mean, scale = engine.slice_params(i, [h, *extra, *decoded])
                y_slice = code_slice(rows, t, i, mean, scale, self._skip_mask(scale))
                if engine.lrp:
                    y_slice = y_slice + engine.refine(i, [h, *decoded, y_slice])
                decoded.append(y_slice)
            y_hat[rows, :, t + k] = np.concatenate(decoded, axis=1)
        out = y_hat[..., k:].reshape(batch, lanes, -1, lf).transpose(0, 2, 1, 3).reshape(batch, -1, lanes * lf)
        return torch.from_numpy(out[..., :frames]).float()

    @torch.no_grad()
    def compress(self, encoder: RangeEncoder, y: torch.Tensor) -> torch.Tensor:
        """Code ``y`` ``[B, C, T]`` into ``encoder``; returns the ``y_hat`` the decoder will get."""
        z_hat = self.hyper_prior.compress(encoder, self._analyse(y))
        y_lanes, w = self._lanes(y.double().numpy()), self.slice_width

        def encode_slice(rows, t: int, i: int, mean, scale, skip) -> np.ndarray:
            return self.gaussian.encode_array(encoder, y_lanes[rows, i * w : (i + 1) * w, t], scale, mean, skip)

        return self._code(z_hat, y.shape[-1], encode_slice)

    @torch.no_grad()
    def decompress(self, decoder: RangeDecoder, batch: int, frames: int) -> torch.Tensor:
        """Decode ``y_hat`` ``[batch, C, frames]``."""
        z_frames = -(-frames // self.config.hyper_stride)
        z_hat = self.hyper_prior.decompress(decoder, (batch, self.config.hyper, z_frames))

        def decode_slice(rows, t: int, i: int, mean, scale, skip) -> np.ndarray:
            return self.gaussian.decode_array(decoder, scale, mean, skip)

        return self._code(z_hat, frames, decode_slice)

    @torch.no_grad()
    def estimate_bits(self, y: torch.Tensor) -> float:
        """Ideal code length (bits) of ``y`` as :meth:`compress` would code it: ``-log2`` of the
        continuous model's likelihood of every coded symbol, under the decoder-side parameters."""
        encoder = RangeEncoder()
        z = self._analyse(y)
        z_hat = self.hyper_prior.compress(encoder, z)
        bits = float(-torch.log2(self.hyper_prior.likelihood(z_hat)).sum())
        y_lanes, w = self._lanes(y.double().numpy()), self.slice_width
        total = [bits]

        def measure(rows, t: int, i: int, mean, scale, skip) -> np.ndarray:
            y_hat = self.gaussian.encode_array(RangeEncoder(), y_lanes[rows, i * w : (i + 1) * w, t], scale, mean, skip)
            lik = self.gaussian.likelihood(*(torch.from_numpy(a) for a in (y_hat, scale, mean)))
            coded = np.ones_like(mean, dtype=bool) if skip is None else ~skip
            total[0] += float(-torch.log2(lik).numpy()[coded].sum())
            return y_hat

        self._code(z_hat, y.shape[-1], measure)
        return total[0]


def _snap_np(x: np.ndarray) -> np.ndarray:
    return np.round(x / _GRID) * _GRID


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class _FrameEngine:
    """The entropy-parameter networks of one frame, in float64 NumPy (no per-op torch overhead).

    Mirrors the training-path modules exactly (pointwise convs as matrix products, exact GELU);
    every output is snapped to the grid, so encoder and decoder agree bit for bit.
    """

    def __init__(self, codec: ECCLatentCodec) -> None:
        self.params = [self._mlp(m) for m in codec.params]
        self.lrp = [self._mlp(m) for m in codec.lrp] if codec.lrp is not None else None
        if codec.temporal is not None:
            weight = codec.temporal.weight.detach().double().numpy()  # [W, C, K]
            self.temporal_weight = weight.reshape(weight.shape[0], -1).T
            self.temporal_bias = codec.temporal.bias.detach().double().numpy()

    @staticmethod
    def _mlp(seq: nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(m.weight.detach().double().numpy()[:, :, 0].T.copy(), m.bias.detach().double().numpy())
                for m in seq if isinstance(m, nn.Conv1d)]

    @staticmethod
    def _run(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
        for j, (weight, bias) in enumerate(layers):
            x = x @ weight + bias
            if j < len(layers) - 1:
                x = _gelu(x)
        return x

    def temporal(self, past: np.ndarray) -> np.ndarray:
        """Context ``[B, W]`` from the last ``K`` decoded frames ``[B, C, K]``."""
        return _snap_np(past.reshape(past.shape[0], -1) @ self.temporal_weight + self.temporal_bias)

    def slice_params(self, i: int, context: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        out = self._run(self.params[i], np.concatenate(context, axis=1))
        mean, raw = np.split(out, 2, axis=1)
        return _snap_np(mean), _snap_np(np.logaddexp(0.0, raw) + 1e-3)

    def refine(self, i: int, context: list[np.ndarray]) -> np.ndarray:
        return _snap_np(0.5 * np.tanh(self._run(self.lrp[i], np.concatenate(context, axis=1))))
