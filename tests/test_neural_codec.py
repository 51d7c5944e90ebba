"""The shared coding machinery: exact evaluation over every ECC switch combination, the container's
family and operating point, legacy files, float16 model files and variable-rate coding."""
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from ecc.codec import ECCCodec, ECCConfig
from ecc.neural_codec import load_codec
from ecc.train import init_rate_gains
from ecc.transforms.conv import ConvTransformConfig
from entropy.bitstream import OPERATING_POINT_STEPS, Bitstream
from entropy.ecc_latent import ECCLatentCodec, ECCLatentConfig
from entropy.errors import BitstreamError
from entropy.range_coder import RangeDecoder, RangeEncoder

LEGACY = Path(__file__).parent / "data" / "legacy"
TINY = ECCConfig(transform=ConvTransformConfig(hidden=32, latent=16, blocks=1),
                 latent=ECCLatentConfig(latent=16, hyper=4, hidden=32), chunk_seconds=1.0)


class RecordingEncoder(RangeEncoder):
    """Logs every call's symbols and table indexes."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[np.ndarray, np.ndarray]] = []

    def encode(self, values, indexes, tables):
        self.log.append((np.asarray(values).ravel().astype(np.int64), np.asarray(indexes).ravel().copy()))
        super().encode(values, indexes, tables)


class RecordingDecoder(RangeDecoder):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.log: list[tuple[np.ndarray, np.ndarray]] = []

    def decode(self, indexes, tables):
        values = super().decode(indexes, tables)
        self.log.append((np.asarray(values).ravel().astype(np.int64), np.asarray(indexes).ravel().copy()))
        return values


@pytest.mark.parametrize("temporal,skip,lrp", list(itertools.product((0, 2), (None, 0.5), (False, True))))
def test_every_switch_combination_codes_identical_symbols_and_tables(temporal, skip, lrp):
    """Encoder on 2 threads, decoder on 1: the same symbols with the same tables, call by call."""
    torch.manual_seed(5)
    codec = ECCLatentCodec(ECCLatentConfig(latent=16, hyper=4, hidden=32, temporal=temporal, skip_scale=skip,
                                           lrp=lrp)).eval()
    codec.update()
    y = torch.randn(2, 16, 60) * 3
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        encoder = RecordingEncoder()
        y_hat = codec.compress(encoder, y)
        torch.set_num_threads(1)
        decoder = RecordingDecoder(encoder.finish())
        decoded = codec.decompress(decoder, tuple(y.shape))
        decoder.verify()
    finally:
        torch.set_num_threads(threads)
    assert len(encoder.log) == len(decoder.log) > 0
    for (sent, sent_tables), (got, got_tables) in zip(encoder.log, decoder.log):
        np.testing.assert_array_equal(sent_tables, got_tables)
        np.testing.assert_array_equal(sent, got)
    assert torch.equal(decoded, y_hat)


@pytest.mark.parametrize("name", ["format1.ecc", "format2.ecc", "format3.ecc"])
def test_legacy_containers_decode_with_a_legacy_model_file(name):
    """Files written before format 4 (one each of formats 1, 2 and 3), by a model saved in the earlier
    .pt layout with the earlier parameter names, decode to what that library's encoder reconstructed."""
    model = load_codec(LEGACY / "tiny-legacy.pt")
    assert model.weights_hash().hex() == "45247fc3"
    stream = Bitstream.from_bytes((LEGACY / name).read_bytes())
    assert stream.family == ECCCodec.family_id and stream.operating_point == 0
    np.testing.assert_array_equal(model.decompress((LEGACY / name).read_bytes()), np.load(LEGACY / "decoded.npy"))


def test_container_refuses_another_family():
    torch.manual_seed(0)
    model = ECCCodec(TINY).eval()
    model.update()
    data, _ = model.compress(np.zeros(3000, dtype=np.float32))
    other = replace(Bitstream.from_bytes(data), family=77).to_bytes()
    with pytest.raises(BitstreamError, match="unknown family 77"):
        model.decompress(other)


def test_float16_model_file_halves_the_weights_and_still_decodes_exactly(tmp_path):
    torch.manual_seed(0)
    model = ECCCodec(TINY).eval()
    model.update()
    model.save(tmp_path / "full.safetensors")
    model.save(tmp_path / "half.safetensors", half=True)
    full, half = ((tmp_path / n).stat().st_size for n in ("full.safetensors", "half.safetensors"))
    float_bytes = sum(4 * v.numel() for v in model.state_dict().values() if v.dtype == torch.float32)
    assert abs((full - half) - float_bytes // 2) < 1024  # coding tables stay int32
    encoder_side, decoder_side = load_codec(tmp_path / "half.safetensors"), load_codec(tmp_path / "half.safetensors")
    assert encoder_side.weights_hash() == decoder_side.weights_hash() != model.weights_hash()
    audio = np.random.default_rng(0).normal(size=20000).astype(np.float32) * 0.1
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        data, recon = encoder_side.compress(audio)
        torch.set_num_threads(1)
        np.testing.assert_array_equal(decoder_side.decompress(data), recon)
    finally:
        torch.set_num_threads(threads)


def test_variable_rate_model_records_and_obeys_its_operating_point():
    torch.manual_seed(0)
    model = ECCCodec(replace(TINY, latent=replace(TINY.latent, rates=3))).eval()
    init_rate_gains(model, (1.0, 4.0, 16.0))
    model.update()
    audio = np.random.default_rng(1).normal(size=20000).astype(np.float32) * 0.1
    with pytest.raises(ValueError, match="variable-rate"):
        model.compress(audio)
    with pytest.raises(ValueError, match="outside"):
        model.at(2.5)
    sizes = []
    for q in (0.0, 1.5, 2.0):
        data, recon = model.at(q).compress(audio)
        assert Bitstream.from_bytes(data).operating_point == round(q * OPERATING_POINT_STEPS)
        np.testing.assert_array_equal(model.decompress(data), recon)  # the container's q, not the model's
        sizes.append(len(data))
    assert sizes[0] < sizes[1] < sizes[2]
    forged = replace(Bitstream.from_bytes(data), operating_point=3 * OPERATING_POINT_STEPS).to_bytes()
    with pytest.raises(BitstreamError, match="operating point 3"):
        model.decompress(forged)


def test_calibrate_places_renamed_presets_at_another_models_rates():
    from benchmarks.variable_rate import calibrate, file_kbps, record_targets

    torch.manual_seed(0)
    model = ECCCodec(replace(TINY, latent=replace(TINY.latent, rates=3))).eval()
    init_rate_gains(model, (1.0, 4.0, 16.0))
    model.update()
    clips = [np.random.default_rng(i).normal(size=16000).astype(np.float32) * 0.1 for i in range(2)]
    low, high = (file_kbps(model.at(q), clips, 2.0) for q in (0.0, 2.0))
    middle = (low * high) ** 0.5
    record = {"presets": [{"name": "ecc-lo", "q": 0.0, "kbps": low}, {"name": "ecc-mid", "q": 1.0, "kbps": middle}]}
    targets = record_targets(record, prefix="ecc-mel")
    assert targets == {"ecc-mel-lo": low, "ecc-mel-mid": middle}
    table, presets = calibrate(model, clips, targets)
    assert [p["name"] for p in presets] == ["ecc-mel-lo", "ecc-mel-mid"]
    trained = table["dev_file_kbps"][:3].tolist()
    upper = next(q for q, k in enumerate(trained) if k >= middle)  # the trained points around the target
    assert presets[0]["q"] == 0.0 and upper - 1 < presets[1]["q"] <= upper
    assert low < presets[1]["kbps"] < high
    assert presets[1]["kbps"] == round(file_kbps(model.at(presets[1]["q"]), clips, 2.0), 3)
    assert len(table) == 3 + 2  # the trained points, then the presets
    # targets beyond the top rate all land on the top point: one preset, the others dropped
    table, presets = calibrate(model, clips, {"a": 2 * high, "b": 3 * high})
    assert presets == [{"name": "a", "q": 2.0, "kbps": round(high, 3)}]
    assert table["preset"].iloc[-1] == "b (dropped: same point as a)"
    with pytest.raises(ValueError, match="no presets"):
        record_targets({"nominal_kbps": 1.5})


def test_extra_targets_join_the_record_s_in_rate_order():
    from benchmarks.variable_rate import with_extra_targets

    targets = {"ecc-mel-1k5": 1.5, "ecc-mel-3k6": 3.7}
    merged = with_extra_targets(targets, ["ecc-mel-3k0=2.9", "ecc-mel-0k4=0.45"])
    assert list(merged.items()) == [("ecc-mel-0k4", 0.45), ("ecc-mel-1k5", 1.5), ("ecc-mel-3k0", 2.9), ("ecc-mel-3k6", 3.7)]
    assert targets == {"ecc-mel-1k5": 1.5, "ecc-mel-3k6": 3.7}
    for bad in ("ecc-mel-3k0", "=2.9", "ecc-mel-3k0=fast"):
        with pytest.raises(ValueError, match="NAME=KBPS"):
            with_extra_targets(targets, [bad])
