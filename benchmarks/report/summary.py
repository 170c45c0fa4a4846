"""The report's numbers: quartiles per system, method and budget, from the records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.report.curves import (
    Baselines,
    best_so_far,
    group,
    instance_key,
    normalised,
    quartiles,
)
from benchmarks.report.deployed import deployed_table, paired_deployed
from benchmarks.sweep.config import TUNERS

__all__ = [
    "BUDGETS",
    "METHOD_ORDER",
    "curves",
    "methods_of",
    "paired",
    "report_groups",
    "summarise",
]

#: Budgets (episodes) of the report's tables.
BUDGETS = (5, 10, 20, 50)
#: Row order: tuners, then the baselines. From the oracle records: ``true-theta`` is
#: the oracle's episode 0 (the AMPC at the true physical parameters), ``mpc-true`` the
#: full MPC at the true physical parameters (one episode).
METHOD_ORDER = (*TUNERS, "nominal", "sysid", "true-theta", "mpc-true", "oracle")
#: The model-based tuners, each compared with random search on the deployed score.
BO_TUNERS = ("turbo", "gibo")


def curves(
    records: Sequence[dict[str, Any]], baselines: Baselines, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best-so-far returns and normalised scores, shape ``(trials, length)``.

    The oracle's curve is its final value (it is the reference, not a learner).
    """
    best, score = [], []
    for r in records:
        curve = best_so_far(r["episodes"], len(r["episodes"]) if _is_oracle(r) else length)
        if _is_oracle(r):
            curve = np.full(length, curve[-1])
        key = instance_key(r)
        best.append(curve)
        score.append(normalised(curve, baselines.nominal_value(key), baselines.oracle_value(key)))
    return np.array(best).reshape(len(records), length), np.array(score).reshape(
        len(records), length
    )


def _is_oracle(record: dict[str, Any]) -> bool:
    return record["config"]["tuner"] == "oracle"


def _reference_records(
    oracle_records: Sequence[dict[str, Any]], method: str
) -> list[dict[str, Any]]:
    """One-episode records of the references inside the oracle records: ``true-theta``
    (the oracle's episode 0) or ``mpc-true`` (its ``extra["mpc_true"]``)."""
    out = []
    for r in oracle_records:
        if method == "true-theta":
            first = r["episodes"][0] if r["episodes"] else None
        else:
            first = r.get("extra", {}).get("mpc_true")
        if first:
            out.append(
                {
                    **r,
                    "config": {**r["config"], "tuner": method},
                    "episodes": [first],
                    "wall_time": first["wall_time"],
                    "totals": {"tuner_time": 0.0},
                }
            )
    return out


def methods_of(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``{method: records}`` in :data:`METHOD_ORDER`, with the oracle's references
    ``true-theta`` and ``mpc-true`` as one-episode records."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_method.setdefault(r["config"]["tuner"], []).append(r)
    for reference in ("true-theta", "mpc-true"):
        rs = _reference_records(by_method.get("oracle", []), reference)
        if rs:
            by_method[reference] = rs
    return {m: by_method[m] for m in METHOD_ORDER if m in by_method}


def report_groups(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records by report section: ``"<system> / <instance>"`` per instance setting (for
    example ``hardware-like``, or ``random``: one drawn system per seed), plus
    ``"<system> / all instances"`` when a system has more than one."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for system, by_tuner in sorted(group(records).items()):
        system_records = [r for rs in by_tuner.values() for r in rs]
        labels = sorted({_label(r) for r in system_records})
        for label in labels:
            groups[f"{system} / {label}"] = [r for r in system_records if _label(r) == label]
        if len(labels) > 1:
            groups[f"{system} / all instances"] = system_records
    return groups


def _in_group(record: dict[str, Any], name: str) -> bool:
    system, _, label = name.partition(" / ")
    if record["config"]["system"] != system:
        return False
    return label == "all instances" or _label(record) == label


def _label(record: dict[str, Any]) -> str:
    """Instance label, with `` (theta box)`` for trials tuned in the whole theta range."""
    instance = record["config"]["instance"]
    label = instance if isinstance(instance, str) else "custom"
    return label + (" (theta box)" if record["config"].get("bounds") == "theta" else "")


def summarise(
    records: Sequence[dict[str, Any]],
    errors: Sequence[dict[str, Any]] = (),
    budgets: Sequence[int] = BUDGETS,
) -> dict[str, Any]:
    """All numbers of the report (written as ``report.json``), per report group.

    Returns:
        ``{"budgets", "groups": {"<system> / <instance>": {"system", "instances",
        "seeds", "budget", "budgets", "methods": {method: {"trials", "errors",
        "best": {b: q}, "score": {b: q}, "crash_rate": {b: rate}, "deployed": {b: q},
        "deployed_return": {b: q}, "regret": {b: q}, "deployed_crash_rate": {b: rate},
        "episodes", "wall_time_median", "wall_time_total", "episode_time_median",
        "tuner_time_median"}}, "best_tuner", "paired", "paired_deployed",
        "bo_vs_random"}}}`` with ``q = {"q25", "median", "q75", "n"}``; ``best_tuner`` is
        the tuner with the best median deployed score at 20 episodes (best-so-far score
        without deployed records).
    """
    baselines = Baselines(records)
    out: dict[str, Any] = {"budgets": list(budgets), "groups": {}}
    for name, group_records in report_groups(records).items():
        methods = methods_of(group_records)
        failed: dict[str, int] = {}
        for r in errors:
            if _in_group(r, name):
                failed[r["config"]["tuner"]] = failed.get(r["config"]["tuner"], 0) + 1
        max_budget = max(r["config"]["budget"] for r in group_records)
        shown = [b for b in budgets if b <= max_budget]
        length = max([max_budget, *shown, 1])
        rows: dict[str, Any] = {}
        for method in [m for m in METHOD_ORDER if m in methods or m in failed]:
            rs = methods.get(method, [])
            best, score = curves(rs, baselines, length)
            episode_times = [e["wall_time"] for r in rs for e in r["episodes"]]
            tuner_times = [r["totals"]["tuner_time"] for r in rs if "totals" in r]
            dep = deployed_table(rs, baselines, shown)
            crashes, runs = dep["crashes"].sum(axis=0), dep["episodes"].sum(axis=0)
            rows[method] = {
                "trials": len(rs),
                "errors": failed.get(method, 0),
                "best": {b: _q(best[:, b - 1]) for b in shown},
                "score": {b: _q(score[:, b - 1]) for b in shown},
                "crash_rate": {b: _pooled_crash_rate(rs, b) for b in shown},
                "deployed": {b: _q(dep["score"][:, j]) for j, b in enumerate(shown)},
                "deployed_return": {b: _q(dep["return"][:, j]) for j, b in enumerate(shown)},
                "regret": {b: _q(dep["regret"][:, j]) for j, b in enumerate(shown)},
                "deployed_crash_rate": {
                    b: float(crashes[j] / runs[j]) if runs[j] else float("nan")
                    for j, b in enumerate(shown)
                },
                "episodes": int(sum(len(r["episodes"]) for r in rs)),
                "wall_time_median": _median([r["wall_time"] for r in rs]),
                "wall_time_total": float(sum(r["wall_time"] for r in rs)),
                "episode_time_median": _median(episode_times),
                "tuner_time_median": _median(tuner_times),
            }
        # The reference of the paired table: the tuner with the best median score at 20
        # episodes (or at the largest budget shown, if the sweep is shorter).
        at = 20 if 20 in shown else (shown[-1] if shown else None)
        best = _best_tuner(rows, at, "deployed") or _best_tuner(rows, at, "score")
        others = [m for m in (*TUNERS, "sysid") if m != best]
        out["groups"][name] = {
            "system": group_records[0]["config"]["system"],
            "best_tuner": best,
            "best_tuner_at": at,
            "paired": paired(methods, baselines, length, shown, best) if best else {},
            "paired_deployed": (
                paired_deployed(methods, baselines, shown, [(best, m) for m in others])
                if best
                else {}
            ),
            "bo_vs_random": paired_deployed(
                methods, baselines, shown, [(m, "random") for m in BO_TUNERS]
            ),
            "instances": sorted({_label(r) for r in group_records}),
            "seeds": sorted({instance_key(r)[-1] for r in group_records}),
            "budget": max_budget,
            "budgets": shown,
            "methods": rows,
        }
    return out


def paired(
    methods: dict[str, list[dict[str, Any]]],
    baselines: Baselines,
    length: int,
    budgets: Sequence[int],
    reference: str,
) -> dict[str, dict[int, dict[str, float]]]:
    """Paired comparison of ``reference`` with every other tuner and ``sysid``.

    Trials are paired by (system, instance, box, seed): the same system and episode
    seed. Per budget: median and mean of the difference in normalised score
    (reference - other), ``wins`` (reference strictly better), ``n`` pairs and the
    two-sided Wilcoxon signed-rank p-value (NaN when all differences are zero).
    """
    from scipy.stats import wilcoxon

    def by_key(rs: list[dict[str, Any]]) -> dict[tuple, np.ndarray]:
        _, score = curves(rs, baselines, length)
        return {instance_key(r): s for r, s in zip(rs, score, strict=True)}

    ref = by_key(methods[reference])
    out: dict[str, dict[int, dict[str, float]]] = {}
    for other in [m for m in (*TUNERS, "sysid") if m in methods and m != reference]:
        theirs = by_key(methods[other])
        keys = sorted(set(ref) & set(theirs))
        out[other] = {}
        for b in budgets:
            d = np.array([ref[k][b - 1] - theirs[k][b - 1] for k in keys])
            d = d[np.isfinite(d)]
            p = float(wilcoxon(d).pvalue) if d.size and np.any(d != 0) else float("nan")
            out[other][b] = {
                "median": float(np.median(d)) if d.size else float("nan"),
                "mean": float(np.mean(d)) if d.size else float("nan"),
                "wins": int(np.sum(d > 0)),
                "n": int(d.size),
                "p": p,
            }
    return out


def _best_tuner(rows: dict[str, Any], at: int | None, metric: str) -> str | None:
    """The tuner with the best median ``metric`` at ``at`` episodes, or ``None``."""
    scored = [
        (rows[m][metric][at]["median"], m)
        for m in TUNERS
        if at and m in rows and np.isfinite(rows[m][metric][at]["median"])
    ]
    return max(scored)[1] if scored else None


def _q(values: np.ndarray) -> dict[str, float]:
    q25, q50, q75, n = quartiles(values)
    return {"q25": q25, "median": q50, "q75": q75, "n": n}


def _median(values: Sequence[float]) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def _pooled_crash_rate(records: Sequence[dict[str, Any]], budget: int) -> float:
    episodes = [e for r in records for e in r["episodes"][:budget]]
    if not episodes:
        return float("nan")
    return float(np.mean([e["crashed"] for e in episodes]))
