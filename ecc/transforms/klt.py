"""The Karhunen-Loeve transform (PCA) of spectral blocks: the best linear code of a latent shape, and
the starting point of the linear paths of :class:`~ecc.transforms.conv.LinearPathEncoder` /
:class:`~ecc.transforms.conv.LinearPathDecoder`.

A block is ``block`` consecutive frames of a ``[B, bands, T]`` spectrum, flattened frame-major into a
``block * bands`` vector (one latent frame's worth of input).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .conv import LinearPathDecoder, LinearPathEncoder


@dataclass(frozen=True)
class BlockPCA:
    """Each block projected on the first ``dims`` principal components of training blocks and back:
    what a linear latent of ``dims`` channels at one frame per block carries, unquantized."""

    block: int
    mean: torch.Tensor  # [block * bands]
    components: torch.Tensor  # [dims, block * bands], orthonormal rows

    @staticmethod
    def _blocks(spec: torch.Tensor, block: int) -> torch.Tensor:
        """``[B, bands, T]`` -> ``[B * (T // block), block * bands]`` (the whole blocks only)."""
        b, bands, frames = spec.shape
        whole = frames // block * block
        return spec[..., :whole].reshape(b, bands, -1, block).permute(0, 2, 3, 1).reshape(-1, block * bands)

    @classmethod
    def fit(cls, specs: list[torch.Tensor], block: int, dims: int) -> "BlockPCA":
        """Fit on spectra ``[1, bands, T]`` (float64 SVD of the centred blocks)."""
        data = torch.cat([cls._blocks(s, block) for s in specs]).double()
        if dims > min(data.shape):
            raise ValueError(f"{dims} components need at least {dims} blocks of {data.shape[1]} values, got {data.shape[0]}")
        mean = data.mean(0)
        components = torch.linalg.svd(data - mean, full_matrices=False).Vh[:dims]
        return cls(block, mean.float(), components.float())

    def __call__(self, spec: torch.Tensor) -> torch.Tensor:
        """``[B, bands, T]`` -> the same, each whole block replaced by its projection (a last partial
        block is kept as it is)."""
        b, bands, frames = spec.shape
        whole = frames // self.block * self.block
        x = self._blocks(spec, self.block) - self.mean
        rec = (x @ self.components.T @ self.components + self.mean).reshape(b, -1, self.block, bands)
        return torch.cat([rec.permute(0, 3, 1, 2).reshape(b, bands, whole), spec[..., whole:]], dim=-1)

    def conv_weight(self) -> torch.Tensor:
        """The components as a strided conv's weight ``[dims, bands, block]``."""
        dims = self.components.shape[0]
        return self.components.reshape(dims, self.block, -1).permute(0, 2, 1).contiguous()


@torch.no_grad()
def init_linear_paths(encoder: LinearPathEncoder, decoder: LinearPathDecoder, pca: BlockPCA, step: float) -> None:
    """Make the encoder/decoder pair the KLT ``pca`` with quantization step ``step``: the linear
    paths code a block as its component coefficients divided by ``step`` and back; the conv paths'
    output layers are zeroed, so they start adding nothing. The decoder's bias is the mean block
    averaged over its frames (a transposed conv has one bias per band)."""
    weight = pca.conv_weight()
    if weight.shape != encoder.linear.weight.shape or weight.shape != decoder.linear.weight.shape:
        raise ValueError(f"a KLT of shape {tuple(weight.shape)} does not fit linear paths "
                         f"{tuple(encoder.linear.weight.shape)} / {tuple(decoder.linear.weight.shape)}")
    encoder.linear.weight.copy_(weight / step)
    encoder.linear.bias.copy_(-(pca.components @ pca.mean) / step)
    decoder.linear.weight.copy_(weight * step)
    decoder.linear.bias.copy_(pca.mean.reshape(pca.block, -1).mean(0))
    for layer in (encoder.net[-1], decoder.net[-1]):
        layer.weight.zero_()
        layer.bias.zero_()
