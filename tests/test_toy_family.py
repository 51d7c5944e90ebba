"""A toy codec family (one conv layer + factorized prior), written with the public interfaces only,
codes to and from a real container that records its family."""
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecc.neural_codec import NeuralCodec, load_codec
from ecc.registry import family, register
from entropy.bitstream import Bitstream
from entropy.factorized import FactorizedPrior
from entropy.latent_codec import LatentCodec, LatentOutput


class FactorizedLatent(LatentCodec):
    """Every latent channel coded with its own learned density; no context."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.prior = FactorizedPrior(channels)

    def forward(self, y, mode="ste", q=None):
        y_hat, likelihood = self.prior(y, "round" if mode == "round" else "noise")
        return LatentOutput(y_hat, {"y": -torch.log2(likelihood).flatten(1).sum(1)}, {"prior": self.aux_loss()})

    def compress(self, encoder, y, q=None):
        return self.prior.compress(encoder, y)

    def decompress(self, decoder, shape, q=None):
        return self.prior.decompress(decoder, shape)


@dataclass(frozen=True)
class ToyConfig:
    sample_rate: int = 16000
    hop: int = 160
    channels: int = 8
    chunk_seconds: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ToyConfig":
        return cls(**d)


@register
class ToyCodec(NeuralCodec):
    family, family_id, config_class = "toy", 200, ToyConfig

    def __init__(self, config: ToyConfig = ToyConfig(), name: str = "toy") -> None:
        super().__init__(config, name)
        self.down = nn.Conv1d(1, config.channels, config.hop, stride=config.hop)
        self.up = nn.ConvTranspose1d(config.channels, 1, config.hop, stride=config.hop)
        self.latent = FactorizedLatent(config.channels)

    def analyse(self, wav):
        return self.down(F.pad(wav, (0, -wav.shape[-1] % self.config.hop)).unsqueeze(1) * 100)

    def synthesize(self, y_hat, samples):
        return self.up(y_hat)[:, 0, :samples] / 100

    def latent_shape(self, samples):
        return self.config.channels, -(-samples // self.config.hop)

    @property
    def frame_samples(self):
        return self.config.hop


def test_toy_family_codes_through_a_container_that_records_it(tmp_path, sample_paths):
    import soundfile as sf

    torch.manual_seed(0)
    model = ToyCodec().eval()
    model.update()
    audio = sf.read(sample_paths[0], dtype="float32")[0][:40000]
    data, recon = model.compress(audio)
    assert Bitstream.from_bytes(data).family == family("toy").id == 200
    model.save(tmp_path / "toy.safetensors")
    loaded = load_codec(tmp_path / "toy.safetensors")
    assert isinstance(loaded, ToyCodec) and loaded.weights_hash() == model.weights_hash()
    np.testing.assert_array_equal(loaded.decompress(data), recon)
    assert recon.shape == audio.shape
