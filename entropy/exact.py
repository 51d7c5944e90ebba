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
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def snap(x: torch.Tensor) -> torch.Tensor:
    """``x`` rounded to the nearest multiple of :data:`GRID`."""
    return torch.round(x / GRID) * GRID


class _MatmulConv1d(nn.Module):
    """A ``Conv1d`` (stride 1, no dilation, one group, zero padding) as one matrix product over its
    windows: torch has no fast CPU kernel for float64 convolutions, and the coding loop calls small
    ones thousands of times. Same convolution, float64 rounding of a matrix product."""

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        out_channels, in_channels, self.kernel = conv.weight.shape
        self.padding = conv.padding[0]
        self.weight = conv.weight.detach().reshape(out_channels, in_channels * self.kernel).T.contiguous()
        self.bias = None if conv.bias is None else conv.bias.detach().clone()

    @staticmethod
    def applies(conv: nn.Module) -> bool:
        return (type(conv) is nn.Conv1d and conv.stride == (1,) and conv.dilation == (1,) and conv.groups == 1
                and isinstance(conv.padding, tuple) and conv.padding_mode == "zeros")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, T] -> [B, O, T + 2 padding - kernel + 1]
        if self.padding:
            x = torch.nn.functional.pad(x, (self.padding, self.padding))
        windows = x.unfold(2, self.kernel, 1).transpose(1, 2).flatten(2)  # [B, T', C * K], channel-major
        out = windows @ self.weight
        return (out if self.bias is None else out + self.bias).transpose(1, 2)


def _fast_convs(module: nn.Module) -> nn.Module:
    """``module`` with every eligible ``Conv1d`` (itself or inside) replaced by :class:`_MatmulConv1d`."""
    if _MatmulConv1d.applies(module):
        return _MatmulConv1d(module)
    for name, child in module.named_children():
        setattr(module, name, _fast_convs(child))
    return module


class ExactEvaluator:
    """Calls a float64 twin of ``module`` on one thread without gradients; every tensor output is
    snapped to :data:`GRID`. Inputs may be tensors or NumPy arrays; outputs are float64 tensors
    (a tuple when the module returns one)."""

    def __init__(self, module: nn.Module) -> None:
        twin = copy.deepcopy(module).double().eval()
        reset_exact(twin)  # a copied cache would hold stale twins
        self.module = _fast_convs(twin)

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
