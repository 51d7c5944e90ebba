"""The ECC latent codec, composed of parts: gain (variable rate), hyperprior, temporal context,
channel slices with LRP, entropy skip, and a Gaussian conditional entropy model.

Shapes: latents ``y`` are ``[B, C, T]`` (``C`` channels at the latent frame rate).

Coding is frame by frame (the temporal context looks at past decoded frames); encoder and decoder
run the same loop (:meth:`ECCLatentCodec._code`) on the same inputs, every network evaluated
through :func:`entropy.exact.exact`, so both sides pick identical tables whatever their thread
counts.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .channel_context import ChannelSlices
from .exact import exact, single_thread
from .gain import LatentGain
from .gaussian import GaussianConditional
from .hyperprior import Hyperprior
from .latent_codec import LatentCodec, LatentOutput
from .quantize import QuantizeMode, quantize
from .range_coder import RangeDecoder, RangeEncoder
from .skip import EntropySkip
from .temporal_context import TemporalContext


@dataclass(frozen=True)
class ECCLatentConfig:
    """Switches and sizes of the entropy model; each part can be turned off to measure it.

    ``slices=1`` disables the channel context; ``lrp=False`` the residual prediction;
    ``temporal=0`` the temporal context; ``skip_scale=None`` the entropy skip (symbols whose
    predicted scale is below it are not coded); ``rates=0`` the gain (one fixed rate).
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
    rates: int = 0  # variable rate: this many trained gain vectors (entropy.gain); 0: one fixed rate

    def __post_init__(self) -> None:
        if self.latent % self.slices:
            raise ValueError(f"latent channels ({self.latent}) must split into {self.slices} equal slices")


class ECCLatentCodec(LatentCodec):
    """Scalar quantization + the parts above (see the module docstring)."""

    def __init__(self, config: ECCLatentConfig = ECCLatentConfig()) -> None:
        super().__init__()
        self.config = c = config
        self.hyperprior = Hyperprior(c.latent, c.hyper, c.hidden, c.hyper_stride)
        self.gaussian = GaussianConditional()
        self.temporal = TemporalContext(c.latent, c.hidden // 2, c.temporal) if c.temporal else None
        context = c.hidden + (self.temporal.width if self.temporal else 0)
        self.slices = ChannelSlices(c.latent, c.slices, c.hidden, context, c.hidden, c.lrp)
        self.skip = EntropySkip(c.skip_scale) if c.skip_scale is not None else None
        self.gain = LatentGain(c.latent, c.rates) if c.rates else None

    @property
    def rates(self) -> int:
        return self.config.rates

    def _gain(self, y: torch.Tensor, q: torch.Tensor | float | None, inverse: bool = False) -> torch.Tensor:
        """``y`` ``[B, C, T]`` times the gain (or inverse gain) at operating point ``q`` (``[B]`` or one
        number); a fixed-rate codec takes ``q=None`` and returns ``y`` unchanged."""
        if self.gain is None:
            if q is not None:
                raise ValueError("this latent codec has one fixed rate; it takes no operating point")
            return y
        if q is None:
            raise ValueError(f"this latent codec is variable-rate: give an operating point in [0, {self.gain.rates - 1}]")
        q = torch.as_tensor(q, dtype=y.dtype).expand(y.shape[0])
        return y * (self.gain.inverse(q) if inverse else self.gain.gain(q)).to(y.dtype)

    # -- training path ---------------------------------------------------------------------------
    def forward(self, y: torch.Tensor, mode: QuantizeMode = "ste", q: torch.Tensor | float | None = None) -> LatentOutput:
        """Quantize ``y`` ``[B, C, T]`` with rate estimates (variable-rate: at operating points ``q``).

        The rate uses additive noise (training) or rounding (``mode="round"``, evaluation); the
        reconstruction path uses ``mode``.
        """
        training_rate = mode != "round"
        y = self._gain(y, q)
        hyper, z_bits = self.hyperprior(y, mode)
        extra = []
        if self.temporal is not None:
            extra = [self.temporal(quantize(y, "noise") if training_rate else torch.round(y))]
        y_bits = torch.zeros(y.shape[0], device=y.device)
        decoded: list[torch.Tensor] = []
        for i, y_slice in enumerate(y.split(self.slices.width, dim=1)):
            mean, scale = self.slices.params[i](torch.cat([hyper, *extra, *decoded], dim=1))
            y_rate = quantize(y_slice, "noise") if training_rate else torch.round(y_slice - mean) + mean
            bits = -torch.log2(self.gaussian.likelihood(y_rate, scale, mean))
            y_hat = quantize(y_slice, mode, mean)
            if self.skip is not None:
                skip = self.skip.mask(scale.detach())
                bits = bits.masked_fill(skip, 0.0)
                y_hat = torch.where(skip, mean, y_hat)
            y_bits = y_bits + bits.flatten(1).sum(1)
            if self.slices.lrp is not None:
                y_hat = y_hat + self.slices.lrp[i](torch.cat([hyper, *decoded, y_hat], dim=1))
            decoded.append(y_hat)
        y_hat = self._gain(torch.cat(decoded, dim=1), q, inverse=True)
        return LatentOutput(y_hat, {"y": y_bits, "z": z_bits}, {"hyperprior": self.aux_loss()})

    # -- coding path -----------------------------------------------------------------------------
    def _lanes(self, x: np.ndarray) -> np.ndarray:
        """``[B, D, T]`` -> ``[B * L, D, lane_frames]``: the frames cut into ``L`` lanes (zero padded)."""
        lf = self.config.lane_frames
        b, d, t = x.shape
        lanes = -(-t // lf)
        x = np.pad(x, ((0, 0), (0, 0), (0, lanes * lf - t)))
        return x.reshape(b, d, lanes, lf).transpose(0, 2, 1, 3).reshape(b * lanes, d, lf)

    def _code(self, hyper: torch.Tensor, code_slice: Callable[..., np.ndarray]) -> torch.Tensor:
        """The frame loop shared by encoder and decoder, on exact hyper features ``[B, H, T]``.

        The frames are cut into lanes of ``lane_frames`` that are coded side by side (the temporal
        context starts afresh in each lane, as at the start of a training crop), so one step codes
        one frame of every lane. ``code_slice(rows, t, i, mean, scale, skip)`` gets ``[R, w]`` float64
        arrays for the lanes ``rows`` still running at step ``t`` and returns the quantized slice
        (encoder: from ``y``; decoder: from the stream).
        """
        batch, frames = hyper.shape[0], hyper.shape[-1]
        k, lf = (self.temporal.frames if self.temporal else 0), self.config.lane_frames
        lanes_hyper = self._lanes(hyper.numpy())
        lanes = lanes_hyper.shape[0] // batch
        lengths = np.tile(np.minimum(lf, frames - lf * np.arange(lanes)), batch)
        y_hat = np.zeros((lanes_hyper.shape[0], self.config.latent, lf + k))  # k leading zero frames = empty past
        with single_thread():  # the exact evaluators' thread count, set once for the whole loop
            for t in range(int(lengths.max(initial=0))):
                self._code_frame(t, lengths, lanes_hyper, y_hat, code_slice)
        out = y_hat[..., k:].reshape(batch, lanes, -1, lf).transpose(0, 2, 1, 3).reshape(batch, -1, lanes * lf)
        return torch.from_numpy(out[..., :frames]).float()

    def _code_frame(self, t: int, lengths: np.ndarray, lanes_hyper: np.ndarray, y_hat: np.ndarray,
                    code_slice: Callable[..., np.ndarray]) -> None:
        """Step ``t`` of :meth:`_code`: frame ``t`` of every lane still running, into ``y_hat``."""
        k = self.temporal.frames if self.temporal else 0
        rows = np.flatnonzero(lengths > t)
        h = torch.from_numpy(lanes_hyper[rows, :, t : t + 1])
        extra = [exact(self.temporal.conv)(y_hat[rows, :, t : t + k])] if k else []
        decoded: list[torch.Tensor] = []
        for i in range(len(self.slices)):
            mean, scale = exact(self.slices.params[i])(torch.cat([h, *extra, *decoded], dim=1))
            mean, scale = mean[..., 0].numpy(), scale[..., 0].numpy()
            skip = self.skip.mask(scale) if self.skip is not None else None
            y_slice = torch.from_numpy(code_slice(rows, t, i, mean, scale, skip)).unsqueeze(-1)
            if self.slices.lrp is not None:
                y_slice = y_slice + exact(self.slices.lrp[i])(torch.cat([h, *decoded, y_slice], dim=1))
            decoded.append(y_slice)
        y_hat[rows, :, t + k] = torch.cat(decoded, dim=1)[..., 0].numpy()

    @torch.no_grad()
    def compress(self, encoder: RangeEncoder, y: torch.Tensor, q: float | None = None) -> torch.Tensor:
        y = self._gain(y, q)
        hyper, _ = self.hyperprior.compress(encoder, y)
        y_lanes, w = self._lanes(y.double().numpy()), self.slices.width

        def encode_slice(rows, t: int, i: int, mean, scale, skip) -> np.ndarray:
            return self.gaussian.encode_array(encoder, y_lanes[rows, i * w : (i + 1) * w, t], scale, mean, skip)

        return self._gain(self._code(hyper, encode_slice), q, inverse=True)

    @torch.no_grad()
    def decompress(self, decoder: RangeDecoder, shape: tuple[int, int, int], q: float | None = None) -> torch.Tensor:
        batch, channels, frames = shape
        if channels != self.config.latent:
            raise ValueError(f"this codec's latent has {self.config.latent} channels, not {channels}")
        hyper = self.hyperprior.decompress(decoder, batch, frames)

        def decode_slice(rows, t: int, i: int, mean, scale, skip) -> np.ndarray:
            return self.gaussian.decode_array(decoder, scale, mean, skip)

        return self._gain(self._code(hyper, decode_slice), q, inverse=True)

    @torch.no_grad()
    def estimate_bits(self, y: torch.Tensor, q: float | None = None) -> float:
        """``-log2`` of the continuous model's likelihood of every coded symbol, under the
        decoder-side parameters."""
        y = self._gain(y, q)
        hyper, z_hat = self.hyperprior.compress(RangeEncoder(), y)
        y_lanes, w = self._lanes(y.double().numpy()), self.slices.width
        total = [float(-torch.log2(self.hyperprior.prior.likelihood(z_hat)).sum())]

        def measure(rows, t: int, i: int, mean, scale, skip) -> np.ndarray:
            y_hat = self.gaussian.encode_array(RangeEncoder(), y_lanes[rows, i * w : (i + 1) * w, t], scale, mean, skip)
            lik = self.gaussian.likelihood(*(torch.from_numpy(a) for a in (y_hat, scale, mean)))
            coded = np.ones_like(mean, dtype=bool) if skip is None else ~skip
            total[0] += float(-torch.log2(lik).numpy()[coded].sum())
            return y_hat

        self._code(hyper, measure)
        return total[0]


_LEGACY_NAMES = (  # parameter names before the ECC bottleneck was split into parts
    ("hyper_analysis.", "hyperprior.analysis."), ("hyper_synthesis.", "hyperprior.synthesis."),
    ("hyper_prior.", "hyperprior.prior."), ("temporal.", "temporal.conv."),
)


def upgrade_state_names(state: dict[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
    """A state dict of an ECC latent codec (keys under ``prefix``) saved with the pre-parts names,
    renamed to today's; today's names pass unchanged."""
    out = {}
    for key, value in state.items():
        rest = key[len(prefix):] if key.startswith(prefix) else None
        if rest is not None and not rest.startswith(("hyperprior.", "temporal.conv.", "slices.")):
            for old, new in _LEGACY_NAMES:
                if rest.startswith(old):
                    rest = new + rest[len(old):]
                    break
            else:
                head, _, tail = rest.partition(".")
                if head in ("params", "lrp"):
                    index, _, tail = tail.partition(".")
                    rest = f"slices.{head}.{index}.net.{tail}"
            key = prefix + rest
        out[key] = value
    return out
