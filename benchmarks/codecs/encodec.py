"""Encodec (Défossez et al., 2022), the 24 kHz model, through the model code of the PyPI ``encodec``
package and a checkpoint the user supplies: its released weights (``encodec_24khz-d7cc33bc.th``)
are downloaded at run time, which a machine without internet cannot do. Point ``ENCODEC_CHECKPOINT``
at the file; without it the codec is skipped with that message.

Coding uses Encodec's own file format (``encodec.compress``: a JSON header, then the RVQ codes
bit-packed, 10 bits each, no language model) and decodes it here with the same model instance, since
``encodec.decompress`` would rebuild (and download) the model by name. Input is resampled 16 ->
24 kHz and the output back with soxr. Operating points follow the model's quantizer: ``n_q`` codebooks
of 2^10 entries at 75 frames/s = 0.75 x n_q kbps.

``encodec`` is installed without its dependencies (``scripts/install.sh``): its package lists
torchaudio, which this project cannot install; ``encodec.utils`` imports it at import time but the
model code never calls it, so it is imported here behind a placeholder module that is removed again.
"""
from __future__ import annotations

import io
import os
import sys
import types
from pathlib import Path

import numpy as np

from .base import HARNESS_RATE, Codec, CodecUnavailable, CodedAudio, resample

ENV = "ENCODEC_CHECKPOINT"


def import_encodec() -> types.ModuleType:
    """The ``encodec`` package (see the module docstring for the torchaudio placeholder)."""
    if "encodec" in sys.modules:
        return sys.modules["encodec"]
    placeholder = "torchaudio" not in sys.modules
    if placeholder:
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    try:
        import encodec
        import encodec.binary  # noqa: F401
    except ImportError as exc:
        raise CodecUnavailable(f"Encodec needs the PyPI package encodec (pip install --no-deps encodec einops): {exc}") from exc
    finally:
        if placeholder:
            del sys.modules["torchaudio"]
    return encodec


class Encodec(Codec):
    """``payload_bits`` = frames x codebooks x 10; ``file_bits`` = Encodec's own file (header included)."""

    name = "encodec"
    description = "Encodec 24 kHz (RVQ), user-supplied checkpoint"

    def __init__(self, checkpoint: str | os.PathLike | None = None, model=None) -> None:
        self.checkpoint = Path(checkpoint or os.environ.get(ENV, "")) if (checkpoint or os.environ.get(ENV)) else None
        self._model = model  # a ready EncodecModel (tests pass a randomly initialised one)

    @property
    def model(self):
        if self._model is None:
            self.check()
            import torch

            encodec = import_encodec()
            model = encodec.EncodecModel.encodec_model_24khz(pretrained=False)
            state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
            model.name = "encodec_24khz"  # the architecture its file format names
            self._model = model.eval()
        return self._model

    @property
    def points(self) -> dict[str, float]:
        return {f"{bw:g}k": bw for bw in (1.5, 3.0, 6.0, 12.0, 24.0)}

    def check(self) -> None:
        import_encodec()
        if self._model is None and (self.checkpoint is None or not self.checkpoint.is_file()):
            raise CodecUnavailable(f"Encodec weights not found: set {ENV} to the released encodec_24khz-d7cc33bc.th "
                                   "(Encodec downloads it at run time, which is not possible here)")

    def version(self, point: str) -> str:
        return str(self.checkpoint) if self.checkpoint else "random"

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        import torch

        encodec = import_encodec()
        model = self.model
        model.set_target_bandwidth(self.points[point])
        wav = torch.from_numpy(resample(audio, HARNESS_RATE, model.sample_rate)).float()[None]
        data = encodec.compress(model, wav, use_lm=False)  # the package exports the function
        decoded, codebooks, frames = decode(model, data)
        out = resample(decoded, model.sample_rate, HARNESS_RATE)[: len(audio)]
        return CodedAudio(np.pad(out, (0, len(audio) - len(out))), frames * codebooks * model.bits_per_codebook,
                          8 * len(data))


def decode(model, data: bytes) -> tuple[np.ndarray, int, int]:
    """Decode an Encodec file (no language model, one segment) with ``model``: samples at the model's
    rate, the number of codebooks and of frames."""
    import torch

    binary = import_encodec().binary
    handle = io.BytesIO(data)
    header = binary.read_ecdc_header(handle)
    length, codebooks = int(header["al"]), int(header["nc"])
    if header.get("lm") or model.segment_length or model.normalize:
        raise ValueError("only the 24 kHz model's files without language model are supported")
    frames = int(np.ceil(length / model.sample_rate * model.frame_rate))
    unpacker = binary.BitUnpacker(model.bits_per_codebook, handle)
    codes = torch.zeros(1, codebooks, frames, dtype=torch.long)
    for t in range(frames):
        for k in range(codebooks):
            value = unpacker.pull()
            if value is None:
                raise EOFError("Encodec file ended before its last frame")
            codes[0, k, t] = value
    with torch.no_grad():
        wav = model.decode([(codes, None)])
    return wav[0, 0, :length].numpy(), codebooks, frames
