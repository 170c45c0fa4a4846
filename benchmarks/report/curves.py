"""Numbers of the report, computed from trial records: best-so-far curves and scores.

Definitions (used by the tables, the plots and TensorBoard alike):

- **best-so-far return** after ``b`` episodes: the best return among the non-crashed
  episodes of the first ``b``; while every episode so far has crashed, the best
  crashed return (the reward collected until the crash). A record shorter than ``b``
  (nominal: 1 episode; sysid stops when its theta repeats) is held at its last value:
  with a fixed episode seed, rerunning a theta repeats its episode.
- **nominal value** of a (system, instance, box, seed): the return of the ``nominal``
  record; **oracle value**: the best non-crashed return of the ``oracle`` record (all
  crashed: its best crashed return). Missing for a seed: the median over the seeds.
- **normalised score** = (best-so-far - nominal) / (oracle - nominal): 0 = nominal
  AMPC, 1 = oracle. Undefined (NaN) when oracle - nominal < 1e-9.
- **crash rate** at ``b``: crashed episodes / episodes run among the first ``b``.
- **deployed return** after ``b`` episodes: the mean return of the theta the method
  recommends after its first ``b`` episodes (TuRBO, GIBO: the evaluated non-crashed
  theta with the best GP posterior mean; the others: the best observed), re-run on
  ``K`` held-out episodes (seeds disjoint from every tuning episode, the same for every
  method of a seed; instance fixed); **deployed crash rate**: the share of those
  episodes that crashed. **Deployed score** = (deployed return - nominal's) /
  (oracle's - nominal's), with the nominal AMPC's and the oracle's deployed returns
  (the oracle deploys its best observed theta once, after its episodes) as 0 and 1;
  **regret** = oracle's deployed return - deployed return (return units).
- **true-theta**: the AMPC at the true physical parameters (the oracle's first
  episode); **mpc-true**: the full MPC at the true physical parameters, one episode.
  Both are flat references, like nominal and oracle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Baselines",
    "best_so_far",
    "deployed_at",
    "instance_key",
    "normalised",
    "quartiles",
]


def instance_key(record: dict[str, Any]) -> tuple[str, str, str, int]:
    """``(system, instance, bounds, seed)``: trials that share an experiment and a box."""
    c = record["config"]
    instance = (
        c["instance"] if isinstance(c["instance"], str) else repr(sorted(c["instance"].items()))
    )
    return c["system"], instance, c.get("bounds", "tuning"), int(c["seed"])


def best_so_far(episodes: Sequence[dict[str, Any]], length: int) -> np.ndarray:
    """Best-so-far return after 1..``length`` episodes (see the module docstring)."""
    if not episodes:
        return np.full(length, np.nan)
    returns = np.array([e["return"] for e in episodes], dtype=float)
    crashed = np.array([e["crashed"] for e in episodes], dtype=bool)
    ok = np.maximum.accumulate(np.where(crashed, -np.inf, returns))
    any_ok = np.cumsum(~crashed) > 0
    curve = np.where(any_ok, ok, np.maximum.accumulate(returns))
    if len(curve) >= length:
        return curve[:length]
    return np.concatenate([curve, np.full(length - len(curve), curve[-1])])


def crash_rate(episodes: Sequence[dict[str, Any]], budget: int) -> float:
    """Fraction of crashed episodes among the first ``budget`` (NaN if none ran)."""
    first = episodes[:budget]
    return float(np.mean([e["crashed"] for e in first])) if first else float("nan")


def deployed_at(record: dict[str, Any], budget: int | None) -> dict[str, Any] | None:
    """The record's deployment after ``budget`` episodes (``None``: its last one), or
    ``None`` if it has none (a record without ``deployed``, or K = 0)."""
    deployed = record.get("deployed") or []
    if budget is None:
        return deployed[-1] if deployed else None
    return next((d for d in deployed if d["budget"] == budget), None)


class Baselines:
    """Nominal and oracle values per (system, instance, seed), from the records: the
    best-so-far references (``nominal``, ``oracle``) and the deployed ones
    (``nominal_deployed``, ``oracle_deployed``)."""

    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.nominal: dict[tuple[str, str, str, int], float] = {}
        self.oracle: dict[tuple[str, str, str, int], float] = {}
        self.nominal_deployed: dict[tuple[str, str, str, int], float] = {}
        self.oracle_deployed: dict[tuple[str, str, str, int], float] = {}
        for r in records:
            tuner = r["config"]["tuner"]
            if tuner not in ("nominal", "oracle") or not r["episodes"]:
                continue
            key = instance_key(r)
            last = deployed_at(r, None)
            if tuner == "nominal":
                self.nominal[key] = float(r["episodes"][0]["return"])
                if last:
                    self.nominal_deployed[key] = float(last["mean_return"])
            else:
                self.oracle[key] = float(best_so_far(r["episodes"], len(r["episodes"]))[-1])
                if last:
                    self.oracle_deployed[key] = float(last["mean_return"])

    @staticmethod
    def _lookup(
        table: dict[tuple[str, str, str, int], float], key: tuple[str, str, str, int]
    ) -> float:
        if key in table:
            return table[key]
        same = [v for k, v in table.items() if k[:-1] == key[:-1]]
        return float(np.median(same)) if same else float("nan")

    def nominal_value(self, key: tuple[str, str, str, int]) -> float:
        return self._lookup(self.nominal, key)

    def oracle_value(self, key: tuple[str, str, str, int]) -> float:
        return self._lookup(self.oracle, key)

    def deployed_references(self, key: tuple[str, str, str, int]) -> tuple[float, float]:
        """``(nominal, oracle)`` deployed returns of ``key`` (medians over the seeds
        where one is missing; NaN without records)."""
        return self._lookup(self.nominal_deployed, key), self._lookup(self.oracle_deployed, key)


def normalised(values: np.ndarray, nominal: float, oracle: float) -> np.ndarray:
    """(values - nominal) / (oracle - nominal); NaN if the gap is below 1e-9."""
    gap = oracle - nominal
    if not np.isfinite(gap) or abs(gap) < 1e-9:
        return np.full_like(np.asarray(values, dtype=float), np.nan)
    return (np.asarray(values, dtype=float) - nominal) / gap


def quartiles(values: Iterable[float]) -> tuple[float, float, float, int]:
    """(25 %, median, 75 %, n) over the finite values (NaNs if none)."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan"), 0
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    return float(q25), float(q50), float(q75), int(v.size)


def group(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``{system: {tuner: [records]}}``."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        out[r["config"]["system"]][r["config"]["tuner"]].append(r)
    return out
