"""The result of a tuning run, from its records: best theta, crashes, and its tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ampc_agent.theta import ThetaSpec
from ampc_agent.tuners.base import Tuner
from ampc_agent.tuners.box import TuningBox

__all__ = ["print_tables", "summarise"]


def summarise(
    records: Sequence[dict[str, Any]], tuner: Tuner, box: TuningBox, spec: ThetaSpec
) -> dict[str, Any]:
    """The result of the episodes in ``records`` (the tuner was told exactly these).

    Returns:
        ``episodes``, ``nominal_return``/``nominal_crashed`` (episode 0, the nominal
        theta), ``best_return`` and ``theta_best`` (the tuner's best; ``None`` if every
        episode crashed), ``theta_recommended`` and ``recommendation_rule`` (the theta
        to deploy: :meth:`~ampc_agent.tuners.base.Tuner.recommend`; the nominal theta
        while every episode crashed), ``crashes``, ``theta_names``, ``theta_nominal``,
        ``theta_tuned`` (the free entries), ``tuning_lower``/``tuning_upper``.
    """
    crashed = np.array([r["crashed"] for r in records], dtype=bool)
    if crashed.all():  # a tuner never recommends a crashed theta
        best_theta, best_value = None, None
    else:
        best_free, best_value = tuner.best()
        best_theta = box.full(best_free).tolist()
    names = list(spec.names)
    return {
        "episodes": len(records),
        "nominal_return": records[0]["return"],
        "nominal_crashed": records[0]["crashed"],
        "best_return": best_value,
        "crashes": int(crashed.sum()),
        "theta_names": names,
        "theta_nominal": [float(v) for v in spec.nominal],
        "theta_best": best_theta,
        "theta_recommended": box.full(tuner.recommend()).tolist(),
        "recommendation_rule": tuner.recommendation_rule,
        "theta_tuned": [n for n, f in zip(names, box.free, strict=True) if f],
        "tuning_lower": [float(v) for v in spec.tuning_lower],
        "tuning_upper": [float(v) for v in spec.tuning_upper],
    }


def print_tables(console: Any, title: str, result: dict[str, Any]) -> None:
    """The result table and the theta table (nominal, tuned, tuning range) on a rich console."""
    from rich.table import Table

    best, n = result["best_return"], result["episodes"]
    table = Table(title=title)
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("nominal AMPC return", _fmt(result["nominal_return"], result["nominal_crashed"]))
    if best is None:
        table.add_row("best tuned return", "none (every episode crashed)")
    else:
        table.add_row("best tuned return", f"{best:.2f}")
        table.add_row("improvement", f"{best - result['nominal_return']:+.2f}")
    table.add_row("crashed episodes", f"{result['crashes']} of {n}")
    table.add_row("recommended theta", result["recommendation_rule"])
    console.print(table)
    theta_table = Table(title="theta")
    for col in ("parameter", "nominal", "recommended", "best observed", "tuning range"):
        theta_table.add_column(col, justify="right" if col != "parameter" else "left")
    names = result["theta_names"]
    tuned = result["theta_best"] or [math.nan] * len(names)
    rows = zip(
        names,
        result["theta_nominal"],
        result["theta_recommended"],
        tuned,
        result["tuning_lower"],
        result["tuning_upper"],
        strict=True,
    )
    for name, t0, rec, t, lo, hi in rows:
        span = f"[{lo:.4g}, {hi:.4g}]" if hi > lo else "fixed"
        theta_table.add_row(name, f"{t0:.4g}", f"{rec:.4g}", f"{t:.4g}", span)
    console.print(theta_table)


def _fmt(value: float, crashed: bool) -> str:
    return f"{value:.2f}" + (" (crashed)" if crashed else "") if math.isfinite(value) else "n/a"
