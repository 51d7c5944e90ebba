"""Speech quality metrics on a reference and a decoded signal, aligned once, in one place.

Every metric takes ``(reference, degraded)`` mono float arrays at ``sample_rate`` after
:func:`align` (delay removed, lengths matched). A metric that fails on a file yields NaN and a
reason, never a silent 0. SI-SNR is capped at ``SI_SNR_CAP_DB`` (identical signals score the cap).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.fft
import scipy.signal
import soxr

SI_SNR_CAP_DB = 100.0
VISQOL_MODE = "speech, lattice model (visqol-python, use_lattice_model=True)"


@dataclass(frozen=True)
class Alignment:
    """``reference`` and ``degraded`` trimmed to their overlap after removing ``delay`` samples
    (positive: the degraded signal lags)."""

    reference: np.ndarray
    degraded: np.ndarray
    delay: int


def estimate_delay(reference: np.ndarray, degraded: np.ndarray, max_delay: int) -> int:
    """Lag (samples, |lag| <= max_delay) maximizing the cross-correlation; positive = degraded lags."""
    n = len(reference) + len(degraded) - 1
    size = scipy.fft.next_fast_len(n)
    corr = scipy.fft.irfft(scipy.fft.rfft(degraded, size) * np.conj(scipy.fft.rfft(reference, size)), size)
    lags = np.concatenate([np.arange(0, max_delay + 1), np.arange(-max_delay, 0)])
    values = corr[lags % size]
    return int(lags[np.argmax(values)])


def align(reference: np.ndarray, degraded: np.ndarray, sample_rate: int, max_delay_s: float = 0.25) -> Alignment:
    """Remove the codec delay from ``degraded`` and trim both signals to the same length."""
    reference = np.asarray(reference, dtype=np.float64)
    degraded = np.asarray(degraded, dtype=np.float64)
    delay = estimate_delay(reference, degraded, int(max_delay_s * sample_rate)) if degraded.any() else 0
    if delay > 0:
        degraded = degraded[delay:]
    elif delay < 0:
        reference = reference[-delay:]
    n = min(len(reference), len(degraded))
    return Alignment(reference[:n], degraded[:n], delay)


def pesq_wb(ref: np.ndarray, deg: np.ndarray, rate: int) -> float:
    from pesq import pesq

    return float(pesq(16000, _at(ref, rate, 16000), _at(deg, rate, 16000), "wb"))


def pesq_nb(ref: np.ndarray, deg: np.ndarray, rate: int) -> float:
    """P.862 narrowband mode on 16 kHz input (the standard's 16 kHz filters), as the pesq project's
    reference test runs it; resampling to 8 kHz first would score the same pair 1.665, not 1.607."""
    from pesq import pesq

    return float(pesq(16000, _at(ref, rate, 16000), _at(deg, rate, 16000), "nb"))


def stoi(ref: np.ndarray, deg: np.ndarray, rate: int) -> float:
    from pystoi import stoi as _stoi

    return float(_stoi(ref, deg, rate, extended=False))


def estoi(ref: np.ndarray, deg: np.ndarray, rate: int) -> float:
    from pystoi import stoi as _stoi

    return float(_stoi(ref, deg, rate, extended=True))


@functools.lru_cache(maxsize=1)
def _visqol_api():
    from visqol import VisqolApi

    api = VisqolApi()
    api.create(mode="speech", use_lattice_model=True)
    return api


def visqol(ref: np.ndarray, deg: np.ndarray, rate: int) -> float:
    """ViSQOL MOS-LQO, speech mode with the lattice model (see ``VISQOL_MODE``), at 16 kHz."""
    result = _visqol_api().measure_from_arrays(_at(ref, rate, 16000), _at(deg, rate, 16000), 16000)
    return float(result.moslqo)


def si_snr(ref: np.ndarray, deg: np.ndarray, rate: int) -> float:
    """Scale-invariant SNR in dB (zero-mean signals), capped at ``SI_SNR_CAP_DB``."""
    ref = ref - ref.mean()
    deg = deg - deg.mean()
    energy = np.dot(ref, ref)
    if energy == 0 or not deg.any():
        raise ValueError("silent reference or decoded signal: SI-SNR undefined")
    target = np.dot(deg, ref) / energy * ref
    noise = deg - target
    noise_energy = np.dot(noise, noise)
    if noise_energy == 0:
        return SI_SNR_CAP_DB
    return float(min(10 * math.log10(np.dot(target, target) / noise_energy), SI_SNR_CAP_DB))


def _power_spectrogram(x: np.ndarray, rate: int) -> np.ndarray:
    n_fft = int(0.032 * rate)
    _, _, spec = scipy.signal.stft(x, rate, nperseg=n_fft, noverlap=n_fft * 3 // 4, boundary=None, padded=False)
    return np.abs(spec) ** 2  # [F, T]


def _active_frames(power: np.ndarray, floor_db: float = -50.0) -> np.ndarray:
    energy = power.sum(axis=0)
    return 10 * np.log10(energy / max(energy.max(), 1e-20) + 1e-20) > floor_db


def log_spectral_distance(ref: np.ndarray, deg: np.ndarray, rate: int) -> float:
    """LSD in dB over the frames where the reference is active (within 50 dB of its peak)."""
    p_ref, p_deg = _power_spectrogram(ref, rate), _power_spectrogram(deg, rate)
    active = _active_frames(p_ref)
    diff = 10 * np.log10(p_ref[:, active] + 1e-10) - 10 * np.log10(p_deg[:, active] + 1e-10)
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=0))))


def mel_cepstral_distortion(ref: np.ndarray, deg: np.ndarray, rate: int, n_mels: int = 40, n_ceps: int = 13) -> float:
    """MCD in dB, ``10 / ln 10 * sqrt(2 * sum_k (c_k - c'_k)**2)`` averaged over the active reference
    frames, with ``c_1..c_12`` the orthonormal DCT-II of the natural-log mel amplitude spectrum
    (``c_0``, the energy, excluded). An MFCC-style MCD: compare values within this harness."""
    from ecc.mel import mel_filterbank

    p_ref, p_deg = _power_spectrogram(ref, rate), _power_spectrogram(deg, rate)
    n_fft = (p_ref.shape[0] - 1) * 2
    fb = mel_filterbank(n_fft, n_mels, rate).numpy().astype(np.float64)
    active = _active_frames(p_ref)

    def cepstra(power: np.ndarray) -> np.ndarray:
        return scipy.fft.dct(0.5 * np.log(fb @ power[:, active] + 1e-10), type=2, norm="ortho", axis=0)[1:n_ceps]

    diff = cepstra(p_ref) - cepstra(p_deg)
    return float(np.mean(10 / math.log(10) * np.sqrt(2 * np.sum(diff**2, axis=0))))


def _at(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    return x if rate == target else soxr.resample(x, rate, target, quality="HQ")


@dataclass(frozen=True)
class Metric:
    """A metric: its function, whether higher is better, and its unit."""

    fn: Callable[[np.ndarray, np.ndarray, int], float]
    label: str
    higher_is_better: bool = True
    unit: str = ""


METRICS: dict[str, Metric] = {
    "pesq": Metric(pesq_wb, "PESQ-WB", unit="MOS-LQO"),
    "pesq_nb": Metric(pesq_nb, "PESQ-NB", unit="MOS-LQO"),
    "stoi": Metric(stoi, "STOI"),
    "estoi": Metric(estoi, "ESTOI"),
    "visqol": Metric(visqol, "ViSQOL (speech, lattice)", unit="MOS-LQO"),
    "si_snr": Metric(si_snr, "SI-SNR", unit="dB"),
    "mcd": Metric(mel_cepstral_distortion, "mel-cepstral distortion", higher_is_better=False, unit="dB"),
    "lsd": Metric(log_spectral_distance, "log-spectral distance", higher_is_better=False, unit="dB"),
}


@dataclass
class Scores:
    """Metric values (NaN where a metric failed, with the reason in ``errors``) and the delay found."""

    values: dict[str, float]
    errors: dict[str, str] = field(default_factory=dict)
    delay: int = 0


def evaluate(reference: np.ndarray, degraded: np.ndarray, sample_rate: int, metrics: list[str]) -> Scores:
    """Align once, then compute each metric in ``metrics`` (names of :data:`METRICS`)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    aligned = align(reference, degraded, sample_rate)
    scores = Scores({}, {}, aligned.delay)
    for name in metrics:
        try:
            value = METRICS[name].fn(aligned.reference, aligned.degraded, sample_rate)
            if not math.isfinite(value):
                raise ValueError(f"non-finite value {value}")
            scores.values[name] = value
        except Exception as exc:  # a metric library failing on one file must not stop a sweep
            scores.values[name] = float("nan")
            scores.errors[name] = f"{type(exc).__name__}: {exc}"
    return scores
