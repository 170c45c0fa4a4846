"""Records of a tuning run: TensorBoard scalars, JSON files and the returns plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ampc_agent.io import save_figure

__all__ = ["TuningLogger", "plot_returns"]


class TuningLogger:
    """TensorBoard scalars of a tuning run, one step per episode.

    Logs ``episode/return``, ``episode/best_so_far``, ``episode/crashed``,
    ``episode/crash_count``, ``theta/<name>`` and ``tuner/<key>`` for every scalar of
    the tuner's ``internals()`` (trust-region length, GIBO step size, gradient norm, GP
    hyperparameters).

    Args:
        logdir: Folder of this run's event files.
        theta_names: Names of the parameters.
        start_step: Episodes already done (on resume, events from later steps of a
            killed run are purged).
        history: Records (``return``, ``crashed``) of the episodes already done: the
            running best and crash count continue from them, so a resumed run logs
            what an uninterrupted one logs.
    """

    def __init__(
        self,
        logdir: str | Path,
        theta_names: Sequence[str],
        start_step: int = 0,
        history: Sequence[dict] = (),
    ):
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = Path(logdir)
        self.theta_names = list(theta_names)
        self.writer = SummaryWriter(str(self.logdir), purge_step=start_step or None)
        done = list(history)[:start_step]
        feasible = [r["return"] for r in done if not r["crashed"]]
        self.best = max(feasible, default=-np.inf)
        self.crashes = sum(bool(r["crashed"]) for r in done)

    def log_episode(
        self,
        episode: int,
        theta: np.ndarray,
        value: float,
        crashed: bool,
        internals: dict[str, float],
    ) -> None:
        w = self.writer
        self.crashes += int(crashed)
        if not crashed:
            self.best = max(self.best, value)
        w.add_scalar("episode/return", value, episode)
        if np.isfinite(self.best):
            w.add_scalar("episode/best_so_far", self.best, episode)
        w.add_scalar("episode/crashed", float(crashed), episode)
        w.add_scalar("episode/crash_count", self.crashes, episode)
        for name, t in zip(self.theta_names, theta, strict=True):
            w.add_scalar(f"theta/{name}", float(t), episode)
        for key, v in internals.items():
            if np.isscalar(v) and np.isfinite(v):
                w.add_scalar(f"tuner/{key}", float(v), episode)
        w.flush()

    def close(self) -> None:
        self.writer.close()


def plot_returns(
    returns: np.ndarray, crashed: np.ndarray, path: str | Path, title: str = ""
) -> Path:
    """Returns per episode, best so far, crashes marked; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    returns, crashed = np.asarray(returns, float), np.asarray(crashed, bool)
    episodes = np.arange(1, len(returns) + 1)
    best = np.maximum.accumulate(np.where(crashed, -np.inf, returns))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(episodes, returns, "o", color="tab:blue", label="episode return", ms=4)
    ax.plot(episodes[crashed], returns[crashed], "x", color="tab:red", label="crashed", ms=7)
    ax.step(
        episodes,
        np.where(np.isfinite(best), best, np.nan),
        where="post",
        color="k",
        label="best so far",
    )
    ax.axhline(returns[0], ls="--", color="gray", label="nominal theta (episode 1)")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
