"""Phase from STFT magnitude, without learning: phase-gradient heap integration (PGHI; Průša,
Balazs & Søndergaard, "A noniterative method for reconstruction of phase from STFT magnitude",
2017) followed by a few iterations of fast Griffin-Lim (Perraudin, Balazs & Søndergaard, 2013).

Why: on this project's grid (Hann 640, hop 160, 16 kHz) the input's own magnitude with PGHI + 16
iterations scores PESQ-WB 4.37 (dev) / 4.35 (unseen), where the adversarially trained vocoder's
generated phase on that magnitude scored 3.0–3.2 after 70,000 steps. The vocoder's magnitude head
(trained to the input's log-magnitude) therefore drives this instead of its phase head when
``VocoderConfig.phase == "reconstructed"``.

PGHI for a Gaussian window ``exp(-pi t^2 / gamma)`` (samples) relates the phase derivatives of the
frequency-invariant STFT to the log-magnitude ``s``:
``dphi/dt = (1 / gamma) ds/domega + 2 pi omega`` and ``dphi/domega = -gamma ds/dt`` (``omega`` in
cycles per sample); a Hann window of ``L`` samples is close to ``gamma = 0.25645 L^2``. Integration
starts at the loudest bin and always grows from the loudest bin reached (a max-heap), so the phase
is integrated where the estimates are most reliable.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

HANN_GAMMA = 0.25645
"""``gamma / L^2`` of the Gaussian closest to a Hann window of ``L`` samples (Průša et al., 2017)."""


@dataclass(frozen=True)
class PhaseReconstructionConfig:
    """``iterations`` of fast Griffin-Lim (momentum ``momentum``) after PGHI; bins quieter than
    ``tolerance`` x the loudest get zero phase and no integration."""

    iterations: int = 16
    momentum: float = 0.99
    tolerance: float = 1e-5

    def __post_init__(self) -> None:
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must be in (0, 1), got {self.tolerance}")


def _integrate(log_mag: np.ndarray, step_time: np.ndarray, step_freq: np.ndarray, floor: float) -> np.ndarray:
    """Heap integration of the per-frame (``step_time``) and per-bin (``step_freq``) phase
    increments ``[F, T]``, loudest first; bins below ``floor`` keep phase 0."""
    bins, frames = log_mag.shape
    phase = np.zeros((bins, frames))
    done = log_mag < floor
    # a binary min-heap of (-log-magnitude, bin * frames + frame) in two preallocated arrays (every
    # bin enters at most once); ties go to the lower index, as tuples (-log-magnitude, bin, frame) would
    keys = np.empty(bins * frames)
    items = np.empty(bins * frames, dtype=np.int64)
    moves = ((0, 1), (0, -1), (1, 0), (-1, 0))  # next frame, previous frame, bin above, bin below
    # islands grow from their loudest bin, loudest island first; the one from the loudest bin covers
    # most bins, so only the few it did not reach are sorted for the next starts
    starts = np.array([np.argmax(log_mag)])
    for attempt in range(2):
        if attempt == 1:
            rest = np.flatnonzero(~done.ravel())
            starts = rest[np.argsort(-log_mag.ravel()[rest], kind="mergesort")]
        for start in starts:
            f0, t0 = start // frames, start % frames
            if done[f0, t0]:
                continue
            done[f0, t0] = True  # a new island: its loudest bin has phase 0
            keys[0], items[0], size = -log_mag[f0, t0], start, 1
            while size:
                item = items[0]
                size -= 1
                key, last, node = keys[size], items[size], 0  # sift the last entry down from the root
                while 2 * node + 1 < size:
                    child = 2 * node + 1
                    if child + 1 < size and (keys[child + 1] < keys[child]
                                             or (keys[child + 1] == keys[child] and items[child + 1] < items[child])):
                        child += 1
                    if keys[child] < key or (keys[child] == key and items[child] < last):
                        keys[node], items[node], node = keys[child], items[child], child
                    else:
                        break
                keys[node], items[node] = key, last
                f, t = item // frames, item % frames
                for df, dt in moves:
                    f2, t2 = f + df, t + dt
                    if not (0 <= f2 < bins and 0 <= t2 < frames) or done[f2, t2]:
                        continue
                    if dt:
                        phase[f2, t2] = phase[f, t] + dt * 0.5 * (step_time[f, t] + step_time[f2, t2])
                    else:
                        phase[f2, t2] = phase[f, t] + df * 0.5 * (step_freq[f, t] + step_freq[f2, t2])
                    done[f2, t2] = True
                    key, new, node = -log_mag[f2, t2], f2 * frames + t2, size  # sift it up from a new leaf
                    size += 1
                    while node:
                        parent = (node - 1) // 2
                        if key < keys[parent] or (key == keys[parent] and new < items[parent]):
                            keys[node], items[node], node = keys[parent], items[parent], parent
                        else:
                            break
                    keys[node], items[node] = key, new
    return phase


@cache
def _compiled_integrate():
    """:func:`_integrate` compiled by numba (cached beside this file). numba is imported here, on
    first use, so that commands which never reconstruct a phase do not pay for importing it."""
    import numba

    return numba.njit(cache=True)(_integrate)


def pghi(log_mag: np.ndarray, n_fft: int, hop: int, tolerance: float = 1e-5) -> np.ndarray:
    """Phase ``[F, T]`` (radians) for the natural-log magnitude ``[F, T]`` of a centered Hann STFT
    of ``n_fft`` samples and ``hop`` (``torch.stft``'s phase convention, ``F = n_fft // 2 + 1``)."""
    if log_mag.ndim != 2 or log_mag.shape[0] != n_fft // 2 + 1:
        raise ValueError(f"log-magnitude must be [{n_fft // 2 + 1}, T], got {list(log_mag.shape)}")
    log_mag = np.ascontiguousarray(log_mag, dtype=np.float64)
    gamma = HANN_GAMMA * n_fft**2
    bins = np.arange(log_mag.shape[0])[:, None]
    slope_freq = np.gradient(log_mag, axis=0) if log_mag.shape[0] > 1 else np.zeros_like(log_mag)
    slope_time = np.gradient(log_mag, axis=1) if log_mag.shape[1] > 1 else np.zeros_like(log_mag)
    step_time = hop * n_fft / gamma * slope_freq + 2 * np.pi * hop * bins / n_fft  # radians per frame
    step_freq = -gamma / (hop * n_fft) * slope_time  # radians per bin
    floor = log_mag.max() + np.log(tolerance)
    phase = _compiled_integrate()(log_mag, np.ascontiguousarray(step_time), np.ascontiguousarray(step_freq), floor)
    return phase + np.pi * bins  # frequency-invariant phase -> a window that starts at the frame


def reconstruct(log_mag: torch.Tensor, n_fft: int, hop: int, length: int,
                config: PhaseReconstructionConfig = PhaseReconstructionConfig()) -> torch.Tensor:
    """Waveform ``[B, length]`` from log-magnitudes ``[B, n_fft // 2 + 1, T]`` of a centered Hann STFT:
    PGHI, then ``config.iterations`` of fast Griffin-Lim. Differentiable in the magnitude (the PGHI
    start is not)."""
    window = torch.hann_window(n_fft, dtype=log_mag.dtype, device=log_mag.device)
    magnitude = torch.exp(log_mag)
    start = np.stack([pghi(m, n_fft, hop, config.tolerance) for m in log_mag.detach().cpu().double().numpy()])
    angle = torch.polar(torch.ones_like(magnitude), torch.from_numpy(start).to(magnitude))
    previous = torch.zeros_like(angle)
    for _ in range(config.iterations):
        wav = torch.istft(magnitude * angle, n_fft, hop, window=window, length=length)
        projected = torch.stft(wav, n_fft, hop, window=window, return_complex=True)
        accelerated = projected + config.momentum * (projected - previous)
        previous = projected
        angle = accelerated / accelerated.abs().clamp_min(1e-12)
    return torch.istft(magnitude * angle, n_fft, hop, window=window, length=length)
