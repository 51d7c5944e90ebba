"""Exact round trips of the table range coder, outliers and edge cases included."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entropy.errors import BitstreamError
from entropy.range_coder import RangeDecoder, RangeEncoder
from entropy.tables import PMF_PRECISION, TableSet, quantize_pmf


def random_tables(rng: np.random.Generator, count: int) -> TableSet:
    tables = [quantize_pmf(rng.random(rng.integers(1, 40)) ** 3, rng.random() * 1e-3) for _ in range(count)]
    return TableSet.from_tables(tables, rng.integers(-20, 20, count))


def round_trip(values, indexes, tables) -> tuple[np.ndarray, bytes]:
    encoder = RangeEncoder()
    encoder.encode(values, indexes, tables)
    data = encoder.finish()
    return RangeDecoder(data).decode(indexes, tables), data


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(0, 3000), outlier_rate=st.sampled_from([0.0, 0.01, 1.0]))
def test_round_trip_random(seed, count, outlier_rate):
    rng = np.random.default_rng(seed)
    tables = random_tables(rng, int(rng.integers(1, 8)))
    indexes = rng.integers(0, len(tables), count)
    values = tables.offsets[indexes] + rng.integers(-1, tables.lengths[indexes])
    outliers = rng.random(count) < outlier_rate
    values[outliers] = rng.integers(-(2**31), 2**31 - 1, outliers.sum(), endpoint=True)
    decoded, _ = round_trip(values, indexes, tables)
    assert decoded.dtype == np.int32
    np.testing.assert_array_equal(decoded, values)


@pytest.mark.parametrize("value", [-(2**31), 2**31 - 1, 0, 1, -1, 2**16, -(2**16) - 1])
def test_extreme_values(value):
    tables = TableSet.from_tables([quantize_pmf(np.array([0.5, 0.5]), 0.0)], np.array([0]))
    values = np.array([value, 0, value, 1], dtype=np.int64)
    decoded, _ = round_trip(values, np.zeros(4, dtype=np.int64), tables)
    np.testing.assert_array_equal(decoded, values)


def test_every_table_and_shape_preserved():
    rng = np.random.default_rng(1)
    tables = random_tables(rng, 50)
    indexes = np.repeat(np.arange(50), 7).reshape(2, 5, 35)
    values = tables.offsets[indexes] + rng.integers(0, 3, indexes.shape)
    decoded, _ = round_trip(values, indexes, tables)
    assert decoded.shape == (2, 5, 35)
    np.testing.assert_array_equal(decoded, values)


def test_empty_and_single():
    tables = random_tables(np.random.default_rng(2), 3)
    decoded, data = round_trip(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), tables)
    assert decoded.size == 0 and data == b""
    decoded, _ = round_trip(np.array([7]), np.array([2]), tables)
    assert decoded.tolist() == [7]


def test_out_of_range_input_rejected():
    tables = random_tables(np.random.default_rng(3), 2)
    with pytest.raises(ValueError, match="int32"):
        RangeEncoder().encode(np.array([2**40]), np.array([0]), tables)
    with pytest.raises(ValueError, match="table indexes"):
        RangeEncoder().encode(np.array([0]), np.array([5]), tables)
    with pytest.raises(TypeError):
        RangeEncoder().encode(np.array([0.5]), np.array([0]), tables)


def test_code_length_close_to_ideal():
    rng = np.random.default_rng(4)
    probs = rng.random(30) ** 4
    tables = TableSet.from_tables([quantize_pmf(probs, 1e-6)], np.array([0]))
    values = rng.choice(30, size=100_000, p=probs / probs.sum())
    indexes = np.zeros_like(values)
    _, data = round_trip(values, indexes, tables)
    ideal = tables.bits(values, indexes).sum()
    assert 8 * len(data) <= 1.001 * ideal + 64


def test_quantize_pmf_properties():
    counts = quantize_pmf(np.array([1.0, 0.0, 1e-12, 0.3]), 0.0)
    assert counts.sum() == 2**PMF_PRECISION and counts.min() >= 1 and counts.size == 5
    with pytest.raises(ValueError):
        quantize_pmf(np.ones(2**PMF_PRECISION), 0.0)


def test_garbage_stream_raises_bitstream_error_or_decodes():
    """Random bytes either decode to some values or raise BitstreamError -- never another error."""
    rng = np.random.default_rng(5)
    tables = random_tables(rng, 4)
    indexes = rng.integers(0, 4, 500)
    for _ in range(50):
        data = rng.bytes(int(rng.integers(0, 40)))
        try:
            RangeDecoder(data).decode(indexes, tables)
        except BitstreamError:
            pass


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 500))
def test_verify_accepts_exactly_the_encoders_bytes(seed, count):
    rng = np.random.default_rng(seed)
    tables = random_tables(rng, 3)
    indexes = rng.integers(0, len(tables), count)
    values = tables.offsets[indexes] + rng.integers(-1, tables.lengths[indexes])
    _, data = round_trip(values, indexes, tables)
    assert data  # something coded: never an empty payload
    decoder = RangeDecoder(data)
    decoder.decode(indexes, tables)
    decoder.verify()
    decoder = RangeDecoder(data + b"\0" * (-len(data) % 4))  # flush zeros restored: the same stream
    decoder.decode(indexes, tables)
    decoder.verify()
    for forged in (b"", data + b"\x01", data + b"\0" * 5, data[:-5]):
        decoder = RangeDecoder(forged)
        try:
            decoder.decode(indexes, tables)
        except BitstreamError:
            continue
        with pytest.raises(BitstreamError, match="payload does not match"):
            decoder.verify()


def test_all_lowest_symbols_code_to_one_byte_not_to_nothing():
    tables = TableSet.from_tables([quantize_pmf(np.array([0.9, 0.1]), 0.0)], np.array([0]))
    values, indexes = np.zeros(5, dtype=np.int32), np.zeros(5, dtype=np.int64)
    decoded, data = round_trip(values, indexes, tables)
    np.testing.assert_array_equal(decoded, values)
    assert data != b""


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(0, 400), k=st.integers(1, 40))
def test_context_conditional_categorical_round_trips_between_table_symbols(seed, count, k):
    rng = np.random.default_rng(seed)
    tables = random_tables(rng, 2)
    indexes = rng.integers(0, 2, 50)
    values = tables.offsets[indexes] + rng.integers(-1, tables.lengths[indexes])
    probabilities = rng.random((count, k)) ** 3  # one distribution per symbol, e.g. from a context model
    probabilities[:, 0] += 1e-9
    symbols = np.array([rng.choice(k, p=row / row.sum()) for row in probabilities], dtype=np.int64)
    encoder = RangeEncoder()
    encoder.encode(values, indexes, tables)
    encoder.encode_categorical(symbols, probabilities)
    encoder.encode(values, indexes, tables)
    data = encoder.finish()
    decoder = RangeDecoder(data)
    np.testing.assert_array_equal(decoder.decode(indexes, tables), values)
    np.testing.assert_array_equal(decoder.decode_categorical(probabilities), symbols)
    np.testing.assert_array_equal(decoder.decode(indexes, tables), values)
    decoder.verify()


def test_categorical_symbols_out_of_range_or_bad_probabilities_are_refused():
    encoder = RangeEncoder()
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        encoder.encode_categorical(np.array([3]), np.ones((1, 3)))
    with pytest.raises(ValueError, match="positive sum"):
        encoder.encode_categorical(np.array([0]), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"\[n, K\] with n = 2"):
        encoder.encode_categorical(np.array([0, 1]), np.ones((1, 3)))
