"""Reconstruction losses on waveforms ``[B, N]``: multi-resolution STFT and log-mel distances."""
from __future__ import annotations

import torch
from torch import nn

from .mel import mel_filterbank
from .transforms.stft import CompressedSTFT, STFTConfig


def weighted_l1(estimate: torch.Tensor, target: torch.Tensor, overshoot_weight: float = 1.0) -> torch.Tensor:
    """Mean ``|estimate - target|``, errors where ``estimate > target`` weighted ``overshoot_weight``."""
    error = estimate - target
    return torch.where(error > 0, overshoot_weight * error, -error).mean()


def compressed_complex_loss(wav_hat: torch.Tensor, wav: torch.Tensor, n_fft: int = 512, power: float = 0.3) -> torch.Tensor:
    """Mean squared distance per bin of power-law compressed complex spectra ``|X|**power * exp(j angle(X))``
    of waveforms ``[B, N]`` (hop ``n_fft // 4``), as in TF-Codec: unlike the magnitude losses it also scores phase."""
    stft = CompressedSTFT(STFTConfig(n_fft=n_fft, hop=n_fft // 4, power=power)).to(wav.device)
    # real and imaginary parts are separate channels: their mean square is half the mean |difference|^2 per bin
    return 2 * (stft.analysis(wav_hat) - stft.analysis(wav)).square().mean()


class MultiResolutionSTFTLoss(nn.Module):
    """Mean over resolutions of spectral convergence + L1 log-magnitude distance, plus L1 log-mel.

    ``overshoot_weight`` > 1 penalizes energy the decoder adds (log spectrum above the reference) more
    than energy it misses, as PESQ's asymmetric disturbance does: noise filled into spectral valleys
    and pauses is more audible than a missing component of similar size."""

    def __init__(self, fft_sizes: tuple[int, ...] = (256, 512, 1024), n_mels: int = 64, sample_rate: int = 16000,
                 overshoot_weight: float = 1.0) -> None:
        super().__init__()
        self.fft_sizes = fft_sizes
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.overshoot_weight = overshoot_weight

    def forward(self, wav_hat: torch.Tensor, wav: torch.Tensor) -> dict[str, torch.Tensor]:
        stft_loss = wav.new_zeros(())
        mel_loss = wav.new_zeros(())
        for n_fft in self.fft_sizes:
            window = torch.hann_window(n_fft, device=wav.device)
            mags = [torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True).abs() for x in (wav_hat, wav)]
            mag_hat, mag = (m.clamp_min(1e-7) for m in mags)
            convergence = torch.linalg.norm(mag - mag_hat, dim=(1, 2)) / torch.linalg.norm(mag, dim=(1, 2)).clamp_min(1e-7)
            stft_loss = stft_loss + convergence.mean() + weighted_l1(mag_hat.log(), mag.log(), self.overshoot_weight)
            fb = mel_filterbank(n_fft, self.n_mels, self.sample_rate).to(wav.device)
            mel_loss = mel_loss + weighted_l1(torch.log(fb @ mag_hat + 1e-5), torch.log(fb @ mag + 1e-5),
                                              self.overshoot_weight)
        n = len(self.fft_sizes)
        return {"stft": stft_loss / n, "mel": mel_loss / n}
