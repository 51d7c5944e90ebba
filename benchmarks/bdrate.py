"""BD-rate of a codec against an anchor, per metric, with ``bjontegaard`` (Akima, log-rate).

Only the overlapping quality range counts; curves that do not overlap give NaN and a reason.
Dominated points (more bits for no better quality) are dropped first, so each curve is monotone.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BDResult:
    """BD-rate in percent (negative: the test codec needs fewer bits), or NaN with ``reason``."""

    value: float
    reason: str = ""
    overlap: float = math.nan  # overlapping quality range / the smaller curve's range


def rd_front(rates: np.ndarray, quality: np.ndarray, higher_is_better: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Points of the curve not dominated by a cheaper point, sorted by rate."""
    order = np.argsort(rates)
    rates, quality = np.asarray(rates, float)[order], np.asarray(quality, float)[order]
    sign = 1.0 if higher_is_better else -1.0
    keep, best = [], -math.inf
    for r, q in zip(rates, quality):
        if np.isfinite(r) and np.isfinite(q) and sign * q > best:
            keep.append((r, q))
            best = sign * q
    if not keep:
        return np.zeros(0), np.zeros(0)
    r, q = map(np.array, zip(*keep))
    return r, q


def bd_rate(anchor_rates, anchor_quality, test_rates, test_quality, higher_is_better: bool = True) -> BDResult:
    """BD-rate (%) of the test curve against the anchor curve (rates in any common unit)."""
    import bjontegaard

    ar, aq = rd_front(anchor_rates, anchor_quality, higher_is_better)
    tr, tq = rd_front(test_rates, test_quality, higher_is_better)
    for name, r in (("anchor", ar), ("test", tr)):
        if len(r) < 2:
            return BDResult(math.nan, f"{name} curve has fewer than 2 usable (non-dominated) points")
    if not higher_is_better:  # bjontegaard expects quality that grows with rate
        aq, tq = -aq, -tq
    low, high = max(aq.min(), tq.min()), min(aq.max(), tq.max())
    if high <= low:
        return BDResult(math.nan, "curves do not overlap in quality")
    overlap = (high - low) / min(aq.max() - aq.min(), tq.max() - tq.min())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = bjontegaard.bd_rate(ar, aq, tr, tq, method="akima", require_matching_points=False, min_overlap=0)
    return BDResult(float(value), "" if overlap >= 0.5 else f"small overlap ({overlap:.0%} of range)", float(overlap))


def bd_rate_table(aggregate: pd.DataFrame, anchor: str, metrics: list[str], rate: str = "file_kbps",
                  higher_is_better: dict[str, bool] | None = None) -> pd.DataFrame:
    """BD-rate of every codec in ``aggregate`` against ``anchor``, for each metric (per ``split``,
    in a first column, when ``aggregate`` has one)."""
    if anchor not in set(aggregate["codec"]):
        raise ValueError(f"anchor codec {anchor!r} is not in the results")
    if "split" in aggregate.columns:
        tables = [bd_rate_table(part.drop(columns="split"), anchor, metrics, rate, higher_is_better)
                  .assign(split=split) for split, part in aggregate.groupby("split", sort=False)]
        table = pd.concat(tables, ignore_index=True)
        return table[["split", *[c for c in table.columns if c != "split"]]]
    rows = []
    base = aggregate[aggregate["codec"] == anchor]
    for codec, group in aggregate.groupby("codec", sort=False):
        if codec == anchor:
            continue
        for metric in metrics:
            hib = True if higher_is_better is None else higher_is_better.get(metric, True)
            result = bd_rate(base[rate], base[metric], group[rate], group[metric], hib)
            rows.append({"codec": codec, "anchor": anchor, "metric": metric, "bd_rate_percent": result.value,
                         "overlap": result.overlap, "note": result.reason})
    return pd.DataFrame(rows, columns=["codec", "anchor", "metric", "bd_rate_percent", "overlap", "note"])
