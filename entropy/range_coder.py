"""Range coding of integer symbols with integer tables, through ``constriction``.

Symbols are coded in groups of equal table index (one batched ``constriction`` call per table),
so the Python overhead is per table, not per symbol. A value outside its table's support is coded
as the table's escape bin followed, at the end of the call, by an Elias-gamma-like code of the
value in uniform models: any int32 value round-trips exactly.

The decoder must be given the same table indexes in the same order as the encoder. The coder has
no end-of-stream marker (a decoder past the end reads zeros), so :meth:`RangeDecoder.verify`
re-encodes what was decoded and requires the bytes the encoder writes for it, up to the zero bytes
of the final flush that :meth:`RangeEncoder.finish` drops: a payload with bytes left over, one cut
short (its symbols would need more zero bytes than a flush leaves), or one altered so that it
decodes to other symbols is refused.
"""
from __future__ import annotations

import constriction
import numpy as np

from .errors import BitstreamError
from .tables import TableSet

_MAX_MAGNITUDE_BITS = 34  # zigzag of an int32 needs at most 33 bits
_CHUNK_BITS = 16
PROBABILITY_GRID = 2.0**-16  # per-symbol probabilities are snapped to this grid before coding
FLUSH_BYTES = 4  # at most this many trailing zero bytes (the final flush) are dropped from a payload
_queue = constriction.stream.queue
_model = constriction.stream.model


def _table_models(tables: TableSet) -> list:
    """constriction models for each table, built once per :class:`TableSet`."""
    models = tables.__dict__.get("_constriction_models")
    if models is None:
        models = [_model.Categorical(tables.probabilities(i), perfect=False) for i in range(len(tables))]
        tables.__dict__["_constriction_models"] = models
    return models


def _group_by_table(indexes: np.ndarray, num_tables: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable order of the symbols grouped by table, and the group boundaries ``[num_tables + 1]``."""
    if indexes.size and (indexes.min() < 0 or indexes.max() >= num_tables):
        raise ValueError(f"table indexes must lie in [0, {num_tables})")
    key = indexes.astype(np.int16 if num_tables < 2**15 else np.int32)
    order = np.argsort(key, kind="stable")
    bounds = np.zeros(num_tables + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=num_tables), out=bounds[1:])
    return order, bounds


def _chunk_widths(num_bits: np.ndarray) -> list[np.ndarray]:
    """Bit widths of the uniform chunks that carry each escaped magnitude below its top bit."""
    rest = np.maximum(num_bits.astype(np.int64) - 1, 0)
    return [np.clip(rest - j * _CHUNK_BITS, 0, _CHUNK_BITS) for j in range(-(-_MAX_MAGNITUDE_BITS // _CHUNK_BITS))]


class RangeEncoder:
    """Appends symbols to one range-coded byte string."""

    def __init__(self) -> None:
        self._coder = _queue.RangeEncoder()
        self._symbols = 0

    def encode(self, values: np.ndarray, indexes: np.ndarray, tables: TableSet) -> None:
        """Encode integer ``values`` (any shape, int32 range) with table ``indexes`` (same shape)."""
        values = np.asarray(values).reshape(-1)
        indexes = np.asarray(indexes).reshape(-1)
        if values.shape != indexes.shape:
            raise ValueError(f"values {values.shape} and indexes {indexes.shape} differ in size")
        if values.size == 0:
            return
        self._symbols += values.size
        if not np.issubdtype(values.dtype, np.integer):
            raise TypeError(f"values must be integers, got {values.dtype}")
        if values.min() < np.iinfo(np.int32).min or values.max() > np.iinfo(np.int32).max:
            raise ValueError("values must lie in the int32 range")
        order, bounds = _group_by_table(indexes, len(tables))
        values = values.astype(np.int64)
        bins = values - tables.offsets[indexes]
        escape_bin = tables.lengths[indexes] - 1
        escaped = (bins < 0) | (bins >= escape_bin)
        bins = np.where(escaped, escape_bin, bins).astype(np.int32)
        models = _table_models(tables)
        for table in np.flatnonzero(bounds[1:] > bounds[:-1]):
            self._coder.encode(bins[order[bounds[table] : bounds[table + 1]]], models[table])
        if escaped.any():
            self._encode_escapes(values[escaped] - tables.offsets[indexes[escaped]])

    def encode_categorical(self, symbols: np.ndarray, probabilities: np.ndarray) -> None:
        """Encode ``symbols`` ``[n]`` in ``[0, K)``, each with its own distribution ``probabilities``
        ``[n, K]`` computed at coding time (e.g. by a context model over VQ indices); see
        :func:`snap_probabilities` for what makes encoder and decoder agree exactly."""
        symbols = np.asarray(symbols).reshape(-1)
        probabilities = snap_probabilities(probabilities, len(symbols))
        if symbols.size == 0:
            return
        if not np.issubdtype(symbols.dtype, np.integer) or symbols.min() < 0 or symbols.max() >= probabilities.shape[1]:
            raise ValueError(f"categorical symbols must be integers in [0, {probabilities.shape[1]})")
        if probabilities.shape[1] == 1:
            return  # a certain symbol costs nothing
        self._symbols += symbols.size
        self._coder.encode(symbols.astype(np.int32), _model.Categorical(perfect=False), probabilities)

    def _encode_escapes(self, values: np.ndarray) -> None:
        magnitude = np.where(values >= 0, 2 * values, -2 * values - 1)  # zigzag, >= 0
        num_bits = np.zeros(magnitude.shape, dtype=np.int64)
        nonzero = magnitude > 0
        num_bits[nonzero] = np.floor(np.log2(magnitude[nonzero])).astype(np.int64) + 1
        self._coder.encode(num_bits.astype(np.int32), _model.Uniform(_MAX_MAGNITUDE_BITS + 1))
        shift = 0
        for width in _chunk_widths(num_bits):
            rows = width > 0
            if rows.any():
                chunk = (magnitude[rows] >> shift) & ((1 << width[rows]) - 1)
                self._coder.encode(chunk.astype(np.int32), _model.Uniform(), (1 << width[rows]).astype(np.int32))
            shift += _CHUNK_BITS

    def words(self) -> bytes:
        """All coded 32-bit words, little-endian, as the coder flushed them."""
        return self._coder.get_compressed().astype("<u4").tobytes()

    def finish(self) -> bytes:
        """The coded bytes: up to :data:`FLUSH_BYTES` trailing zero bytes dropped (the decoder restores
        them), but at least one byte when anything was coded, so an empty payload never decodes."""
        words = self.words()
        drop = min(len(words) - len(words.rstrip(b"\0")), FLUSH_BYTES, len(words) - (1 if self._symbols else 0))
        return words[: len(words) - drop]


def snap_probabilities(probabilities: np.ndarray, rows: int | None = None) -> np.ndarray:
    """``[n, K]`` probabilities as float64 multiples of :data:`PROBABILITY_GRID` (each at least one
    step, so every symbol stays codable), rows summing to 1 after constriction's own exact rescaling.

    Encoder and decoder agree bit for bit when they pass identical arrays here; a model that computes
    them must do so reproducibly (float64 on one thread, as the ECC latent codec does), since a float
    that differs in its last bit can land on the other side of a grid step."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or (rows is not None and p.shape[0] != rows):
        raise ValueError(f"probabilities must be [n, K]{f' with n = {rows}' if rows is not None else ''}, got {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("probabilities must be finite and non-negative")
    total = p.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("every row of probabilities needs a positive sum")
    steps = np.maximum(np.round(p / total / PROBABILITY_GRID), 1.0)
    return steps * PROBABILITY_GRID


class RangeDecoder:
    """Reads symbols back from a byte string made by :class:`RangeEncoder`."""

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        padded = self._data + b"\0" * (-len(data) % 4)
        self._coder = _queue.RangeDecoder(np.frombuffer(padded, dtype="<u4").astype(np.uint32))
        self._decoded: list[tuple] = []  # (method name, arguments) of every decode call, for verify()

    def verify(self) -> None:
        """Raise :class:`BitstreamError` unless the data is exactly what :class:`RangeEncoder` writes for
        the symbols decoded so far (call after the last symbol)."""
        encoder = RangeEncoder()
        for method, *arguments in self._decoded:
            getattr(encoder, method)(*arguments)
        words, data = encoder.words(), self._data
        dropped = words[len(data):]
        if not (words.startswith(data) and len(dropped) <= FLUSH_BYTES and not dropped.strip(b"\0")
                and (data or not encoder._symbols)):
            raise BitstreamError("payload does not match the symbols decoded from it: corrupt, cut short or extended")

    def decode(self, indexes: np.ndarray, tables: TableSet) -> np.ndarray:
        """Decode one value per entry of ``indexes``; returns int32 values of the same shape."""
        shape = np.shape(indexes)
        indexes = np.asarray(indexes).reshape(-1).astype(np.int64)
        bins = np.empty(indexes.size, dtype=np.int64)
        if indexes.size == 0:
            return bins.astype(np.int32).reshape(shape)
        order, bounds = _group_by_table(indexes, len(tables))
        models = _table_models(tables)
        try:
            for table in np.flatnonzero(bounds[1:] > bounds[:-1]):
                count = int(bounds[table + 1] - bounds[table])
                bins[order[bounds[table] : bounds[table + 1]]] = self._coder.decode(models[table], count)
            values = bins + tables.offsets[indexes]
            escaped = bins == tables.lengths[indexes] - 1
            if escaped.any():
                values[escaped] = self._decode_escapes(int(escaped.sum())) + tables.offsets[indexes[escaped]]
        except BaseException as exc:  # constriction reports malformed data with assorted errors
            if isinstance(exc, (KeyboardInterrupt, BitstreamError)):
                raise
            raise BitstreamError(f"range decoder failed: {exc}") from exc
        if values.min() < np.iinfo(np.int32).min or values.max() > np.iinfo(np.int32).max:
            raise BitstreamError("decoded value outside the int32 range: corrupt stream")
        self._decoded.append(("encode", values.astype(np.int32), indexes, tables))
        return values.astype(np.int32).reshape(shape)

    def decode_categorical(self, probabilities: np.ndarray) -> np.ndarray:
        """Decode one symbol per row of ``probabilities`` ``[n, K]`` (as given to
        :meth:`RangeEncoder.encode_categorical`); returns int32 ``[n]``."""
        given = np.array(probabilities, dtype=np.float64)
        probabilities = snap_probabilities(given)
        if len(probabilities) == 0 or probabilities.shape[1] == 1:
            return np.zeros(len(probabilities), dtype=np.int32)
        try:
            symbols = self._coder.decode(_model.Categorical(perfect=False), probabilities).astype(np.int32)
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, BitstreamError)):
                raise
            raise BitstreamError(f"range decoder failed: {exc}") from exc
        self._decoded.append(("encode_categorical", symbols, given))
        return symbols

    def _decode_escapes(self, count: int) -> np.ndarray:
        num_bits = self._coder.decode(_model.Uniform(_MAX_MAGNITUDE_BITS + 1), count).astype(np.int64)
        magnitude = np.where(num_bits > 0, np.left_shift(1, np.maximum(num_bits - 1, 0)), 0)
        shift = 0
        for width in _chunk_widths(num_bits):
            rows = width > 0
            if rows.any():
                sizes = (1 << width[rows]).astype(np.int32)
                chunk = self._coder.decode(_model.Uniform(), sizes).astype(np.int64)
                magnitude[rows] |= chunk << shift
            shift += _CHUNK_BITS
        return np.where(magnitude % 2 == 0, magnitude // 2, -(magnitude + 1) // 2)
