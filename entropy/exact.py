"""Exact evaluation of the networks that feed an entropy model at coding time.

An encoder and a decoder choose a table from numbers their networks compute; if those numbers
differ in one bit between the two sides (another thread count, another machine), the decoder
desynchronizes (cf. CompressAI issues #279/#309). Every such network is therefore evaluated
through :func:`exact`: a float64 copy of the module, run on one thread, whose outputs are snapped
to multiples of :data:`GRID`. Encoder and decoder call the same evaluator on the same (already
snapped or integer) inputs, so they get the same numbers; a float64 rounding difference between
machines would have to land exactly on a grid boundary to matter.

The training path runs the very same modules in float32, so there is no hand-written mirror to
keep in step. Call :func:`reset_exact` (``LatentCodec.update`` does) after changing weights.
"""
from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

GRID = 2.0**-12  # entropy parameters are snapped to multiples of this
_TWIN = "_exact_twin"


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (reproducible float results whatever the thread count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def snap(x: torch.Tensor) -> torch.Tensor:
    """``x`` rounded to the nearest multiple of :data:`GRID`."""
    return torch.round(x / GRID) * GRID


class ExactEvaluator:
    """Calls a float64 twin of ``module`` on one thread without gradients; every tensor output is
    snapped to :data:`GRID`. Inputs may be tensors or NumPy arrays; outputs are float64 tensors
    (a tuple when the module returns one)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = copy.deepcopy(module).double().eval()
        reset_exact(self.module)  # a copied cache would hold stale twins

    def __call__(self, *inputs: torch.Tensor | np.ndarray):
        args = [torch.as_tensor(x, dtype=torch.float64) for x in inputs]
        with torch.no_grad(), single_thread():
            out = self.module(*args)
        return tuple(snap(o) for o in out) if isinstance(out, tuple) else snap(out)


def exact(module: nn.Module) -> ExactEvaluator:
    """The (cached) exact evaluator of ``module``."""
    twin = module.__dict__.get(_TWIN)
    if twin is None:
        twin = module.__dict__[_TWIN] = ExactEvaluator(module)
    return twin


def reset_exact(root: nn.Module) -> None:
    """Drop the cached evaluators of ``root`` and all its submodules (their weights changed)."""
    for module in root.modules():
        module.__dict__.pop(_TWIN, None)
