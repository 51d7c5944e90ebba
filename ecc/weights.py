"""Model files: safetensors (no code runs on load) with the family, config and name in the metadata.

Float tensors can be stored as float16 (half the size); they load back as float32. Whatever a file
holds is what both encoder and decoder load, so exact decoding is unaffected (``tests/test_neural_codec.py``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch


def save_weights(path: str | Path, state: dict[str, torch.Tensor], metadata: dict[str, object],
                 half: bool = False) -> None:
    """Write ``state`` with ``metadata`` (values JSON-encoded); ``half``: float32 tensors as float16."""
    from safetensors.torch import save_file

    def stored(t: torch.Tensor) -> torch.Tensor:
        t = t.detach().cpu()
        return (t.half() if half and t.dtype == torch.float32 else t).contiguous()

    save_file({k: stored(v) for k, v in state.items()}, str(path),
              metadata={k: json.dumps(v) for k, v in metadata.items()})
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)  # safetensors creates the file private


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """``(state, metadata)`` of a file written by :func:`save_weights` (float16 tensors as float32);
    ``ValueError`` naming the file if it is not one."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = handle.metadata() or {}
            state = {k: handle.get_tensor(k) for k in handle.keys()}
        metadata = {k: json.loads(v) for k, v in raw.items()}
    except FileNotFoundError:
        raise
    except Exception as exc:  # safetensors raises its own SafetensorError; metadata may not be JSON
        raise ValueError(f"{path}: not a safetensors weights file ({type(exc).__name__}: {exc})") from exc
    return {k: v.float() if v.dtype == torch.float16 else v for k, v in state.items()}, metadata
