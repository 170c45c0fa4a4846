r"""Synthetic tuning problems with known optima, for checking the tuners.

Each problem wraps a function from ``botorch.test_functions`` converted to
maximisation (value :math:`= -f`), with its bounds, its optimum value and a
nominal ``x0`` that plays the part of the nominal AMPC parameters: a mediocre
point in the basin of the global optimum.

=====================  ====  =====================  ===========  ==================
name                   d     bounds                 x0           max value
=====================  ====  =====================  ===========  ==================
``branin``             2     [-5, 10] x [0, 15]     (2.5, 7.5)   -0.397887
``hartmann6``          6     [0, 1]^6               0.5 * ones   3.32237
``hartmann6_crash``    6     [0, 1]^6               0.5 * ones   3.32237
``ackley10``           10    [-5, 10]^10            2.5 * ones   0
=====================  ====  =====================  ===========  ==================

``ackley10`` is Ackley in 10 dimensions on TuRBO's benchmark box [-5, 10]^d (its
optimum at the origin is off the box's centre); ``x0`` is the centre, value -10.22.

``hartmann6_crash`` is Hartmann-6 with a hidden crash region of two parts
(no return there):

- a ball of radius :data:`CRASH_RADIUS` around :data:`CRASH_CENTER`, on the
  steepest-ascent path from ``x0`` to the global optimum, 0.2 along it (return
  about 1.6 there). It holds neither ``x0`` (distance 0.2) nor the optimum
  (distance 0.4), so a local method has to go around it;
- the border of the box: any coordinate within :data:`CRASH_MARGIN` of a bound
  (31 % of the volume), like extreme gains or weights that throw the pole off
  the rail. The optimum's coordinates lie in [0.15, 0.66].

Example:
    >>> problem = get_problem("hartmann6_crash")
    >>> value, crashed = problem(problem.x0)
    >>> result = run_tuner(problem, "gibo", budget=30, seed=0)
    >>> result["best_value"] > value
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from botorch.test_functions import Ackley, Branin, Hartmann
from botorch.test_functions.synthetic import SyntheticTestFunction

from ampc_agent.tuners import make_tuner
from ampc_agent.tuning.loop import tuning_loop

CRASH_CENTER = np.array([0.43, 0.43, 0.49, 0.40, 0.37, 0.56])
CRASH_RADIUS = 0.1
CRASH_MARGIN = 0.03


@dataclass(frozen=True)
class Problem:
    r"""A maximisation problem over a box, optionally with a crash region.

    Attributes:
        name: Short identifier.
        function: botorch test function with ``negate=True`` (so larger is better).
        lower: Lower bounds ``(d,)``.
        upper: Upper bounds ``(d,)``.
        x0: Nominal point ``(d,)``.
        optimum_value: Largest achievable value.
        crash: ``theta -> bool``, True if the episode crashes (default: never).
    """

    name: str
    function: SyntheticTestFunction
    lower: np.ndarray
    upper: np.ndarray
    x0: np.ndarray
    optimum_value: float
    crash: Callable[[np.ndarray], bool] = field(default=lambda theta: False)

    @property
    def dim(self) -> int:
        return int(self.lower.shape[0])

    def value(self, theta: np.ndarray) -> float:
        r"""The (maximised) objective at ``theta``, ignoring crashes."""
        x = torch.as_tensor(np.asarray(theta, dtype=np.float64)).reshape(1, -1)
        with torch.no_grad():
            return float(self.function(x).reshape(()))

    def __call__(self, theta: np.ndarray) -> tuple[float, bool]:
        r"""One "episode": ``(value, crashed)``; the value is NaN when crashed."""
        if self.crash(np.asarray(theta, dtype=np.float64)):
            return math.nan, True
        return self.value(theta), False


def _in_crash_region(theta: np.ndarray) -> bool:
    in_ball = np.linalg.norm(theta - CRASH_CENTER) < CRASH_RADIUS
    on_border = np.any(theta < CRASH_MARGIN) or np.any(theta > 1.0 - CRASH_MARGIN)
    return bool(in_ball or on_border)


def _bounds(fn: SyntheticTestFunction) -> tuple[np.ndarray, np.ndarray]:
    b = fn.bounds.numpy().astype(np.float64)
    return b[0].copy(), b[1].copy()


def get_problem(name: str) -> Problem:
    r"""The problem called ``name`` (see :data:`PROBLEMS`)."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; valid names are {sorted(PROBLEMS)}")
    return PROBLEMS[name]()


def _branin() -> Problem:
    fn = Branin(negate=True)
    lo, up = _bounds(fn)
    return Problem("branin", fn, lo, up, (lo + up) / 2.0, float(fn.optimal_value))


def _hartmann6(crash: bool = False) -> Problem:
    fn = Hartmann(dim=6, negate=True)
    lo, up = _bounds(fn)
    name = "hartmann6_crash" if crash else "hartmann6"
    region = _in_crash_region if crash else (lambda theta: False)
    return Problem(name, fn, lo, up, np.full(6, 0.5), float(fn.optimal_value), region)


def _ackley10() -> Problem:
    fn = Ackley(dim=10, negate=True, bounds=[(-5.0, 10.0)] * 10)
    lo, up = _bounds(fn)
    return Problem("ackley10", fn, lo, up, (lo + up) / 2.0, 0.0)


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "branin": _branin,
    "hartmann6": _hartmann6,
    "hartmann6_crash": lambda: _hartmann6(crash=True),
    "ackley10": _ackley10,
}


def run_tuner(
    problem: Problem, tuner_name: str, budget: int, seed: int, **tuner_options: Any
) -> dict[str, Any]:
    r"""Run one ask/evaluate/tell loop of ``budget`` episodes.

    Args:
        problem: The problem (its ``x0`` is given to the tuner).
        tuner_name: Name for :func:`ampc_agent.tuners.make_tuner`.
        budget: Number of episodes.
        seed: Tuner seed.
        **tuner_options: Passed to the tuner.

    Returns:
        A dict with ``values`` (NaN where crashed), ``crashed``, ``thetas``,
        ``best_so_far`` (running max of feasible values, NaN before the first),
        ``best_value``, ``best_theta``, ``x0_value``, ``n_crashed``,
        ``seconds`` (tuner time only, excluding evaluations) and ``tuner`` (the
        tuner object, for its internals).
    """
    tuner = make_tuner(
        tuner_name, problem.lower, problem.upper, seed=seed, x0=problem.x0, **tuner_options
    )

    def evaluate(theta: np.ndarray) -> dict[str, Any]:
        value, crash = problem(theta)
        return {"return": value, "crashed": crash}

    steps = tuning_loop(tuner, evaluate, budget)
    thetas = [step["theta"] for step in steps]
    crashed = [step["crashed"] for step in steps]
    seconds = sum(step["tuner_time"] for step in steps)
    vals = np.array([step["return"] for step in steps], dtype=np.float64)
    feasible = np.where(np.array(crashed), -np.inf, vals)
    best_so_far = np.maximum.accumulate(feasible)
    best_so_far[~np.isfinite(best_so_far)] = np.nan
    try:
        best_theta, best_value = tuner.best()
    except RuntimeError:
        best_theta, best_value = None, math.nan
    return {
        "problem": problem.name,
        "tuner_name": tuner_name,
        "seed": seed,
        "thetas": np.array(thetas),
        "values": vals,
        "crashed": np.array(crashed, dtype=bool),
        "best_so_far": best_so_far,
        "best_value": best_value,
        "best_theta": best_theta,
        "x0_value": problem.value(problem.x0),
        "n_crashed": int(np.sum(crashed)),
        "seconds": seconds,
        "tuner": tuner,
    }
