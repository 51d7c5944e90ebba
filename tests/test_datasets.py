"""The multi-voice corpus recipe: unseen voices held out whole, narrowband and duplicate files skipped,
licenses written beside the data."""
import shutil

import numpy as np
import pandas as pd
import soundfile as sf

from benchmarks.datasets import Corpus, SplitConfig, high_band_db, prepare_speech


def _speech_like(rate: int, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.normal(size=int(rate * seconds))).astype(np.float32)  # white: energy up to rate / 2


def test_high_band_energy_tells_wideband_from_upsampled_narrowband():
    import soxr

    wide = _speech_like(16000, 1.0, 0)
    narrow = soxr.resample(_speech_like(8000, 1.0, 1), 8000, 16000)
    assert high_band_db(wide) > -10 and high_band_db(narrow) < -45


def test_speech_recipe_splits_skips_and_records_licenses(tmp_path):
    root = tmp_path / "klettres"
    for lang, count in (("en", 8), ("de", 3)):
        for i in range(count):
            (root / lang).mkdir(parents=True, exist_ok=True)
            sf.write(root / lang / f"{i}.wav", _speech_like(44100, 0.5, hash((lang, i)) % 1000), 44100)
    sf.write(root / "en" / "narrow.wav", _speech_like(8000, 0.5, 99), 8000)
    shutil.copyfile(root / "en" / "0.wav", root / "en" / "copy.wav")
    notice = tmp_path / "copyright"
    notice.write_text("GPL-2+ notice")
    corpus = Corpus("klettres", "klettres-data", "GPL-2+", (notice,), root)
    manifest = pd.read_csv(prepare_speech(tmp_path / "out", SplitConfig(), jobs=1, corpora=(corpus,)))
    assert set(manifest[manifest.voice == "klettres/de"].split) == {"unseen"}  # a held-out voice
    seen = manifest[manifest.voice == "klettres/en"]
    assert len(seen) == 8 and "unseen" not in set(seen.split)  # narrowband and duplicate skipped
    assert {"train", "dev", "test"} <= set(seen.split)
    assert all((tmp_path / "out" / p).is_file() for p in manifest.path)
    assert sf.info(tmp_path / "out" / manifest.path[0]).samplerate == 16000
    assert "GPL-2+" in (tmp_path / "out" / "LICENSES.md").read_text()
    assert (tmp_path / "out" / "licenses" / f"{tmp_path.name}.copyright").read_text() == "GPL-2+ notice"
