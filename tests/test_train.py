"""Training: a few steps, a checkpoint, resuming where it stopped, export to a coding-ready model."""
import json
import re
from dataclasses import replace

import numpy as np
import pytest
import torch

from ecc.codec import ECCCodec, ECCConfig
from ecc.train import TrainConfig, export, learning_rate, load_matching, scale_latent, train
from ecc.transforms.conv import ConvTransformConfig
from entropy.ecc_latent import ECCLatentConfig

TINY = ECCConfig(transform=ConvTransformConfig(hidden=32, latent=16, blocks=1),
                 latent=ECCLatentConfig(latent=16, hyper=4, hidden=32))


def test_train_resume_and_export(tmp_path, sample_paths, capsys):
    config = TrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=3, batch=2,
                         checkpoint_every=3, model=TINY)
    last = train(config)
    state = torch.load(last, weights_only=True)
    assert state["step"] == 3
    assert json.loads((tmp_path / "run" / "train_config.json").read_text())["batch"] == 2
    train(replace(config, steps=5, checkpoint_every=5))
    assert "resumed" in capsys.readouterr().out
    assert torch.load(last, weights_only=True)["step"] == 5
    model = export(last, tmp_path / "m.safetensors", "tiny-test", nominal_kbps=1.0)
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["step"] == 5 and record["train_config"]["steps"] == 5 and "ecc train --config" in record["command"]
    loaded = ECCCodec.load(tmp_path / "m.safetensors")
    assert loaded.weights_hash() == model.weights_hash() and record["weights_hash"] == model.weights_hash().hex()
    audio = np.random.default_rng(0).normal(size=8000).astype(np.float32) * 0.1
    data, recon = loaded.compress(audio)
    np.testing.assert_array_equal(model.decompress(data), recon)


def test_training_is_deterministic(tmp_path, sample_paths):
    runs = []
    for name in ("a", "b"):
        config = TrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / name), steps=2, batch=2,
                             checkpoint_every=2, model=TINY, seed=7)
        runs.append(torch.load(train(config), weights_only=True)["state"])
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key


def test_learning_rate_is_constant_or_a_cosine_from_lr_to_lr_end():
    constant = TrainConfig(steps=100, lr=3e-4)
    assert {learning_rate(constant, s) for s in (0, 50, 99, 100)} == {3e-4}
    decayed = replace(constant, lr_end=1e-5)
    rates = [learning_rate(decayed, s) for s in range(101)]
    assert rates[0] == 3e-4 and abs(rates[100] - 1e-5) < 1e-12
    assert abs(rates[50] - (3e-4 + 1e-5) / 2) < 1e-12
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert learning_rate(decayed, 150) == rates[100]  # past the end: stays at lr_end


def test_load_matching_skips_other_shapes_and_reinit_prefixes():
    source = ECCCodec(TINY)
    target = ECCCodec(replace(TINY, latent=replace(TINY.latent, temporal=0)))
    fresh = load_matching(target, source.state_dict(), reinit=("latent.slices.lrp",))
    assert any(k.startswith("latent.slices.params.0.") for k in fresh)  # input width differs without temporal context
    assert any(k.startswith("latent.slices.lrp.") for k in fresh)
    assert not any(k.startswith("encoder.") for k in fresh)
    assert torch.equal(target.encoder.net[0].weight, source.encoder.net[0].weight)


def test_scale_latent_keeps_the_transform_and_rescales_the_latent():
    torch.manual_seed(0)
    model = ECCCodec(TINY).eval()
    spec = model.stft.analysis(torch.randn(1, 8000) * 0.1)
    with torch.no_grad():
        y = model.encoder(spec)
        out = model.decoder(y)
        z = model.latent.hyperprior._analyse(y)
        scale_latent(model, 4.0)
        y4 = model.encoder(spec)
        torch.testing.assert_close(y4, 4 * y)
        torch.testing.assert_close(model.decoder(y4), out)
        torch.testing.assert_close(model.latent.hyperprior._analyse(y4), z)


def test_exported_model_is_found_through_ecc_zoo_path(tmp_path, sample_paths, monkeypatch):
    from ecc import zoo

    config = TrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=1, batch=2, model=TINY)
    (tmp_path / "mine").mkdir()
    export(train(config), tmp_path / "mine" / "my-model.safetensors", "my-model", nominal_kbps=42.0)
    assert "my-model" not in [e.name for e in zoo.list_models()]
    monkeypatch.setenv("ECC_ZOO_PATH", str(tmp_path / "mine"))
    found = zoo.entry("my-model")
    assert found.nominal_kbps == 42.0 and found.checkpoint == tmp_path / "mine" / "my-model.safetensors"
    assert zoo.load_model.__wrapped__("my-model").name == "my-model"


def test_ecc_zoo_path_shadows_a_shipped_name_with_a_warning(tmp_path, sample_paths, monkeypatch):
    """A model of one's own under a shipped name is the one used (ECC_ZOO_PATH first), it says so,
    and files of the shadowed shipped model still find it by hash."""
    from ecc import zoo

    shipped = zoo.entry(zoo.DEFAULT_MODEL)
    config = TrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / "run"), steps=1, batch=2, model=TINY)
    (tmp_path / "mine").mkdir()
    mine = tmp_path / "mine" / f"{zoo.DEFAULT_MODEL}.safetensors"
    export(train(config), mine, zoo.DEFAULT_MODEL, nominal_kbps=42.0)
    monkeypatch.setenv("ECC_ZOO_PATH", str(tmp_path / "mine"))
    with pytest.warns(UserWarning, match=re.escape(f"{zoo.DEFAULT_MODEL}: {mine} is used, not {shipped.checkpoint}")):
        found = zoo.entry(zoo.DEFAULT_MODEL)
    assert found.checkpoint == mine and found.nominal_kbps == 42.0
    assert zoo.load_model_by_hash(bytes.fromhex(shipped.record["weights_hash"])).weights_hash().hex() \
        == shipped.record["weights_hash"]


def test_fine_tune_takes_the_architecture_of_its_init(tmp_path, sample_paths):
    data = str(sample_paths[0].parent)
    first = train(TrainConfig(data=data, out=str(tmp_path / "a"), steps=1, batch=2, model=TINY))
    tuned = train(TrainConfig(data=data, out=str(tmp_path / "b"), steps=1, batch=2, init_from=str(first),
                              latent_gain=2.0))
    assert ECCConfig.from_dict(torch.load(tuned, weights_only=True)["config"]) == TINY
    assert json.loads((tmp_path / "b" / "train_config.json").read_text())["model"]["latent"]["latent"] == 16


def test_adversarial_training_is_deterministic_and_resumes_its_discriminator(tmp_path, sample_paths):
    from ecc.discriminator import AdversarialConfig

    small = AdversarialConfig(fft_sizes=(64,), hidden=8, layers=2)
    states = []
    for name in ("a", "b"):
        config = TrainConfig(data=str(sample_paths[0].parent), out=str(tmp_path / name), steps=2, batch=2,
                             checkpoint_every=2, model=TINY, seed=3, adversarial=small)
        states.append(torch.load(train(config), weights_only=True))
    first, second = (s["discriminator"]["models"][0] for s in states)
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    resumed = torch.load(train(replace(config, steps=3, checkpoint_every=3)), weights_only=True)
    assert resumed["step"] == 3
    assert resumed["discriminator"]["optimizer"]["state"][0]["step"] == 3  # 2 before the resume, 1 after
