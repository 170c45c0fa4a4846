r"""TuRBO-1: trust-region Bayesian optimisation with Thompson sampling.

One trust region (TR) around the best point, a Matern-5/2 ARD GP fitted on the
observations since the last restart, and Thompson sampling over perturbation
candidates in the TR (Eriksson et al., 2019). Batch size 1: each ask is one
episode.

Life of a study:

1. Initial design: ``x0`` (if given) followed by scrambled-Sobol points,
   ``n_init`` in total.
2. Each later ask fits the GP, builds the TR box around the best feasible
   point of the current restart (side ``length`` times lengthscale weights),
   draws ``n_candidates`` perturbation candidates and returns the maximiser of
   one exact joint GP posterior sample over them (Thompson sampling).
3. Each tell updates the TR state machine: a return better than the TR's best
   by 1e-3 relative is a success, anything else (crashes included) a failure.
   ``success_tolerance`` successes double the length (max ``length_max``),
   ``failure_tolerance`` failures halve it. Below ``length_min`` the TR has
   collapsed: TuRBO restarts with a new Sobol design and a GP on the new data
   only. :meth:`~ampc_agent.tuners.base.Tuner.best` still reports the best of
   all restarts.

Crashes (``crash_handling="virtual"``, default) get a virtual value
:math:`\min(\mu(x_c), \mu(x_*)) - \beta \sigma(x_c)` from a GP fitted on all data
at the time of the crash, with :math:`x_*` the best feasible point
(:mod:`ampc_agent.tuners.crashes`). ``crash_handling="worst"`` uses the worst
feasible return observed so far instead.

Example:
    >>> tuner = TurboTuner(lower=[0.0] * 6, upper=[1.0] * 6, seed=0, x0=[0.5] * 6)
    >>> theta = tuner.ask()          # x0 first
    >>> tuner.tell(theta, 1.3)
    >>> tuner.internals()["tr_length"]
    0.8
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch
from torch.quasirandom import SobolEngine

from ampc_agent.tuners import _options as opt
from ampc_agent.tuners.base import Tuner
from ampc_agent.tuners.crashes import assign_virtual_values, training_data, worst_value
from ampc_agent.tuners.models import DTYPE, fit_turbo_gp, hyperparameters, thompson_argmax
from ampc_agent.tuners.recommend import best_posterior_mean
from ampc_agent.tuners.seeding import derive_seed, seeded_torch
from ampc_agent.tuners.trust_region import (
    TrustRegionState,
    default_failure_tolerance,
    perturbation_candidates,
    trust_region_bounds,
    update_trust_region,
)


class TurboTuner(Tuner):
    r"""TuRBO-1 ask/tell tuner (maximisation).

    Args:
        lower: Lower bounds of ``theta``, shape ``(d,)``.
        upper: Upper bounds of ``theta``, shape ``(d,)``.
        seed: Seed of the Sobol designs, candidates and Thompson samples.
        x0: Nominal ``theta``, the first ask.
        study_dir: Study folder (persist after each tell, resume on construction).
        **options: See :attr:`default_options`:

            - ``n_init``: initial design size per restart: an int, ``None``
              (default: :math:`\max(4, d + 1)`, so that budgets of 10-50 episodes are
              not spent on the design) or ``"2d"`` (the reference's :math:`2d`).
            - ``length_init`` 0.8, ``length_min`` 0.5**7, ``length_max`` 1.6.
            - ``success_tolerance`` 3; ``failure_tolerance`` ``None``:
              :math:`\lceil \max(4, d) \rceil` (batch size 1).
            - ``n_candidates``: Thompson-sampling candidates (``None``:
              :math:`\min(100 d, 5000)`, the reference's).
            - ``crash_handling``: ``"virtual"`` or ``"worst"``; ``beta`` 3.0.

    :meth:`recommend` returns the evaluated non-crashed point with the best posterior
    mean of a GP fitted on every observation (all restarts).
    """

    name = "turbo"
    recommendation_rule = "best posterior mean"
    default_options: dict[str, Any] = {
        "n_init": None,
        "length_init": 0.8,
        "length_min": 0.5**7,
        "length_max": 1.6,
        "success_tolerance": 3,
        "failure_tolerance": None,
        "n_candidates": None,
        "crash_handling": "virtual",
        "beta": 3.0,
    }

    def _resolve_options(self, options: dict[str, Any]) -> dict[str, Any]:
        d = self.dim
        o = dict(options)
        if o["n_init"] is None:
            o["n_init"] = max(4, d + 1)
        elif o["n_init"] == "2d":
            o["n_init"] = 2 * d
        if o["failure_tolerance"] is None:
            o["failure_tolerance"] = default_failure_tolerance(d)
        if o["n_candidates"] is None:
            o["n_candidates"] = min(100 * d, 5000)
        o["n_init"] = opt.positive_int(o, "n_init")
        o["success_tolerance"] = opt.positive_int(o, "success_tolerance")
        o["failure_tolerance"] = opt.positive_int(o, "failure_tolerance")
        o["n_candidates"] = opt.positive_int(o, "n_candidates")
        for key in ("length_init", "length_min", "length_max"):
            o[key] = opt.positive_float(o, key)
        if not o["length_min"] <= o["length_init"] <= o["length_max"]:
            raise ValueError(
                "options must satisfy length_min <= length_init <= length_max; got "
                f"{o['length_min']}, {o['length_init']}, {o['length_max']}"
            )
        o["crash_handling"] = opt.choice(o, "crash_handling", ("virtual", "worst"))
        o["beta"] = opt.positive_float(o, "beta", allow_zero=True)
        return o

    # ------------------------------------------------------------------ state
    def _new_trust_region(self) -> TrustRegionState:
        o = self.options
        return TrustRegionState(
            dim=self.dim,
            length=o["length_init"],
            length_min=o["length_min"],
            length_max=o["length_max"],
            success_tolerance=o["success_tolerance"],
            failure_tolerance=o["failure_tolerance"],
        )

    def _init_state(self) -> None:
        self._tr = self._new_trust_region()
        self._restart = 0
        self._restart_start = 0
        self._virtual: list[float | None] = []
        self._model_info: dict[str, float] = {}

    def _get_state(self) -> dict[str, Any]:
        return {
            "trust_region": dataclasses.asdict(self._tr),
            "restart": self._restart,
            "restart_start": self._restart_start,
            "virtual": list(self._virtual),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        tr = dict(state["trust_region"])
        if tr["best_value"] is None:  # -inf is stored as null
            tr["best_value"] = -math.inf
        self._tr = TrustRegionState(**tr)
        self._restart = int(state["restart"])
        self._restart_start = int(state["restart_start"])
        self._virtual = [None if v is None else float(v) for v in state["virtual"]]

    @property
    def trust_region(self) -> TrustRegionState:
        r"""The current trust-region state (read-only dataclass)."""
        return self._tr

    # ------------------------------------------------------------------ phases
    def _restart_feasible(self, n: int) -> list[int]:
        return [i for i in range(self._restart_start, n) if not self._crashed[i]]

    def _in_bo_phase(self, n: int) -> bool:
        r"""Whether, with the first ``n`` observations, the design of this restart is done."""
        done = n - self._restart_start >= self.options["n_init"]
        return done and bool(self._restart_feasible(n))

    def _design_point(self, k: int) -> np.ndarray:
        r"""The ``k``-th point of the current restart's initial design."""
        x0 = self._x0_unit()
        if self._restart == 0 and x0 is not None:
            if k == 0:
                return x0
            k -= 1
        engine = SobolEngine(
            self.dim, scramble=True, seed=derive_seed(self.seed, self._restart, "design")
        )
        return engine.draw(k + 1, dtype=DTYPE)[-1].numpy()

    # --------------------------------------------------------------- ask/tell
    def _ask_unit(self) -> np.ndarray:
        n = len(self._X)
        if not self._in_bo_phase(n):
            return self._design_point(n - self._restart_start)
        U = self._unit_history()
        idx = range(self._restart_start, n)
        X, y = training_data(U, self._values, self._crashed, self._virtual, idx)
        with seeded_torch(derive_seed(self.seed, n, "fit")):
            model = fit_turbo_gp(torch.from_numpy(X), torch.from_numpy(y))
        self._model_info = hyperparameters(model)
        best = max(self._restart_feasible(n), key=lambda i: self._values[i])
        center = torch.from_numpy(U[best])
        lengthscale = model.covar_module.base_kernel.lengthscale.detach().reshape(-1)
        lower, upper = trust_region_bounds(center, lengthscale, self._tr.length)
        cand = perturbation_candidates(
            center, lower, upper, self.options["n_candidates"], derive_seed(self.seed, n, "cand")
        )
        with seeded_torch(derive_seed(self.seed, n, "thompson")):
            return cand[thompson_argmax(model, cand)].numpy()

    def _on_tell(self, u: np.ndarray, value: float, crashed: bool) -> None:
        n_before = len(self._X) - 1
        in_bo_before = self._in_bo_phase(n_before)
        self._virtual.append(None)
        self._assign_crash_values()
        if in_bo_before:
            self._tr = update_trust_region(self._tr, None if crashed else value)
        elif self._in_bo_phase(n_before + 1):
            # Design just completed: the TR starts at the design's best value.
            best = max(self._values[i] for i in self._restart_feasible(n_before + 1))
            self._tr = dataclasses.replace(self._tr, best_value=best)
        if self._tr.restart_triggered:
            self._restart += 1
            self._restart_start = n_before + 1
            self._tr = self._new_trust_region()

    def _assign_crash_values(self) -> None:
        if self.options["crash_handling"] == "worst":
            worst = worst_value(self._values, self._crashed)
            if not math.isnan(worst):
                self._virtual = [
                    worst if c and v is None else v
                    for c, v in zip(self._crashed, self._virtual, strict=True)
                ]
            return
        n = len(self._X)
        if not any(c and v is None for c, v in zip(self._crashed, self._virtual, strict=True)):
            return

        def fit(X: np.ndarray, y: np.ndarray):
            with seeded_torch(derive_seed(self.seed, n, "virtual")):
                return fit_turbo_gp(torch.from_numpy(X), torch.from_numpy(y))

        self._virtual = assign_virtual_values(
            self._unit_history(),
            self._values,
            self._crashed,
            self._virtual,
            fit,
            reference=None,
            beta=self.options["beta"],
        )

    def _recommended_index(self) -> int:
        n = len(self._X)

        def fit(X: np.ndarray, y: np.ndarray):
            with seeded_torch(derive_seed(self.seed, n, "recommend")):
                return fit_turbo_gp(torch.from_numpy(X), torch.from_numpy(y))

        U = self._unit_history()
        return best_posterior_mean(U, self._values, self._crashed, self._virtual, fit)

    def _internals(self) -> dict[str, float]:
        out = {
            "tr_length": float(self._tr.length),
            "tr_success_counter": float(self._tr.success_counter),
            "tr_failure_counter": float(self._tr.failure_counter),
            "tr_restarts": float(self._restart),
            "design_phase": float(not self._in_bo_phase(len(self._X))),
        }
        out.update(self._model_info)
        return out
