"""Lyra v2 (SoundStream) through its TFLite weights and ``ai-edge-litert``, frame by frame.

The weights directory is a setting (``LYRA_WEIGHTS_DIR`` or the constructor argument); by default
``../shared/baselines/lyra`` beside the project. 16 kHz, 20 ms frames, residual VQ of 4-bit
quantizers: 16 / 30 / 46 quantizers = 3.2 / 6.0 / 9.2 kbps; no header bits.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .base import HARNESS_RATE, Codec, CodecUnavailable, CodedAudio

FRAME = 320
BITS_PER_QUANTIZER = 4
MAX_QUANTIZERS = 46
_FILES = ("soundstream_encoder.tflite", "quantizer.tflite", "lyragan.tflite")
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[2].parent / "shared" / "baselines" / "lyra"


class Lyra(Codec):
    name = "lyra"
    description = "Lyra v2 (SoundStream, TFLite), 16 kHz, 20 ms frames"

    def __init__(self, weights_dir: str | os.PathLike | None = None) -> None:
        self.weights_dir = Path(weights_dir or os.environ.get("LYRA_WEIGHTS_DIR") or DEFAULT_WEIGHTS)

    @property
    def points(self) -> dict[str, float]:
        return {"3.2k": 3.2, "6k": 6.0, "9.2k": 9.2}

    @staticmethod
    def quantizers(kbps: float) -> int:
        return round(kbps * 1000 * FRAME / HARNESS_RATE / BITS_PER_QUANTIZER)

    def check(self) -> None:
        missing = [f for f in _FILES if not (self.weights_dir / f).is_file()]
        if missing:
            raise CodecUnavailable(f"Lyra weights missing in {self.weights_dir}: {', '.join(missing)} "
                                   "(set LYRA_WEIGHTS_DIR to the folder holding the .tflite files)")
        try:
            import ai_edge_litert.interpreter  # noqa: F401
        except ImportError as exc:
            raise CodecUnavailable("Lyra needs the PyPI package ai-edge-litert") from exc

    def _interpreter(self, name: str):
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(self.weights_dir / name), num_threads=1)
        interpreter.allocate_tensors()
        return interpreter

    def _code(self, audio: np.ndarray, point: str) -> CodedAudio:
        count = self.quantizers(self.points[point])
        encoder, quantizer, decoder = (self._interpreter(f) for f in _FILES)
        encode = quantizer.get_signature_runner("encode")
        decode = quantizer.get_signature_runner("decode")
        enc_in, enc_out = encoder.get_input_details()[0]["index"], encoder.get_output_details()[0]["index"]
        dec_in, dec_out = decoder.get_input_details()[0]["index"], decoder.get_output_details()[0]["index"]
        frames = -(-len(audio) // FRAME)
        padded = np.zeros(frames * FRAME, dtype=np.float32)
        padded[: len(audio)] = audio
        out = np.empty_like(padded)
        for i in range(frames):
            encoder.set_tensor(enc_in, padded[i * FRAME : (i + 1) * FRAME].reshape(1, FRAME))
            encoder.invoke()
            features = encoder.get_tensor(enc_out)
            indices = encode(input_frames=features, num_quantizers=np.array(count, dtype=np.int32))["output_0"]
            full = np.full((MAX_QUANTIZERS, 1, 1), -1, dtype=np.int32)
            full[:count] = np.asarray(indices).reshape(-1, 1, 1)[:count]
            dequantized = decode(encoding_indices=full)["output_0"]
            decoder.set_tensor(dec_in, dequantized)
            decoder.invoke()
            out[i * FRAME : (i + 1) * FRAME] = decoder.get_tensor(dec_out).reshape(-1)
        bits = frames * count * BITS_PER_QUANTIZER
        return CodedAudio(out, bits, bits)
