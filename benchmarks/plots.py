"""RD-curve plots: one PNG per metric (log-rate axis), with the plotted points as CSV beside it."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .metrics import METRICS  # noqa: E402


def plot_rd(aggregate: pd.DataFrame, metric: str, out: Path, rate: str = "file_kbps", title: str = "") -> Path:
    """Plot ``metric`` against ``rate`` for every codec in ``aggregate`` (one panel per ``split`` when
    it has that column, side by side on a shared quality axis); writes ``out`` (.png) and ``out`` with
    .csv. Returns the PNG path."""
    if metric not in aggregate.columns:
        raise ValueError(f"results have no column {metric!r}")
    out = Path(out).with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    splits = list(dict.fromkeys(aggregate["split"])) if "split" in aggregate.columns else [None]
    fig, axes = plt.subplots(1, len(splits), figsize=(7 * len(splits), 4.5), sharey=True, squeeze=False)
    label = METRICS[metric].label if metric in METRICS else metric
    unit = METRICS[metric].unit if metric in METRICS else ""
    points = []
    for ax, split in zip(axes[0], splits):
        part = aggregate if split is None else aggregate[aggregate["split"] == split]
        for codec, group in part.groupby("codec", sort=False):
            group = group.sort_values(rate)
            ax.plot(group[rate], group[metric], marker="o", label=codec)
            points.append(group[[c for c in ("split", "codec", "point", rate, metric) if c in group.columns]])
        ax.set_xscale("log")
        ax.set_xlabel(f"bitrate ({rate.replace('_kbps', '')}, kbps, log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"split: {split}" if split is not None else title or f"{label} vs bitrate")
    axes[0][0].set_ylabel(f"{label} ({unit})" if unit else label)
    if splits != [None]:
        fig.suptitle(title or f"{label} vs bitrate")
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
