"""Records of a tuning run: TensorBoard scalars, JSON files and the returns plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ampc_agent.io import atomic_write_bytes, save_figure

__all__ = ["OWNER_FILE", "TuningLogger", "check_owner", "plot_returns"]

#: File in a run's log folder naming the study it belongs to.
OWNER_FILE = "owner.txt"


def check_owner(logdir: str | Path, owner: str) -> None:
    """Refuse a log folder that holds the logs of another study (its logs would be replaced).

    Raises:
        ValueError: ``logdir`` names another owner.
    """
    path = Path(logdir) / OWNER_FILE
    if path.is_file():
        theirs = path.read_text().strip()
        if theirs != owner:
            raise ValueError(
                f"TensorBoard run {logdir} holds the logs of study {theirs}; pass another --logdir"
            )


class TuningLogger:
    """TensorBoard scalars of a tuning run, one step per episode.

    Logs ``episode/return``, ``episode/best_so_far``, ``episode/crashed``,
    ``episode/crash_count``, ``theta/<name>`` and ``tuner/<key>`` for every scalar of
    the tuner's ``internals()`` (trust-region length, GIBO step size, gradient norm, GP
    hyperparameters).

    The logs are a view of the episode records: a logger given ``history`` removes the
    run's earlier event files and logs every record again, so a resumed run (killed at
    any point) logs exactly what an uninterrupted one logs, with no gap and no step
    twice.

    Args:
        logdir: Folder of this run's event files.
        theta_names: Names of the parameters.
        history: Records of the episodes already done (``episode``, ``theta``,
            ``return``, ``crashed`` and optionally ``internals``).
        owner: Who the run belongs to (a study folder): stored in ``logdir``; a logger
            for another owner is refused (see :func:`check_owner`).
    """

    def __init__(
        self,
        logdir: str | Path,
        theta_names: Sequence[str],
        history: Sequence[dict] = (),
        owner: str | None = None,
    ):
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = Path(logdir)
        self.theta_names = list(theta_names)
        if owner is not None:
            check_owner(self.logdir, owner)
        for old in self.logdir.glob("events.out.tfevents.*"):
            old.unlink()
        self.writer = SummaryWriter(str(self.logdir))
        if owner is not None:
            atomic_write_bytes(self.logdir / OWNER_FILE, f"{owner}\n".encode())
        self.best = -np.inf
        self.crashes = 0
        for r in history:
            self.log_record(r)

    def log_record(self, record: dict) -> None:
        """Log one episode record (as :meth:`log_episode`)."""
        self.log_episode(
            record["episode"],
            np.asarray(record["theta"], dtype=float),
            record["return"],
            record["crashed"],
            record.get("internals", {}),
        )

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
