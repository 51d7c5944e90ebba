"""Common base of the entropy models: integer tables kept as state-dict buffers."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .range_coder import RangeDecoder, RangeEncoder
from .tables import TableSet


class EntropyModel(nn.Module):
    """An entropy model whose coding tables are built by :meth:`update` and saved with the weights.

    The tables live in three buffers (``_table_counts`` ``[N, L]``, ``_table_lengths`` ``[N]``,
    ``_table_offsets`` ``[N]``), so a checkpoint carries them and an encoder and a decoder that
    load it agree bit for bit, whatever machine or thread count they run on.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("_table_counts", torch.zeros(0, 0, dtype=torch.int32))
        self.register_buffer("_table_lengths", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("_table_offsets", torch.zeros(0, dtype=torch.int32))
        self._tables: TableSet | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_tables"] = None  # a cache holding constriction models, which do not pickle
        return state

    def build_tables(self) -> TableSet:
        """Compute the integer tables from the current parameters (implemented by subclasses)."""
        raise NotImplementedError

    @torch.no_grad()
    def update(self) -> None:
        """Rebuild and store the coding tables; call after training, before saving for coding."""
        tables = self.build_tables()
        self._table_counts = torch.from_numpy(tables.counts.copy())
        self._table_lengths = torch.from_numpy(tables.lengths.copy())
        self._table_offsets = torch.from_numpy(tables.offsets.copy())
        self._tables = None

    @property
    def tables(self) -> TableSet:
        """The stored tables; raises if :meth:`update` was never called."""
        if self._table_lengths.numel() == 0:
            raise RuntimeError(f"{type(self).__name__} has no coding tables: call update() first")
        if self._tables is None:
            self._tables = TableSet(
                self._table_counts.numpy(), self._table_lengths.numpy(), self._table_offsets.numpy()
            )
        return self._tables

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: D401 - torch hook
        # table buffers change shape with update(): resize ours before torch copies into them
        for name in ("_table_counts", "_table_lengths", "_table_offsets"):
            key = prefix + name
            if key in state_dict:
                setattr(self, name, torch.empty_like(state_dict[key]))
        self._tables = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def encode_symbols(self, encoder: RangeEncoder, symbols: torch.Tensor, indexes: torch.Tensor) -> None:
        """Range-code integer ``symbols`` with table ``indexes`` (same shape)."""
        encoder.encode(symbols.numpy().astype(np.int64), indexes.numpy(), self.tables)

    def decode_symbols(self, decoder: RangeDecoder, indexes: torch.Tensor) -> torch.Tensor:
        """Decode one int32 symbol per entry of ``indexes``; same shape."""
        return torch.from_numpy(decoder.decode(indexes.numpy(), self.tables))
