"""Data-parallel training across processes (``torchrun --nproc_per_node N``), or a single process.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`setup` then joins the process
group (NCCL when CUDA is available, else gloo) and picks this rank's device. Every rank draws its own
crops (its own sampler seed), gradients are averaged across ranks (DistributedDataParallel for the
main model; :func:`average_gradients` for parameters updated outside its forward pass, such as the
entropy bottleneck's quantiles and the discriminators), and only rank 0 writes checkpoints and logs.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    """This process's place in the run: ``rank`` of ``world`` processes, on ``device``."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def setup(device: str = "auto") -> Context:
    """Join the ``torchrun`` process group if there is one; pick the device (``auto``: this rank's
    CUDA device when available, else the CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    chosen = torch.device(f"cuda:{local}") if cuda else torch.device("cpu" if device == "auto" else device)
    if world > 1 and not dist.is_initialized():
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return Context(rank, world, chosen)


def average_gradients(parameters: Iterable[torch.nn.Parameter], context: Context) -> None:
    """Average the gradients of ``parameters`` over the ranks (no-op in a single process)."""
    if not context.distributed:
        return
    for p in parameters:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= context.world


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 of a module's state (to check that all ranks hold the same weights)."""
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def gather_digests(module: torch.nn.Module, context: Context) -> list[str]:
    """Every rank's :func:`weights_digest`, in rank order (all ranks must call it)."""
    own = weights_digest(module)
    if not context.distributed:
        return [own]
    digests: list[str] = [""] * context.world
    dist.all_gather_object(digests, own)
    return digests


def shutdown(context: Context) -> None:
    if context.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
