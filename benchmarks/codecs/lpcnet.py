"""LPCNet (FreeDV 1733 b/s mode), bound with ctypes from Debian's ``libcodec2`` (LPCNet and its
trained weights are compiled into it), and LPCNet as a fixed vocoder for experiments.

The codec: 16 kHz, 30 ms frames of 52 bits (1.733 kbps), ``lpcnet_freedv_*`` (prototypes from the
upstream ``lpcnet_freedv.h``, which Debian does not ship). The vocoder: ``lpcnet_dump`` computes the
55 features of each 10 ms frame (18 Bark cepstra, 18 unused, pitch period, pitch correlation, LPC),
``lpcnet_synthesize`` turns them back into 160 samples. Both delay their output by a fixed number of
samples (measured on real speech, see :data:`CODEC_DELAY` and :data:`VOCODER_DELAY`); the adapters
remove it, so decoded and input audio line up sample for sample.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

import numpy as np

from .base import HARNESS_RATE, Codec, CodecUnavailable, CodedAudio

# Input-to-output delays in samples at 16 kHz: the median lag of the decoded log-energy envelope (1 ms
# steps) behind the input's over 20 dev-split files (interquartile range 923-1107 and 426-526; the
# waveform is not a copy of the input, so cross-correlation does not find it)
CODEC_DELAY = 999  # 62.4 ms: lpcnet_enc + lpcnet_dec
VOCODER_DELAY = 442  # 27.6 ms: lpcnet_dump + lpcnet_synthesize
FEATURE_FRAME = 160  # samples per feature frame (10 ms)
NB_FEATURES = 55  # floats per feature frame
_FEATURE_BUFFER = 64  # room beyond NB_FEATURES, in case a build writes more

_P, _F, _S = ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_short)
_SIGNATURES = {  # name: (argtypes, restype)
    "lpcnet_freedv_create": ([ctypes.c_int], _P), "lpcnet_freedv_destroy": ([_P], None),
    "lpcnet_enc": ([_P, _S, ctypes.c_char_p], None), "lpcnet_dec": ([_P, ctypes.c_char_p, _S], None),
    "lpcnet_bits_per_frame": ([_P], ctypes.c_int), "lpcnet_samples_per_frame": ([_P], ctypes.c_int),
    "lpcnet_dump_create": ([], _P), "lpcnet_dump_destroy": ([_P], None), "lpcnet_dump": ([_P, _F, _F], None),
    "lpcnet_create": ([], _P), "lpcnet_destroy": ([_P], None),
    "lpcnet_synthesize": ([_P, _S, _F, ctypes.c_int, ctypes.c_int], None),
}


@functools.lru_cache(maxsize=1)
def library() -> ctypes.CDLL:
    """``libcodec2`` with the LPCNet prototypes set; :class:`CodecUnavailable` if absent."""
    name = ctypes.util.find_library("codec2") or "libcodec2.so.1.0"
    try:
        lib = ctypes.CDLL(name)
        for symbol, (args, result) in _SIGNATURES.items():
            function = getattr(lib, symbol)
            function.argtypes, function.restype = args, result
    except (OSError, AttributeError) as exc:
        raise CodecUnavailable(f"LPCNet needs libcodec2 with LPCNet built in (Debian libcodec2-1.0): {exc}") from exc
    return lib


def _int16(audio: np.ndarray) -> np.ndarray:
    return np.round(np.clip(audio, -1, 1 - 2**-15) * 32768).astype(np.int16)


def _aligned(decoded: np.ndarray, delay: int, length: int) -> np.ndarray:
    """``decoded`` (int16, delayed by ``delay``) as float ``[length]`` lined up with the input."""
    out = decoded[delay : delay + length].astype(np.float32) / 32768
    return np.pad(out, (0, length - len(out)))


class LPCNet(Codec):
    """``payload_bits`` = frames x 52; ``file_bits`` = frames x 7 bytes (each frame padded to whole
    bytes, as FreeDV stores them). Frame by frame: an encoder and a decoder state per file."""

    name = "lpcnet"
    description = "LPCNet FreeDV 1733 b/s (libcodec2), 16 kHz, 30 ms frames"

    @property
    def points(self) -> dict[str, float]:
        return {"1.73k": 52 / 0.030 / 1000}

    def check(self) -> None:
        library()

    def version(self, point: str) -> str:
        return f"freedv-1733 delay {CODEC_DELAY}"

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        lib = library()
        encoder, decoder = lib.lpcnet_freedv_create(0), lib.lpcnet_freedv_create(0)
        try:
            bits, step = lib.lpcnet_bits_per_frame(encoder), lib.lpcnet_samples_per_frame(encoder)
            pcm = _int16(audio)
            pcm = np.concatenate([pcm, np.zeros(-(len(pcm) + CODEC_DELAY) % step + CODEC_DELAY, np.int16)])
            frame, out = ctypes.create_string_buffer(bits), np.zeros(len(pcm), np.int16)
            for i in range(0, len(pcm), step):
                lib.lpcnet_enc(encoder, np.ascontiguousarray(pcm[i : i + step]).ctypes.data_as(_S), frame)
                lib.lpcnet_dec(decoder, frame, out[i : i + step].ctypes.data_as(_S))
        finally:
            lib.lpcnet_freedv_destroy(encoder)
            lib.lpcnet_freedv_destroy(decoder)
        frames = len(pcm) // step
        return CodedAudio(_aligned(out, CODEC_DELAY, len(audio)), frames * bits, frames * 8 * ((bits + 7) // 8))


class LPCNetVocoder:
    """LPCNet as a fixed vocoder: :meth:`features` ``[N]`` -> ``[T, 55]`` (T = ceil(N / 160)),
    :meth:`synthesize` back to ``[T * 160]`` samples at 16 kHz, :meth:`copy_synthesis` both, delay removed."""

    sample_rate = HARNESS_RATE

    def features(self, audio: np.ndarray) -> np.ndarray:
        lib = library()
        pcm = _int16(audio).astype(np.float32)
        pcm = np.concatenate([pcm, np.zeros(-(len(pcm) + VOCODER_DELAY) % FEATURE_FRAME + VOCODER_DELAY, np.float32)])
        dump = lib.lpcnet_dump_create()
        out = np.zeros((len(pcm) // FEATURE_FRAME, _FEATURE_BUFFER), np.float32)
        try:
            for t in range(len(out)):
                frame = np.ascontiguousarray(pcm[t * FEATURE_FRAME : (t + 1) * FEATURE_FRAME])
                lib.lpcnet_dump(dump, frame.ctypes.data_as(_F), out[t].ctypes.data_as(_F))
        finally:
            lib.lpcnet_dump_destroy(dump)
        return out[:, :NB_FEATURES]

    def synthesize(self, features: np.ndarray) -> np.ndarray:
        """``[T, 55]`` -> int16-scaled float samples ``[T * 160]`` (still delayed by :data:`VOCODER_DELAY`)."""
        lib = library()
        net = lib.lpcnet_create()
        out = np.zeros(len(features) * FEATURE_FRAME, np.int16)
        buffer = np.zeros(_FEATURE_BUFFER, np.float32)
        try:
            for t, row in enumerate(features):
                buffer[:NB_FEATURES] = row
                buffer[18:36] = 0  # as lpcnet_dec: the second cepstral block is not used
                lib.lpcnet_synthesize(net, out[t * FEATURE_FRAME :].ctypes.data_as(_S), buffer.ctypes.data_as(_F),
                                      FEATURE_FRAME, 0)
        finally:
            lib.lpcnet_destroy(net)
        return out.astype(np.float32) / 32768

    def copy_synthesis(self, audio: np.ndarray) -> np.ndarray:
        """``[N]`` -> ``[N]``: features, then synthesis, lined up with the input."""
        decoded = self.synthesize(self.features(audio))
        return _aligned(np.round(decoded * 32768).astype(np.int16), VOCODER_DELAY, len(audio))
