"""The copy-synthesis benchmark's vocoder runs (benchmarks/copy_synthesis.py)."""
import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from benchmarks.copy_synthesis import vocoders
from benchmarks.mel_distance import frame_average
from ecc.transforms.klt import BlockPCA
from ecc.vocoder import Vocoder, VocoderConfig
from ecc.vocoder_train import VocoderTrainConfig

TINY = VocoderConfig(dim=16, intermediate=32, layers=2)


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    generator = Vocoder(TINY)
    path = tmp_path / "last.pt"
    torch.save({"config": json.dumps(asdict(VocoderTrainConfig(model=TINY))), "state": {"generator": generator.state_dict()},
                "step": 7}, path)
    return path, generator.eval()


def test_one_run_per_block_size_and_averaging_before_the_vocoder(checkpoint):
    path, generator = checkpoint
    runs = vocoders(f"shared={path}", [1, 4])
    assert [label for label, _ in runs] == ["shared (step 7, generated phase)", "shared (step 7, generated phase), log-mel averaged over 4 frames"]
    audio = np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 0.1
    wav = torch.from_numpy(audio)[None]
    with torch.no_grad():
        plain = generator.copy_synthesis(wav)[0].numpy()
        averaged = generator(frame_average(generator.analysis(wav), 4), 4000)[0].numpy()
    np.testing.assert_allclose(runs[0][1](audio), plain, atol=1e-6)
    np.testing.assert_allclose(runs[1][1](audio), averaged, atol=1e-6)
    assert np.abs(averaged - plain).max() > 1e-4  # the averaging changed what the vocoder heard


def test_a_pca_view_is_fit_on_the_given_files_and_runs_before_the_vocoder(checkpoint, sample_paths):
    from ecc.audio import load_audio

    path, generator = checkpoint
    runs = vocoders(f"shared={path}", [], [(2, 8)], sample_paths)
    assert [label for label, _ in runs] == ["shared (step 7, generated phase), log-mel blocks of 2 frames through 8 principal components"]
    with torch.no_grad():
        mels = [generator.analysis(torch.from_numpy(load_audio(p).samples)[None]) for p in sample_paths]
        pca = BlockPCA.fit(mels, 2, 8)
        audio = load_audio(sample_paths[0]).samples
        wav = torch.from_numpy(audio)[None]
        expected = generator(pca(generator.analysis(wav)), wav.shape[-1])[0].numpy()
    np.testing.assert_allclose(runs[0][1](audio), expected, atol=1e-6)


def test_an_exported_vocoder_runs_with_the_phase_it_was_exported_with(checkpoint, tmp_path):
    _, generator = checkpoint
    reconstructed = generator.with_phase("reconstructed", 2)
    reconstructed.save(tmp_path / "vocoder.safetensors", {"step": 7})
    runs = vocoders(f"shared={tmp_path / 'vocoder.safetensors'}", [1])
    assert [label for label, _ in runs] == ["shared (step 7, reconstructed phase)"]
    audio = np.random.default_rng(1).standard_normal(4000).astype(np.float32) * 0.1
    with torch.no_grad():
        expected = reconstructed.copy_synthesis(torch.from_numpy(audio)[None])[0].numpy()
        generated = generator.copy_synthesis(torch.from_numpy(audio)[None])[0].numpy()
    np.testing.assert_allclose(runs[0][1](audio), expected, atol=1e-5)
    assert np.abs(expected - generated).max() > 1e-4  # the phase source changed the audio


@pytest.mark.parametrize("spec, blocks, pca, message", [("hifigan", [1], [], "unknown vocoder"),
                                                        ("shared=", [1], [], "unknown vocoder"),
                                                        ("shared=x.pt", [0], [], "block sizes"),
                                                        ("shared=x.pt", [1], [(4, 0)], "PCA shapes"),
                                                        ("shared=x.pt", [1], [(4, 8)], "needs files")])
def test_bad_specs_are_named(spec, blocks, pca, message):
    with pytest.raises(ValueError, match=message):
        vocoders(spec, blocks, pca)
