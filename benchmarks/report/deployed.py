"""The deployed score: what a user keeps after ``b`` episodes, re-run on held-out episodes.

Per record and budget (see :mod:`benchmarks.report.curves` for the definitions): the
deployed return (mean over the held-out episodes), the deployed score (0 = nominal AMPC,
1 = oracle, both deployed on the same held-out episodes), the regret in return units and
the crashes of the held-out episodes; and paired tests between methods on the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.report.curves import Baselines, deployed_at, instance_key, normalised

__all__ = ["deployed_table", "paired_deployed"]


def deployed_table(
    records: Sequence[dict[str, Any]], baselines: Baselines, budgets: Sequence[int]
) -> dict[str, np.ndarray]:
    """Deployed numbers of ``records`` at ``budgets``, each array ``(trials, budgets)``.

    The oracle's is its one deployment at every budget (it is the reference).

    Returns:
        ``return`` (mean held-out return), ``score`` (normalised), ``regret`` (oracle's
        deployed return - this), ``crashes`` and ``episodes`` (held-out crashes and
        episodes); NaN / 0 where a record has no deployment at that budget.
    """
    shape = (len(records), len(budgets))
    out = {k: np.full(shape, np.nan) for k in ("return", "score", "regret")}
    out["crashes"] = np.zeros(shape)
    out["episodes"] = np.zeros(shape)
    for i, r in enumerate(records):
        nominal, oracle = baselines.deployed_references(instance_key(r))
        for j, b in enumerate(budgets):
            d = deployed_at(r, None if r["config"]["tuner"] == "oracle" else b)
            if d is None:
                continue
            value = float(d["mean_return"])
            out["return"][i, j] = value
            out["score"][i, j] = float(normalised(np.array(value), nominal, oracle))
            out["regret"][i, j] = oracle - value
            out["crashes"][i, j] = float(np.sum(d["crashed"]))
            out["episodes"][i, j] = float(len(d["crashed"]))
    return out


def paired_deployed(
    methods: dict[str, list[dict[str, Any]]],
    baselines: Baselines,
    budgets: Sequence[int],
    pairs: Sequence[tuple[str, str]],
) -> dict[str, dict[int, dict[str, float]]]:
    """Paired comparison of the deployed score for each ``(a, b)`` in ``pairs``.

    Trials are paired by (system, instance, box, seed): the same system, the same tuning
    episode seeds and the same held-out episodes. Per budget: median and mean of the
    difference (a - b), ``wins`` (a strictly better), ``n`` pairs and the two-sided
    Wilcoxon signed-rank p-value (NaN when every difference is zero or no pair exists).

    Returns:
        ``{"a - b": {budget: cell}}`` for the pairs whose methods both have records.
    """
    from scipy.stats import wilcoxon

    def by_key(rs: list[dict[str, Any]]) -> dict[tuple, np.ndarray]:
        scores = deployed_table(rs, baselines, budgets)["score"]
        return {instance_key(r): s for r, s in zip(rs, scores, strict=True)}

    out: dict[str, dict[int, dict[str, float]]] = {}
    for a, b in pairs:
        if a not in methods or b not in methods:
            continue
        ours, theirs = by_key(methods[a]), by_key(methods[b])
        keys = sorted(set(ours) & set(theirs))
        cells = {}
        for j, budget in enumerate(budgets):
            d = np.array([ours[k][j] - theirs[k][j] for k in keys], dtype=float)
            d = d[np.isfinite(d)]
            p = float(wilcoxon(d).pvalue) if d.size and np.any(d != 0) else float("nan")
            cells[budget] = {
                "median": float(np.median(d)) if d.size else float("nan"),
                "mean": float(np.mean(d)) if d.size else float("nan"),
                "wins": int(np.sum(d > 0)),
                "n": int(d.size),
                "p": p,
            }
        out[f"{a} - {b}"] = cells
    return out
