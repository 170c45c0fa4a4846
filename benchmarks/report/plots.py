"""Best-so-far curves with quartile bands, one PNG per report group."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.io import save_figure
from benchmarks.report.curves import Baselines
from benchmarks.report.summary import METHOD_ORDER, curves

__all__ = ["COLORS", "plot_group"]

#: The one colour map of tuners and baselines, for every plot of the benchmarks.
COLORS = {
    "turbo": "tab:blue",
    "gibo": "tab:orange",
    "random": "tab:green",
    "cmaes": "tab:purple",
    "sysid": "tab:brown",
    "nominal": "gray",
    "true-theta": "tab:olive",
    "mpc-true": "tab:red",
    "oracle": "black",
}
_FLAT = ("nominal", "true-theta", "mpc-true", "oracle")


def plot_group(
    title: str,
    methods: dict[str, Sequence[dict[str, Any]]],
    baselines: Baselines,
    length: int,
    path: str | Path,
) -> Path:
    """Two panels: best-so-far return and normalised score over episodes; median line
    and 25-75 % band per method; nominal, true-theta and oracle as dashed medians."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    episodes = np.arange(1, length + 1)
    for method in METHOD_ORDER:
        rs = methods.get(method)
        if not rs:
            continue
        best, score = curves(rs, baselines, length)
        color = COLORS.get(method)
        for ax, values in zip(axes, (best, score), strict=True):
            with warnings.catch_warnings():  # all-NaN columns: no score without baselines
                warnings.simplefilter("ignore", RuntimeWarning)
                q25, q50, q75 = np.nanpercentile(values, [25, 50, 75], axis=0)
            label = f"{method} (n={len(rs)})"
            if method in _FLAT:
                ax.axhline(q50[-1], ls="--", color=color, lw=1.2, label=label)
            else:
                ax.plot(episodes, q50, color=color, lw=1.8, label=label)
                ax.fill_between(episodes, q25, q75, color=color, alpha=0.18, lw=0)
    axes[0].set_ylabel("best-so-far return")
    axes[1].set_ylabel("normalised score (0 = nominal, 1 = oracle)")
    for ax in axes:
        ax.set_xlabel("episode")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{title}: median and 25-75 % over trials")
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
