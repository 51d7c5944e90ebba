"""The sweep runner: parallel, cached, resumable; the bench/plot CLI end to end."""
import numpy as np
import pandas as pd
import pytest

from benchmarks.sweep import sweep
from ecc.cli import main


def test_sweep_is_resumable(tmp_path, sample_paths):
    files = sample_paths[:2]
    points = {"codec2": ["3200", "700C"], "opus": ["8k"]}
    first = sweep(files, ["codec2", "opus", "evs"], ["pesq", "si_snr"], tmp_path, jobs=2, points=points, progress=False)
    assert "evs" in first.skipped or "evs" in set(first.per_file["codec"])
    cache_files = sorted(tmp_path.rglob("*.json"))
    assert len(cache_files) == 6
    stamps = [p.stat().st_mtime_ns for p in cache_files]
    second = sweep(files, ["codec2", "opus", "evs"], ["pesq", "si_snr"], tmp_path, jobs=2, points=points, progress=False)
    assert [p.stat().st_mtime_ns for p in sorted(tmp_path.rglob("*.json"))] == stamps  # nothing recomputed
    pd.testing.assert_frame_equal(first.per_file, second.per_file)
    agg = first.aggregate.set_index(["codec", "point"])
    assert agg.loc[("codec2", "3200"), "payload_kbps"] == pytest.approx(3.2, rel=0.02)
    assert agg.loc[("codec2", "3200"), "files"] == 2


def test_sweep_rejects_bad_point(tmp_path, sample_paths):
    with pytest.raises(ValueError, match="unsupported operating point"):
        sweep(sample_paths[:1], ["codec2"], ["pesq"], tmp_path, points={"codec2": ["9999"]}, progress=False)


def test_bench_and_plot_cli(tmp_path, sample_paths, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for p in sample_paths[:2]:
        (data / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "out"
    args = ["bench", str(data), "--codecs", "opus,codec2", "--metrics", "pesq", "--points", "opus=6k,8k,12k",
            "--points", "codec2=3200,1600,700C", "--out", str(out), "--jobs", "2"]
    assert main(args) == 0
    for name in ("per_file.csv", "aggregate.csv", "rd_pesq.png", "rd_pesq.csv", "bd_rate.csv", "README.md"):
        assert (out / name).is_file(), name
    bd = pd.read_csv(out / "bd_rate.csv")
    assert bd.loc[0, "codec"] == "codec2" and "overlap" in bd.loc[0, "note"]  # no overlap: NaN + reason
    (out / "rd_pesq.png").unlink()
    assert main(["plot", str(out / "per_file.csv"), "--out", str(tmp_path / "plots"), "--anchor", "opus,codec2"]) == 0
    assert (tmp_path / "plots" / "rd_pesq.png").is_file()
    both = pd.read_csv(tmp_path / "plots" / "bd_rate.csv")  # each codec against each anchor
    assert list(zip(both["codec"], both["anchor"])) == [("codec2", "opus"), ("opus", "codec2")]
    assert main(["plot", str(out / "per_file.csv"), "--out", str(tmp_path / "plots"), "--anchor", "evs"]) == 1
    assert "anchor codec 'evs'" in capsys.readouterr().err
    assert main(args[:3] + ["codec2", *args[4:6], "--points", "codec2=1200", "--out", str(out), "--update"]) == 0
    merged = pd.read_csv(out / "aggregate.csv")  # opus kept from the first run, codec2 replaced
    assert list(merged["point"]) == ["6k", "8k", "12k", "1200"]
    assert main(["bench", str(data), "--codecs", "nope"]) == 1
    assert "unknown codec" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing.csv")]) == 1


def test_new_codec_version_invalidates_cache(tmp_path, sample_paths, monkeypatch):
    from benchmarks.codecs.codec2 import Codec2

    points = {"codec2": ["3200"]}
    sweep(sample_paths[:1], ["codec2"], ["si_snr"], tmp_path, jobs=1, points=points, progress=False)
    (cached,) = tmp_path.rglob("*.json")
    stamp = cached.stat().st_mtime_ns
    sweep(sample_paths[:1], ["codec2"], ["si_snr"], tmp_path, jobs=1, points=points, progress=False)
    assert cached.stat().st_mtime_ns == stamp
    monkeypatch.setattr(Codec2, "version", lambda self, point: "retrained")
    sweep(sample_paths[:1], ["codec2"], ["si_snr"], tmp_path, jobs=1, points=points, progress=False)
    assert cached.stat().st_mtime_ns != stamp


def test_dask_sweep_equals_the_local_sweep_job_for_job(tmp_path, sample_paths):
    pytest.importorskip("dask.distributed")
    files = sample_paths[:2]
    codecs, metrics = ["opus", "ecc"], ["pesq", "stoi"]
    points = {"opus": ["6k"], "ecc": ["ecc-1k5"]}
    local = sweep(files, codecs, metrics, tmp_path / "local", jobs=2, points=points, progress=False)
    cluster = sweep(files, codecs, metrics, tmp_path / "dask", jobs=2, points=points, progress=False, scheduler="local")
    columns = ["codec", "point", "file", "payload_bits", "file_bits", *metrics]
    pd.testing.assert_frame_equal(local.per_file[columns], cluster.per_file[columns])
    assert len(list((tmp_path / "dask").rglob("*.json"))) == 4  # the same per-job cache, written by the workers


def test_select_files_excludes_by_glob_and_spreads_evenly(tmp_path):
    from benchmarks.cli import select_files

    files = [tmp_path / d / f"{i:02d}.wav" for d in ("a", "b") for i in range(10)]
    kept = select_files(files, tmp_path, ["a/*"], None)
    assert kept == files[10:]
    assert select_files(files, tmp_path, [], 4) == [files[0], files[5], files[10], files[15]]


def test_bench_reports_splits_side_by_side(tmp_path, sample_paths):
    """Two data folders (e.g. seen and unseen speakers): every table has a split column, each split is
    aggregated over its own files, the BD-rate is per split and the plot has one panel per split."""
    for split, clips in (("test", sample_paths[:2]), ("unseen", sample_paths[2:3])):
        (tmp_path / split).mkdir()
        for p in clips:
            (tmp_path / split / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "out"
    assert main(["bench", str(tmp_path / "test"), str(tmp_path / "unseen"), "--codecs", "opus", "--metrics", "stoi",
                 "--points", "opus=6k,12k", "--out", str(out), "--jobs", "2", "--anchor", "opus"]) == 0
    table = pd.read_csv(out / "aggregate.csv")
    assert list(table["split"]) == ["test", "test", "unseen", "unseen"]
    assert list(table["files"]) == [2, 2, 1, 1] and list(table["stoi_files"]) == [2, 2, 1, 1]
    per_file = pd.read_csv(out / "per_file.csv")
    unseen = per_file[(per_file["split"] == "unseen") & (per_file["point"] == "6k")]
    assert table.loc[2, "stoi"] == pytest.approx(unseen["stoi"].mean())
    assert "unseen" in (out / "README.md").read_text() and (out / "rd_stoi.png").is_file()
    assert set(pd.read_csv(out / "rd_stoi.csv")["split"]) == {"test", "unseen"}
    # the same tables from two separately published result sets, drawn side by side by `ecc plot`
    for split in ("test", "unseen"):
        (tmp_path / f"set-{split}").mkdir()
        per_file[per_file["split"] == split].drop(columns="split").to_csv(tmp_path / f"set-{split}" / "per_file.csv",
                                                                           index=False)
    assert main(["plot", str(tmp_path / "set-test" / "per_file.csv"), str(tmp_path / "set-unseen" / "per_file.csv"),
                 "--out", str(tmp_path / "both")]) == 0
    both = pd.read_csv(tmp_path / "both" / "aggregate.csv")
    assert list(both["split"]) == ["set-test", "set-test", "set-unseen", "set-unseen"]
    np.testing.assert_allclose(both["stoi"], table["stoi"])
