"""This library's zoo models as harness codecs, one per codec family (``ecc``, ``ecc-mel``): one
operating point per zoo preset of that family."""
from __future__ import annotations

import numpy as np

from .base import HARNESS_RATE, Codec, CodecUnavailable, CodedAudio, resample


class ECCZoo(Codec):
    """The zoo presets of one codec family. ``file_bits`` = the .ecc container (header, length
    prefixes, check bytes); ``payload_bits`` = its sections."""

    def __init__(self, family: str = "ecc") -> None:
        self.name = family
        self.description = f"{family} (this library), zoo models"

    @property
    def points(self) -> dict[str, float]:
        from ecc.zoo import list_models

        return {e.name: e.nominal_kbps for e in list_models() if e.family == self.name}

    def check(self) -> None:
        if not self.points:
            raise CodecUnavailable(f"no {self.name} models installed (add a folder of them with ECC_ZOO_PATH)")

    def version(self, point: str) -> str:
        from ecc.zoo import load_model

        return f"{point} ({load_model(point).weights_hash().hex()})"

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        from ecc.zoo import load_model
        from entropy.bitstream import Bitstream

        model = load_model(point)
        data, _ = model.compress(resample(audio, HARNESS_RATE, model.sample_rate))
        stream = Bitstream.from_bytes(data)
        decoded = model.decompress(data)
        return CodedAudio(resample(decoded, model.sample_rate, HARNESS_RATE), 8 * stream.payload_bytes, 8 * len(data))
