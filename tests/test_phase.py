"""Phase reconstruction from STFT magnitude (ecc/phase.py) and the vocoder's reconstructed-phase mode."""
import numpy as np
import pytest
import torch

from ecc.audio import load_audio
from ecc.phase import PhaseReconstructionConfig, pghi, reconstruct
from ecc.vocoder import Vocoder, VocoderConfig

N_FFT, HOP = 640, 160
WINDOW = torch.hann_window(N_FFT)


def stft(wav: torch.Tensor) -> torch.Tensor:
    return torch.stft(wav, N_FFT, HOP, window=WINDOW, return_complex=True)


def spectral_convergence(wav: torch.Tensor, target: torch.Tensor) -> float:
    """||(|STFT(wav)| - |target|)|| / ||target||: 0 when the magnitudes agree."""
    return float((stft(wav).abs() - target.abs()).norm() / target.abs().norm())


@pytest.fixture(scope="module")
def speech(sample_paths) -> torch.Tensor:
    return torch.from_numpy(load_audio(sample_paths[0], 16000).samples)[None]


def test_pghi_alone_nearly_restores_a_speech_magnitude(speech):
    target = stft(speech)
    log_mag = torch.log(target.abs() + 1e-5)
    rebuilt = reconstruct(log_mag, N_FFT, HOP, speech.shape[-1], PhaseReconstructionConfig(iterations=0))
    zero_phase = torch.istft(target.abs().to(torch.complex64), N_FFT, HOP, window=WINDOW, length=speech.shape[-1])
    assert spectral_convergence(rebuilt, target) < 0.1 < 0.5 < spectral_convergence(zero_phase, target)
    # the sign convention matters: the other sign of the time derivative is far worse
    flipped = np.conj(np.exp(1j * pghi(log_mag[0].double().numpy(), N_FFT, HOP)))
    wrong = torch.istft(target.abs()[0] * torch.from_numpy(flipped).to(torch.complex64), N_FFT, HOP,
                        window=WINDOW, length=speech.shape[-1])
    assert spectral_convergence(wrong[None], target) > 2 * spectral_convergence(rebuilt, target)


def test_islands_apart_from_the_loudest_one_are_integrated_too(speech):
    """Speech, digital silence, then the same speech quieter: the silence splits the plane into
    islands; the second (and each smaller one) must get its own integration, not zero phase."""
    gap = torch.zeros(1, 4 * N_FFT)
    wav = torch.cat([speech, gap, 0.3 * speech], dim=-1)
    target = stft(wav)
    rebuilt = reconstruct(torch.log(target.abs() + 1e-7), N_FFT, HOP, wav.shape[-1],
                          PhaseReconstructionConfig(iterations=0, tolerance=1e-4))
    second = slice(-speech.shape[-1] + N_FFT, None)
    quiet = stft(0.3 * speech[:, N_FFT:])
    assert spectral_convergence(rebuilt[:, second], quiet) < 0.15


def test_griffin_lim_iterations_refine_the_pghi_start(speech):
    target = stft(speech)
    log_mag = torch.log(target.abs() + 1e-5)
    errors = [spectral_convergence(reconstruct(log_mag, N_FFT, HOP, speech.shape[-1],
                                               PhaseReconstructionConfig(iterations=n)), target) for n in (0, 4, 16)]
    assert errors[0] > errors[1] > errors[2]


def test_an_impulse_comes_back_at_its_place():
    click = torch.zeros(1, 8000)
    click[0, 3001] = 1.0
    log_mag = torch.log(stft(click).abs() + 1e-7)
    rebuilt = reconstruct(log_mag, N_FFT, HOP, 8000, PhaseReconstructionConfig(iterations=0))
    assert abs(int(rebuilt.abs().argmax()) - 3001) <= 3


def test_reconstruction_is_deterministic_and_batched(speech):
    log_mag = torch.log(stft(torch.cat([speech, 0.5 * speech])).abs() + 1e-5)
    first = reconstruct(log_mag, N_FFT, HOP, speech.shape[-1])
    assert first.shape == (2, speech.shape[-1])
    torch.testing.assert_close(reconstruct(log_mag, N_FFT, HOP, speech.shape[-1]), first, rtol=0, atol=0)
    single = reconstruct(log_mag[1:], N_FFT, HOP, speech.shape[-1])
    torch.testing.assert_close(single[0], first[1], rtol=0, atol=1e-6)


def test_bad_shapes_and_settings_are_refused():
    with pytest.raises(ValueError, match=r"must be \[321, T\]"):
        pghi(np.zeros((100, 5)), N_FFT, HOP)
    with pytest.raises(ValueError, match="iterations"):
        PhaseReconstructionConfig(iterations=-1)
    with pytest.raises(ValueError, match="momentum"):
        PhaseReconstructionConfig(momentum=1.0)
    with pytest.raises(ValueError, match="phase must be one of"):
        VocoderConfig(phase="random")


def test_vocoder_reconstructed_mode_uses_the_same_weights_and_survives_a_file(tmp_path):
    tiny = VocoderConfig(dim=16, intermediate=32, layers=2)
    vocoder = Vocoder(tiny).eval()
    rebuilding = vocoder.with_phase("reconstructed", griffin_lim_iterations=2)
    assert rebuilding.config.phase == "reconstructed" and rebuilding.config.griffin_lim_iterations == 2
    for key, value in vocoder.state_dict().items():
        assert torch.equal(value, rebuilding.state_dict()[key])
    mel = torch.randn(1, 80, 12)
    with torch.no_grad():
        log_mag, _ = vocoder.spectrum(mel)
        expected = reconstruct(log_mag, tiny.n_fft, tiny.mel.hop, 1760, PhaseReconstructionConfig(iterations=2))
        torch.testing.assert_close(rebuilding(mel, 1760), expected)
        assert not torch.allclose(vocoder(mel, 1760), expected)  # the generated phase is another waveform
    rebuilding.save(tmp_path / "v.safetensors")
    assert Vocoder.load(tmp_path / "v.safetensors").config == rebuilding.config
