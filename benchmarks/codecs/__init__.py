"""Codec adapters behind one interface (:class:`~benchmarks.codecs.base.Codec`)."""
from __future__ import annotations

from collections.abc import Callable

from .amrwb import AMRWB
from .base import HARNESS_RATE, Codec, CodecUnavailable, CodedAudio
from .codec2 import Codec2
from .ecc_zoo import ECCZoo
from .encodec import Encodec
from .evs import EVS
from .lpcnet import LPCNet
from .lyra import Lyra
from .opus import Opus
from .speex import SpeexWB

CODECS: dict[str, Callable[[], Codec]] = {
    "opus": Opus,
    "opus-cbr": lambda: Opus(cbr=True),
    "amrwb": AMRWB,
    "codec2": Codec2,
    "speex": SpeexWB,
    "lyra": Lyra,
    "lpcnet": LPCNet,
    "evs": EVS,
    "encodec": Encodec,
    "ecc": ECCZoo,
    "ecc-mel": lambda: ECCZoo("ecc-mel"),
}


def get_codec(name: str) -> Codec:
    """The codec registered as ``name``; ValueError listing the known names otherwise."""
    if name not in CODECS:
        raise ValueError(f"unknown codec {name!r}; known: {', '.join(CODECS)}")
    return CODECS[name]()


__all__ = ["CODECS", "HARNESS_RATE", "Codec", "CodecUnavailable", "CodedAudio", "get_codec"]
