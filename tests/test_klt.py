"""KLT-started linear paths (ecc.transforms.klt, ecc-mel ``linear_path``): the pair codes a block as its
principal-component coefficients over the quantization step and back; the model, its file and its
training start use them."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from ecc.mel_codec import ECCMelCodec, ECCMelConfig
from ecc.neural_codec import load_codec
from ecc.train import TrainConfig, scale_latent, train
from ecc.transforms.conv import ConvTransformConfig, LinearPathDecoder, LinearPathEncoder
from ecc.transforms.klt import BlockPCA, init_linear_paths
from ecc.vocoder import VocoderConfig
from entropy.ecc_latent import ECCLatentConfig

SHAPE = ConvTransformConfig(in_channels=6, hidden=8, latent=5, blocks=1, strides=(2,))
VOCODER = VocoderConfig(dim=16, intermediate=32, layers=2)
LINEAR = ECCMelConfig(transform=ConvTransformConfig(in_channels=80, hidden=32, latent=16, blocks=1),
                      latent=ECCLatentConfig(latent=16, hyper=4, hidden=32, rates=3), vocoder=VOCODER,
                      encoder_input="log_mel", mel_shift=-1.4, mel_scale=2.4, linear_path=True)


def tiled_mean_pca(seed: int) -> BlockPCA:
    """5 orthonormal components of 2 x 6 blocks and a mean that is the same in both frames of a block
    (the one case a per-band decoder bias reproduces exactly)."""
    generator = torch.Generator().manual_seed(seed)
    components = torch.linalg.qr(torch.randn(12, 5, generator=generator)).Q.T.contiguous()
    return BlockPCA(2, torch.randn(6, generator=generator).repeat(2), components)


def test_linear_paths_started_at_a_klt_code_each_block_as_its_coefficients_and_back():
    torch.manual_seed(0)
    encoder, decoder = LinearPathEncoder(SHAPE), LinearPathDecoder(SHAPE)
    pca = tiled_mean_pca(1)
    init_linear_paths(encoder, decoder, pca, step=0.5)
    spec = torch.randn(1, 6, 10)
    with torch.no_grad():
        y = encoder(spec)
        blocks = spec.reshape(6, 5, 2).permute(1, 2, 0).reshape(5, 12)  # [block, frame-major values]
        torch.testing.assert_close(y[0].T, (blocks - pca.mean) @ pca.components.T / 0.5, atol=1e-5, rtol=0)
        torch.testing.assert_close(decoder(y), pca(spec), atol=1e-5, rtol=0)
        assert not encoder.net(spec).any() and not decoder.net(y).any()  # the conv paths start at zero
        assert encoder(spec[..., :9]).shape == (1, 5, 5)  # a partial last block is padded


def test_a_klt_of_another_shape_is_refused():
    with pytest.raises(ValueError, match=r"a KLT of shape \(5, 6, 2\) does not fit linear paths \(4, 6, 2\)"):
        narrow = replace(SHAPE, latent=4)
        init_linear_paths(LinearPathEncoder(narrow), LinearPathDecoder(narrow), tiled_mean_pca(2), 1.0)


def clips(count: int, seconds: float = 1.0) -> list[torch.Tensor]:
    rng = np.random.default_rng(3)
    return [torch.from_numpy((rng.normal(size=int(16000 * seconds)) * 0.1).astype(np.float32))[None]
            for _ in range(count)]


def test_a_klt_started_model_round_trips_through_its_file(tmp_path):
    assert ECCMelConfig.from_dict(json.loads(json.dumps(LINEAR.to_dict()))) == LINEAR
    torch.manual_seed(4)
    model = ECCMelCodec(LINEAR, "klt").eval()
    model.init_klt(clips(3), step=0.5)
    wav = clips(1, 0.7)[0]
    with torch.no_grad():
        mel = model.standardize(model.vocoder.analysis(wav))
        torch.testing.assert_close(model.analyse(wav), model.encoder.linear(torch.nn.functional.pad(mel, (0, 1))))
    model.update()
    model.save(tmp_path / "klt.safetensors")
    bound = load_codec(tmp_path / "klt.safetensors").at(1.0)
    data, recon = bound.compress(wav[0].numpy())
    np.testing.assert_allclose(bound.decompress(data), recon, atol=1e-5)


def test_scale_latent_rescales_the_linear_paths_too():
    torch.manual_seed(5)
    model = ECCMelCodec(LINEAR).eval()
    wav = clips(1, 0.5)[0]
    with torch.no_grad():
        y = model.analyse(wav)
        mel = model.mel(y, 51)
        scale_latent(model, 3.0)
        torch.testing.assert_close(model.analyse(wav), 3 * y, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.mel(3 * y, 51), mel, atol=1e-5, rtol=1e-5)


def test_linear_path_and_klt_step_are_validated():
    with pytest.raises(ValueError, match="linear_path needs encoder_input 'log_mel'"):
        ECCMelConfig(linear_path=True)
    assert ECCMelConfig.from_dict({k: v for k, v in LINEAR.to_dict().items() if k != "linear_path"}).linear_path is False
    with pytest.raises(ValueError, match="this model has no linear path"):
        ECCMelCodec(replace(LINEAR, linear_path=False)).init_klt(clips(1), 1.0)
    with pytest.raises(ValueError, match="klt_step must be positive"):
        TrainConfig(family="ecc-mel", klt_step=0.0)
    with pytest.raises(ValueError, match="cannot be combined with init_from"):
        TrainConfig(family="ecc-mel", klt_step=1.0, init_from="model.safetensors")


def test_training_starts_from_the_klt_of_its_data_and_the_given_rate_gains(tmp_path, sample_paths):
    config = TrainConfig(family="ecc-mel", data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=1,
                         batch=2, crop_seconds=0.5, lr=0.0, model=LINEAR, klt_step=0.5, waveform_weight=0.0,
                         lmbdas=(0.1, 0.05, 0.02), rate_gains=(0.5, 1.0, 2.0), checkpoint_every=1)
    state = torch.load(train(config), weights_only=True)["state"]
    shape = ECCMelCodec(LINEAR)
    for side in ("encoder", "decoder"):  # the conv paths' output layers start (and, at lr 0, stay) at zero
        assert not state[f"{side}.net.{len(getattr(shape, side).net) - 1}.weight"].any()
    assert state["encoder.linear.weight"].abs().sum() > 0
    torch.testing.assert_close(state["latent.gain.log_gain"][:, 0], torch.tensor([0.5, 1.0, 2.0]).log())
