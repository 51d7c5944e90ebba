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
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .factorized import FactorizedPrior
from .gaussian import GaussianConditional
from .quantize import QuantizeMode, quantize, to_symbols
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


def _snap(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x / _GRID) * _GRID


def _pointwise_mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(inputs, hidden, 1), nn.GELU(), nn.Conv1d(hidden, hidden, 1), nn.GELU(), nn.Conv1d(hidden, outputs, 1)
    )


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
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

    def _skip_mask(self, scale: torch.Tensor) -> torch.Tensor | None:
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
    def _float64(self) -> "ECCLatentCodec":
        """A float64 copy for the coding loop (a few ms; not cached, so never stale)."""
        return copy.deepcopy(self).double().eval()

    @torch.no_grad()
    def _code(
        self, z_hat: torch.Tensor, frames: int,
        code_slice: Callable[[int, int, torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor],
    ) -> torch.Tensor:
        """The frame loop shared by encoder and decoder; ``code_slice(t, i, mean, scale, skip)`` returns
        the quantized slice ``[B, w, 1]`` (encoder: from ``y``; decoder: from the stream)."""
        net = self._float64()
        with _single_thread():
            hyper = _snap(net._hyper_features(z_hat.double(), frames))
            y_hat = torch.zeros(z_hat.shape[0], self.config.latent, frames, dtype=torch.float64)
            w, k = self.slice_width, self.config.temporal
            for t in range(frames):
                h = hyper[..., t : t + 1]
                extra = []
                if net.temporal is not None:
                    past = F.pad(y_hat[..., max(t - k, 0) : t], (k - min(t, k), 0))
                    extra = [_snap(net.temporal(past))]
                decoded: list[torch.Tensor] = []
                for i in range(self.config.slices):
                    mean, scale = net._slice_params(i, [h, *extra, *decoded])
                    mean, scale = _snap(mean), _snap(scale)
                    y_slice = code_slice(t, i, mean, scale, net._skip_mask(scale))
                    if net.lrp is not None:
                        y_slice = y_slice + _snap(net._refine(i, h, [*decoded, y_slice]))
                    decoded.append(y_slice)
                y_hat[..., t : t + 1] = torch.cat(decoded, dim=1)
        return y_hat.float()

    @torch.no_grad()
    def compress(self, encoder: RangeEncoder, y: torch.Tensor) -> torch.Tensor:
        """Code ``y`` ``[B, C, T]`` into ``encoder``; returns the ``y_hat`` the decoder will get."""
        z_hat = self.hyper_prior.compress(encoder, self._analyse(y))
        y = y.double()
        w = self.slice_width

        def encode_slice(t: int, i: int, mean, scale, skip) -> torch.Tensor:
            return self.gaussian.compress(encoder, y[:, i * w : (i + 1) * w, t : t + 1], scale, mean, skip)

        return self._code(z_hat, y.shape[-1], encode_slice)

    @torch.no_grad()
    def decompress(self, decoder: RangeDecoder, batch: int, frames: int) -> torch.Tensor:
        """Decode ``y_hat`` ``[batch, C, frames]``."""
        z_frames = -(-frames // self.config.hyper_stride)
        z_hat = self.hyper_prior.decompress(decoder, (batch, self.config.hyper, z_frames))

        def decode_slice(t: int, i: int, mean, scale, skip) -> torch.Tensor:
            return self.gaussian.decompress(decoder, scale, mean, skip)

        return self._code(z_hat, frames, decode_slice)

    @torch.no_grad()
    def symbols(self, y: torch.Tensor) -> torch.Tensor:
        """Integer symbols of ``y`` as coded (for tests and diagnostics): ``[B, C, T]`` int64, skipped = 0."""
        out = torch.zeros(y.shape, dtype=torch.int64)
        w, y64 = self.slice_width, y.double()
        z_hat = self.hyper_prior.compress(RangeEncoder(), self._analyse(y))

        def record(t: int, i: int, mean, scale, skip) -> torch.Tensor:
            part = to_symbols(y64[:, i * w : (i + 1) * w, t : t + 1], mean)
            if skip is not None:
                part = part.masked_fill(skip, 0)
            out[:, i * w : (i + 1) * w, t : t + 1] = part
            return part.double() + mean

        self._code(z_hat, y.shape[-1], record)
        return out
