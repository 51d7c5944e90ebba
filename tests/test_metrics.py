"""Metrics against known values, delay handling, and NaN-with-reason on failure."""
import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.bdrate import bd_rate, bd_rate_table, rd_front
from benchmarks.metrics import SI_SNR_CAP_DB, align, evaluate

ALL = ["pesq", "pesq_nb", "stoi", "estoi", "si_snr", "mcd", "lsd"]


@pytest.fixture(scope="module")
def speech(sample_paths):
    audio, rate = sf.read(sample_paths[0], dtype="float64")
    return audio, rate


def test_identity_scores(speech):
    x, rate = speech
    scores = evaluate(x, x, rate, ALL)
    assert scores.values["pesq"] == pytest.approx(4.64, abs=0.01)
    assert scores.values["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert scores.values["si_snr"] == SI_SNR_CAP_DB  # infinite SNR, capped
    assert scores.values["mcd"] == 0 and scores.values["lsd"] == 0
    assert not scores.errors


@pytest.mark.parametrize("delay", [37, 400, 1600])
def test_delayed_copy_scores_like_the_original(speech, delay):
    x, rate = speech
    noisy = x + np.random.default_rng(0).normal(size=len(x)) * 0.003
    delayed = np.concatenate([np.zeros(delay), noisy])
    plain = evaluate(x, noisy, rate, ALL)
    shifted = evaluate(x, delayed, rate, ALL)
    assert shifted.delay == delay
    for metric in ALL:
        assert shifted.values[metric] == pytest.approx(plain.values[metric], rel=0.02, abs=0.02), metric


def test_alignment_matches_lengths(speech):
    x, rate = speech
    aligned = align(x, np.concatenate([np.zeros(50), x, np.zeros(999)]), rate)
    assert len(aligned.reference) == len(aligned.degraded) and aligned.delay == 50
    np.testing.assert_array_equal(aligned.reference, aligned.degraded)


def test_failure_is_nan_with_reason(speech):
    x, rate = speech
    scores = evaluate(x, np.zeros_like(x), rate, ["pesq", "si_snr", "stoi"])
    for metric in ("pesq", "si_snr"):
        assert math.isnan(scores.values[metric]) and scores.errors[metric]


def test_unknown_metric_rejected(speech):
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(speech[0], speech[0], speech[1], ["nope"])


def test_visqol_identity_speech_mode(speech):
    x, rate = speech
    scores = evaluate(x, x, rate, ["visqol"])
    assert 4.2 < scores.values["visqol"] <= 5.0
    degraded = evaluate(x, x + np.random.default_rng(1).normal(size=len(x)) * 0.02, rate, ["visqol"])
    assert degraded.values["visqol"] < scores.values["visqol"] - 1


SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "pesq-reference"
REFERENCE = os.environ.get("PESQ_REFERENCE_DIR") or (str(SHARED_REFERENCE) if SHARED_REFERENCE.is_dir() else None)


@pytest.mark.skipif(not REFERENCE, reason="the pesq project's audio/speech.wav and speech_bab_0dB.wav (MIT) are "
                    "read from ../shared/testdata/pesq-reference or PESQ_REFERENCE_DIR; neither is here")
def test_pesq_reference_pair():
    ref, rate = sf.read(Path(REFERENCE) / "speech.wav")
    deg, _ = sf.read(Path(REFERENCE) / "speech_bab_0dB.wav")
    from benchmarks.metrics import pesq_nb, pesq_wb

    assert pesq_wb(ref, deg, rate) == pytest.approx(1.0832, abs=1e-3)
    assert pesq_nb(ref, deg, rate) == pytest.approx(1.6072, abs=1e-3)


@pytest.mark.parametrize("factor", [0.5, 0.8, 1.3, 2.0])
def test_bd_rate_recovers_a_known_rate_factor(factor):
    rates = np.array([1.5, 3.0, 6.0, 12.0, 24.0])
    quality = 1 + np.log(rates)  # any increasing curve
    result = bd_rate(rates, quality, rates * factor, quality)
    assert result.value == pytest.approx((factor - 1) * 100, abs=1e-6)


def test_bd_rate_without_overlap_is_nan_with_reason():
    result = bd_rate([1, 2, 4], [1.0, 1.2, 1.4], [1, 2, 4], [3.0, 3.5, 4.0])
    assert math.isnan(result.value) and "overlap" in result.reason


def test_bd_rate_lower_is_better_metric():
    rates = np.array([2.0, 4, 8, 16])
    distortion = 10 - np.log2(rates)
    assert bd_rate(rates, distortion, rates * 0.5, distortion, higher_is_better=False).value == pytest.approx(-50)


def test_rd_front_drops_dominated_points():
    r, q = rd_front(np.array([4, 1, 2, 8]), np.array([3.0, 1.0, 2.5, 2.9]))
    assert r.tolist() == [1, 2, 4] and q.tolist() == [1.0, 2.5, 3.0]


def test_bd_rate_table_shapes():
    import pandas as pd

    rows = [{"codec": c, "file_kbps": r * f, "pesq": 1 + np.log(r)} for c, f in (("a", 1.0), ("b", 0.5)) for r in (2, 4, 8)]
    table = bd_rate_table(pd.DataFrame(rows), "a", ["pesq"])
    assert table.loc[0, "codec"] == "b" and table.loc[0, "bd_rate_percent"] == pytest.approx(-50)
    with pytest.raises(ValueError, match="anchor"):
        bd_rate_table(pd.DataFrame(rows), "zzz", ["pesq"])
