r"""Baselines through nevergrad's ask/tell API: random search and CMA-ES.

nevergrad minimises, so a return ``value`` is told as the loss ``-value``.

Both tuners search the unit cube (a bounded ``ng.p.Array``) seeded through the
parametrization's ``random_state``. Every ``tell`` performs exactly one
nevergrad ``ask`` and one nevergrad ``tell`` (if the told ``theta`` is not the
asked candidate it is told as "not asked"), so the optimizer's state is a
function of the seed and the history. A study is resumed by replaying its
history into a fresh optimizer, which reproduces the uninterrupted run bit for
bit.

Crashes: nevergrad has no notion of a crash, so a crashed episode is told as
the return ``crash_value`` if that option is set (use a known lower bound of
the return), else as the worst feasible return so far minus the spread of the
feasible returns (minus 1 if there is no spread). Before anything feasible was
observed, crashes are told as a return of 0 (a documented limitation: set
``crash_value`` when returns can be negative). ``best`` never returns a crash.

Example:
    >>> tuner = CMAESTuner(lower=[0.0, 0.0], upper=[1.0, 1.0], x0=[0.2, 0.7], seed=3)
    >>> theta = tuner.ask()   # x0 first, then samples around it
"""

from __future__ import annotations

import math
from typing import Any

import nevergrad as ng
import numpy as np

from ampc_agent.theta import to_unit
from ampc_agent.tuners import _options as opt
from ampc_agent.tuners.base import Tuner

# nevergrad's CMA shrinks the initial step by this factor on fully bounded
# parametrizations (nevergrad.optimization.optimizerlib._CMA.es); undone below so
# that ``sigma0`` is the initial step size in unit-cube units.
_NG_BOUNDED_CMA_FACTOR = 0.3


def crash_return(
    values: list[float], crashed: list[bool], crash_value: float | None = None
) -> float:
    r"""Return told to nevergrad for a crashed episode, given the history before it.

    Args:
        values: Told returns so far.
        crashed: Crash flags so far.
        crash_value: Fixed return for crashes, if configured.

    Returns:
        ``crash_value`` if given; else ``worst - max(best - worst, 1)`` over the
        feasible returns; 0.0 if nothing was feasible.
    """
    if crash_value is not None:
        return float(crash_value)
    feasible = [v for v, c in zip(values, crashed, strict=True) if not c]
    if not feasible:
        return 0.0
    worst, best = min(feasible), max(feasible)
    spread = best - worst
    return worst - (spread if spread > 0.0 else 1.0)


class _NevergradTuner(Tuner):
    r"""Shared ask/tell plumbing for nevergrad optimizers on the unit cube."""

    default_options: dict[str, Any] = {"crash_value": None}

    def _resolve_options(self, options: dict[str, Any]) -> dict[str, Any]:
        o = dict(options)
        if o["crash_value"] is not None:
            try:
                o["crash_value"] = float(o["crash_value"])
            except (TypeError, ValueError) as err:
                raise ValueError(
                    f"option crash_value must be a float; got {o['crash_value']!r}"
                ) from err
            if not math.isfinite(o["crash_value"]):
                raise ValueError(f"option crash_value must be finite; got {o['crash_value']!r}")
        return o

    def _make_optimizer(self) -> ng.optimizers.base.Optimizer:
        raise NotImplementedError

    def _init_state(self) -> None:
        self._opt = self._make_optimizer()
        self._pending: ng.p.Parameter | None = None

    def _get_state(self) -> dict[str, Any]:
        # The optimizer's state is a function of seed and history: nothing else to store.
        return {"replay": True}

    def _set_state(self, state: dict[str, Any]) -> None:
        self._init_state()
        for i in range(len(self._X)):
            self._consume(self._tell_loss(i), self._unit_of(i))

    def _unit_of(self, i: int) -> np.ndarray:
        return to_unit(self._X[i], self.lower, self.upper)

    def _tell_loss(self, i: int) -> float:
        r"""Loss for observation ``i``, from the history before it only."""
        if self._crashed[i]:
            ret = crash_return(self._values[:i], self._crashed[:i], self.options["crash_value"])
        else:
            ret = self._values[i]
        return -float(ret)

    def _consume(self, loss: float, u: np.ndarray) -> None:
        r"""One nevergrad ask (unless pending) and one tell of ``u`` with ``loss``."""
        cand = self._pending if self._pending is not None else self._opt.ask()
        self._pending = None
        if np.allclose(cand.value, u, rtol=0.0, atol=1e-12):
            self._opt.tell(cand, loss)
        else:
            self._opt.tell(self._opt.parametrization.spawn_child(new_value=u), loss)

    def _ask_unit(self) -> np.ndarray:
        x0 = self._x0_unit()
        if not self._X and x0 is not None:
            return x0
        if self._pending is None:
            self._pending = self._opt.ask()
        return np.array(self._pending.value, dtype=np.float64)

    def _on_tell(self, u: np.ndarray, value: float, crashed: bool) -> None:
        i = len(self._X) - 1
        # The told theta after a round trip through original units.
        self._consume(self._tell_loss(i), self._unit_of(i))


class RandomSearchTuner(_NevergradTuner):
    r"""Uniform random search in the box (nevergrad ``RandomSearch``), ``x0`` first.

    Args:
        lower: Lower bounds of ``theta``, shape ``(d,)``.
        upper: Upper bounds of ``theta``, shape ``(d,)``.
        seed: Seed of the parametrization's random state.
        x0: Nominal ``theta``, the first ask.
        study_dir: Study folder (persist after each tell, resume by replay).
        **options: ``crash_value`` (return told for crashes; random search
            ignores losses, but the value is kept consistent with CMA-ES).
    """

    name = "random"

    def _make_optimizer(self) -> ng.optimizers.base.Optimizer:
        # Bounded arrays sample a Gaussian around their centre by default;
        # full_range_sampling makes random search uniform in the box.
        param = ng.p.Array(init=np.full(self.dim, 0.5), lower=0.0, upper=1.0)
        param.set_bounds(0.0, 1.0, full_range_sampling=True)
        param.random_state = np.random.RandomState(self.seed)
        return ng.optimizers.RandomSearch(parametrization=param, budget=None)


class CMAESTuner(_NevergradTuner):
    r"""CMA-ES (nevergrad ``ParametrizedCMA``, pycma backend) started at ``x0``.

    Args:
        lower: Lower bounds of ``theta``, shape ``(d,)``; ``d >= 2`` (pycma has
            no 1-D mode).
        upper: Upper bounds of ``theta``, shape ``(d,)``.
        seed: Seed of the parametrization's random state.
        x0: Nominal ``theta``: the first ask and the initial mean (default: the
            centre of the box).
        study_dir: Study folder (persist after each tell, resume by replay).
        **options: ``sigma0`` 0.2 (initial step size in the unit cube),
            ``popsize`` ``None`` (CMA's :math:`4 + \lfloor 3 \ln d \rfloor`),
            ``crash_value`` (see module docstring).
    """

    name = "cmaes"
    default_options: dict[str, Any] = {"crash_value": None, "sigma0": 0.2, "popsize": None}

    def _resolve_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if self.dim < 2:
            raise ValueError(
                f"CMAESTuner needs dim >= 2 (pycma has no 1-D mode); got dim={self.dim}"
            )
        o = super()._resolve_options(options)
        o["sigma0"] = opt.positive_float(o, "sigma0")
        if o["popsize"] is not None:
            o["popsize"] = opt.positive_int(o, "popsize", minimum=2)
        return o

    def _make_optimizer(self) -> ng.optimizers.base.Optimizer:
        x0 = self._x0_unit()
        init = np.full(self.dim, 0.5) if x0 is None else x0
        param = ng.p.Array(init=init, lower=0.0, upper=1.0)
        param.random_state = np.random.RandomState(self.seed)
        # Bounded arrays have mutation sigma (upper - lower) / 6 in nevergrad.
        sigma = float(param.sigma.value)
        scale = self.options["sigma0"] / (sigma * _NG_BOUNDED_CMA_FACTOR)
        config = ng.optimizers.ParametrizedCMA(scale=scale, popsize=self.options["popsize"])
        return config(parametrization=param, budget=None)

    def _internals(self) -> dict[str, float]:
        es = getattr(self._opt, "_es", None)
        out: dict[str, float] = {"cma_popsize": float(self._opt._popsize)}
        if es is not None:
            out["cma_sigma"] = float(es.sigma) * float(self._opt.parametrization.sigma.value)
        return out
