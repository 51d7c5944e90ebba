"""RD-curve plots: one PNG per metric (log-rate axis), with the plotted points as CSV beside it."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .metrics import METRICS  # noqa: E402


def plot_rd(aggregate: pd.DataFrame, metric: str, out: Path, rate: str = "file_kbps", title: str = "") -> Path:
    """Plot ``metric`` against ``rate`` for every codec in ``aggregate``; writes ``out`` (.png) and
    ``out`` with .csv. Returns the PNG path."""
    if metric not in aggregate.columns:
        raise ValueError(f"results have no column {metric!r}")
    out = Path(out).with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    points = []
    for codec, group in aggregate.groupby("codec", sort=False):
        group = group.sort_values(rate)
        ax.plot(group[rate], group[metric], marker="o", label=codec)
        points.append(group[["codec", "point", rate, metric]])
    ax.set_xscale("log")
    ax.set_xlabel(f"bitrate ({rate.replace('_kbps', '')}, kbps, log scale)")
    label = METRICS[metric].label if metric in METRICS else metric
    unit = METRICS[metric].unit if metric in METRICS else ""
    ax.set_ylabel(f"{label} ({unit})" if unit else label)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{label} vs bitrate")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    pd.concat(points).to_csv(out.with_suffix(".csv"), index=False)
    return out


def plot_all(aggregate: pd.DataFrame, metrics: list[str], out_dir: Path, prefix: str = "rd", data: str = "") -> list[Path]:
    """One plot per metric, ``out_dir/{prefix}_{metric}.png``; ``data`` names the test set in the titles."""
    paths = []
    for m in metrics:
        label = METRICS[m].label if m in METRICS else m
        title = f"{label} vs bitrate" + (f" — {data}" if data else "")
        paths.append(plot_rd(aggregate, m, Path(out_dir) / f"{prefix}_{m}", title=title))
    return paths
