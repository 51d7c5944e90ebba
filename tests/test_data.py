"""CropSampler: crops drawn per corpus in proportion to duration x weight."""
import numpy as np
import pytest
import soundfile as sf

from ecc.data import CropSampler

SR = 16000


@pytest.fixture
def corpora(tmp_path):
    """Two corpora: "a" (1 s at level 0.5) and "b" (3 s at level 0.25), one file each."""
    for name, level, seconds in (("a", 0.5, 1), ("b", 0.25, 3)):
        (tmp_path / name).mkdir()
        sf.write(tmp_path / name / "x.wav", np.full(SR * seconds, level, np.float32), SR)
    return tmp_path


def share_of_a(sampler: CropSampler, batches: int = 50) -> float:
    crops = np.concatenate([sampler.batch(64).numpy() for _ in range(batches)])
    return float(np.mean(crops[:, 0] == 0.5))


def test_unweighted_crops_follow_duration_and_the_unweighted_stream(corpora):
    sampler = CropSampler(str(corpora), SR, 1600, seed=3)
    reference = np.random.default_rng(3)
    start = int(reference.integers(0, len(sampler.audio) - 1600))
    np.testing.assert_array_equal(sampler.batch(1)[0].numpy(), sampler.audio[start:start + 1600])
    assert share_of_a(sampler) == pytest.approx(0.25, abs=0.05)


def test_weights_scale_a_corpus_share_and_keep_crops_inside_it(corpora):
    sampler = CropSampler(str(corpora), SR, 1600, seed=3, weights={"a": 9.0})
    assert share_of_a(sampler) == pytest.approx(0.75, abs=0.05)  # 1 s x 9 against 3 s x 1
    crops = np.concatenate([sampler.batch(64).numpy() for _ in range(20)])
    assert np.all((crops == 0.5).all(axis=1) | (crops == 0.25).all(axis=1))  # no crop crosses corpora


def test_bad_weights_are_refused(corpora):
    with pytest.raises(ValueError, match="not subfolders"):
        CropSampler(str(corpora), SR, 1600, seed=0, weights={"c": 2.0})
    with pytest.raises(ValueError, match=">= 0"):
        CropSampler(str(corpora), SR, 1600, seed=0, weights={"a": -1.0})
    with pytest.raises(ValueError, match="nothing to draw"):
        CropSampler(str(corpora), SR, 1600, seed=0, weights={"a": 0.0, "b": 0.0})
