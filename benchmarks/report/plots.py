"""Best-so-far curves with quartile bands, one PNG per report group."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.io import save_figure
from benchmarks.report.curves import Baselines
from benchmarks.report.deployed import deployed_table
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
    budgets: Sequence[int] = (),
) -> Path:
    """Three panels: the deployed score at ``budgets`` (median and 25-75 % per method,
    the primary result), then the best-so-far return and score over episodes (median
    line and 25-75 % band; nominal, true-theta and oracle as dashed medians)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
    episodes = np.arange(1, length + 1)
    tuners = [m for m in METHOD_ORDER if methods.get(m) and m not in _FLAT]
    for method in METHOD_ORDER:
        rs = methods.get(method)
        if not rs:
            continue
        best, score = curves(rs, baselines, length)
        color = COLORS.get(method)
        if budgets and method not in ("true-theta", "mpc-true"):
            dep = deployed_table(rs, baselines, budgets)["score"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, mid, hi = np.nanpercentile(dep, [25, 50, 75], axis=0)
            if method in _FLAT:
                axes[0].axhline(mid[-1], ls="--", color=color, lw=1.2, label=method)
            else:
                shift = (tuners.index(method) - (len(tuners) - 1) / 2) * 0.012
                x = np.asarray(budgets, float) * (1.0 + shift)  # side by side on a log axis
                axes[0].errorbar(
                    x, mid, yerr=[mid - lo, hi - mid], color=color, marker="o", capsize=3,
                    label=f"{method} (n={len(rs)})",
                )  # fmt: skip
        for ax, values in zip(axes[1:], (best, score), strict=True):
            with warnings.catch_warnings():  # all-NaN columns: no score without baselines
                warnings.simplefilter("ignore", RuntimeWarning)
                q25, q50, q75 = np.nanpercentile(values, [25, 50, 75], axis=0)
            label = f"{method} (n={len(rs)})"
            if method in _FLAT:
                ax.axhline(q50[-1], ls="--", color=color, lw=1.2, label=label)
            else:
                ax.plot(episodes, q50, color=color, lw=1.8, label=label)
                ax.fill_between(episodes, q25, q75, color=color, alpha=0.18, lw=0)
    axes[0].set_ylabel("deployed score (0 = nominal, 1 = oracle)")
    axes[0].set_xlabel("episodes before the recommendation")
    axes[0].set_title("recommended theta on held-out episodes", fontsize=9)
    if budgets:
        axes[0].set_xscale("log")
        axes[0].set_xticks(list(budgets), [str(b) for b in budgets])
        axes[0].minorticks_off()
        axes[0].legend(fontsize=7, loc="lower right")
    axes[1].set_ylabel("best-so-far return")
    axes[2].set_ylabel("best-so-far score (0 = nominal, 1 = oracle)")
    for ax in axes[1:]:
        ax.set_xlabel("episode")
        ax.set_title("best return seen while tuning (secondary)", fontsize=9)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[2].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{title}: median and 25-75 % over trials")
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
