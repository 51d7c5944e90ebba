"""ECC codec: the decoder recovers the encoder's latents and audio exactly, across thread counts."""
import numpy as np
import pytest
import torch

from benchmarks.ecc_determinism import check
from ecc.audio import load_audio
from ecc.codec import ECCCodec, ECCConfig
from ecc.transforms.conv import ConvTransformConfig
from ecc.zoo import DEFAULT_MODEL, list_models, load_model, load_model_by_hash
from entropy.errors import BitstreamError
from entropy.ecc_latent import ECCLatentCodec, ECCLatentConfig
from entropy.range_coder import RangeDecoder, RangeEncoder


def tiny_codec(seed: int = 0, **latent) -> ECCCodec:
    torch.manual_seed(seed)
    config = ECCConfig(transform=ConvTransformConfig(hidden=32, latent=16, blocks=1),
                       latent=ECCLatentConfig(latent=16, hyper=4, hidden=32, **latent), chunk_seconds=1.0)
    model = ECCCodec(config, name=f"tiny{seed}").eval()
    model.update()
    return model


@pytest.mark.parametrize("latent", [
    {}, {"slices": 1, "lrp": False, "temporal": 0, "skip_scale": None}, {"skip_scale": 5.0}, {"temporal": 3, "slices": 2},
])
def test_latent_codec_decoder_recovers_every_slice(latent):
    torch.manual_seed(1)
    codec = ECCLatentCodec(ECCLatentConfig(latent=16, hyper=4, hidden=32, **latent)).eval()
    codec.update()
    y = torch.randn(2, 16, 37) * 4
    y[0, 3, 5] = 1e7  # outlier: escape path
    encoder = RangeEncoder()
    y_hat = codec.compress(encoder, y)
    decoded = codec.decompress(RangeDecoder(encoder.finish()), (2, 16, 37))
    assert torch.equal(decoded, y_hat)


def test_skip_reduces_coded_symbols():
    sizes = []
    for skip in (None, 5.0):
        torch.manual_seed(2)
        codec = ECCLatentCodec(ECCLatentConfig(latent=16, hyper=4, hidden=32, skip_scale=skip)).eval()
        codec.update()
        encoder = RangeEncoder()
        codec.compress(encoder, torch.randn(1, 16, 50) * 3)
        sizes.append(len(encoder.finish()))
    assert sizes[1] < sizes[0]


def test_tiny_codec_round_trip_chunked(sample_paths):
    model = tiny_codec()
    audio = load_audio(sample_paths[0]).samples
    data, recon = model.compress(audio)
    assert len(model.open_bitstream(data).sections) == -(-len(audio) // model.chunk_samples)
    np.testing.assert_array_equal(model.decompress(data), recon)
    assert recon.shape == audio.shape


def test_other_model_refused():
    data, _ = tiny_codec(0).compress(np.zeros(4000, dtype=np.float32))
    with pytest.raises(BitstreamError, match="made by model"):
        tiny_codec(1).decompress(data)


def test_checkpoint_round_trip(tmp_path):
    model = tiny_codec()
    model.save(tmp_path / "m.safetensors")
    loaded = ECCCodec.load(tmp_path / "m.safetensors")
    assert loaded.weights_hash() == model.weights_hash()
    data, recon = model.compress(np.random.default_rng(0).normal(size=5000).astype(np.float32) * 0.1)
    np.testing.assert_array_equal(loaded.decompress(data), recon)


def test_zoo_lists_default_and_loads():
    names = [e.name for e in list_models()]
    assert DEFAULT_MODEL in names and len(names) >= 1
    model = load_model(DEFAULT_MODEL)
    assert model.name == DEFAULT_MODEL and load_model_by_hash(model.weights_hash()).weights_hash() == model.weights_hash()


@pytest.mark.parametrize("threads", [(1, 2), (2, 1)])
def test_cross_thread_decoding_matches_encoder(sample_paths, threads):
    """Encode with one thread count and decode with another, in separate processes: identical
    latents (every symbol of every slice) and audio equal to the encoder-side reconstruction."""
    row = check(list_models()[0].name, [str(p) for p in sample_paths], *threads)
    assert row["files"] == len(sample_paths) > 0
    assert row["files_with_identical_latents"] == len(sample_paths)
    assert row["max_abs_audio_diff"] <= 1e-5


def test_coding_engine_matches_training_path():
    """The coding loop (exact float64 evaluation, lanes) computes what the float32 training path does,
    up to the 2^-12 snapping."""
    torch.manual_seed(3)
    codec = ECCLatentCodec(ECCLatentConfig(latent=16, hyper=4, hidden=32, temporal=0, skip_scale=None)).eval()
    codec.update()
    y = torch.randn(1, 16, 60) * 3
    with torch.no_grad():
        reference = codec(y, "round").y_hat
    coded = codec.compress(RangeEncoder(), y)
    close = (coded - reference).abs() < 1e-2
    assert close.float().mean() > 0.99


def test_payload_matches_estimated_bits():
    """Range-coded bytes stay within 2 % (+ a few bytes of flush) of the ideal code length, for latents
    the (untrained) model fits; heavy outliers would go through the escape path instead."""
    torch.manual_seed(4)
    codec = ECCLatentCodec(ECCLatentConfig(latent=16, hyper=4, hidden=32)).eval()
    codec.update()
    y = torch.randn(1, 16, 400) * 0.5
    encoder = RangeEncoder()
    codec.compress(encoder, y)
    payload = 8 * len(encoder.finish())
    estimate = codec.estimate_bits(y)
    assert estimate * 0.98 <= payload <= estimate * 1.02 + 64
