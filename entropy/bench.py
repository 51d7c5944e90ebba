"""Range-coder benchmark: throughput and size overhead (``python -m entropy.bench``).

Not a test: it measures, on this machine and one thread, how fast batched coding runs and how
close coded sizes come to the ideal ``-log2`` likelihood, and writes a results table.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .bitstream import Bitstream
from .categorical import CategoricalModel
from .gaussian import GaussianConditional
from .range_coder import RangeDecoder, RangeEncoder


@dataclass
class BenchResult:
    """One benchmark row. Rates in symbols/s; sizes in bits."""

    case: str
    symbols: int
    ideal_bits: float
    table_bits: float
    file_bits: int
    overhead: float  # file_bits / ideal_bits
    encode_msym_s: float
    decode_msym_s: float


def _best_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _container_bits(payload: bytes, seconds: float = 10.0) -> int:
    return 8 * len(Bitstream(bytes(4), 16000, int(seconds * 16000), (payload,)).to_bytes())


def bench_gaussian(case: str, scales: torch.Tensor, seed: int, repeats: int) -> BenchResult:
    """Code Gaussian symbols ``y ~ N(means, scales)`` with :class:`GaussianConditional`."""
    gen = torch.Generator().manual_seed(seed)
    model = GaussianConditional()
    model.update()
    means = torch.randn(scales.shape, generator=gen, dtype=torch.float64) * 10
    y = means + torch.randn(scales.shape, generator=gen, dtype=torch.float64) * scales

    def encode() -> bytes:
        encoder = RangeEncoder()
        model.compress(encoder, y, scales, means)
        return encoder.finish()

    enc_s, payload = _best_time(encode, repeats)
    dec_s, y_hat = _best_time(lambda: model.decompress(RangeDecoder(payload), scales, means), repeats)
    expected = torch.round(y - means) + means
    if not torch.equal(y_hat, expected):
        raise AssertionError(f"{case}: decoded symbols differ from the encoded ones")
    ideal = float(-torch.log2(model.likelihood(expected, scales, means)).sum())
    return _row(case, y.numel(), ideal, float(model.bits(expected, scales, means).sum()), payload, enc_s, dec_s)


def bench_categorical(case: str, size: int, count: int, seed: int, repeats: int) -> BenchResult:
    """Code indices drawn from a skewed distribution with :class:`CategoricalModel`."""
    gen = torch.Generator().manual_seed(seed)
    probs = torch.softmax(torch.randn(size, generator=gen) * 2, dim=0)
    indices = torch.multinomial(probs, count, replacement=True, generator=gen).view(1, 1, -1)
    model = CategoricalModel(1, size)
    model.fit(indices)
    model.update()

    def encode() -> bytes:
        encoder = RangeEncoder()
        model.compress(encoder, indices)
        return encoder.finish()

    enc_s, payload = _best_time(encode, repeats)
    dec_s, decoded = _best_time(lambda: model.decompress(RangeDecoder(payload), tuple(indices.shape)), repeats)
    if not torch.equal(decoded, indices):
        raise AssertionError(f"{case}: decoded indices differ")
    with torch.no_grad():
        ideal = float(-torch.log2(model.likelihood(indices).double()).sum())
    return _row(case, count, ideal, float(model.bits(indices).sum()), payload, enc_s, dec_s)


def _row(case: str, n: int, ideal: float, table: float, payload: bytes, enc_s: float, dec_s: float) -> BenchResult:
    file_bits = _container_bits(payload)
    return BenchResult(case, n, ideal, table, file_bits, file_bits / ideal, n / enc_s / 1e6, n / dec_s / 1e6)


def run(count: int, repeats: int, seed: int) -> list[BenchResult]:
    """All benchmark cases, ``count`` symbols each."""
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for n in sorted({100_000, count}):  # 10^5 symbols: about 10 s of a codec's latents, as in the acceptance test
        scales = torch.exp(torch.empty(n, dtype=torch.float64).uniform_(np.log(0.1), np.log(50), generator=gen))
        rows.append(bench_gaussian("gaussian scales 0.1-50 (log-uniform)", scales, seed, repeats))
    for scale in (0.1, 1.0, 10.0, 50.0):
        rows.append(bench_gaussian(f"gaussian scale {scale:g}", torch.full((count,), scale, dtype=torch.float64), seed, repeats))
    rows.append(bench_categorical("categorical K=1024", 1024, count, seed, repeats))
    rows.append(bench_categorical("categorical K=16", 16, count, seed, repeats))
    return rows


def format_table(rows: list[BenchResult]) -> str:
    """Markdown table of the results."""
    head = "| case | symbols | ideal bits | file bits | file/ideal | encode Msym/s | decode Msym/s |"
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        lines.append(
            f"| {r.case} | {r.symbols} | {r.ideal_bits:.0f} | {r.file_bits} | {r.overhead:.4f} | "
            f"{r.encode_msym_s:.2f} | {r.decode_msym_s:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m entropy.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=1_000_000, help="symbols per case (default 10^6)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats; the best is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("rd_curves/entropy_coder_bench.md"),
                        help="results table to write (markdown; a .csv beside it)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = run(args.symbols, args.repeats, args.seed)
    table = format_table(rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    note = (f"Entropy-coder benchmark, one thread, {args.symbols} symbols a case, best of {args.repeats}.\n"
            "ideal = sum of -log2 likelihood under the continuous model (exact scales); "
            "file = container bytes (header + CRC included, 10 s of audio declared) x 8.\n\n")
    args.out.write_text(note + table + "\n")
    import pandas as pd

    pd.DataFrame([asdict(r) for r in rows]).to_csv(args.out.with_suffix(".csv"), index=False)
    print(f"wrote {args.out} and {args.out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
