r"""GIBO: gradient-informed local Bayesian optimisation with virtual data points.

A GP models the episode return over the unit cube. Around the current iterate
:math:`x_*` GIBO spends ``batch_size`` (default :math:`d + 1`) episodes where
they most reduce the uncertainty about :math:`\nabla f(x_*)`
(:class:`~ampc_agent.tuners.acquisition.GradientInformation`, optimised with
botorch's ``optimize_acqf`` in a box of half-width ``query_radius`` around the
iterate), then takes a normalised gradient step

.. math::

    x_* \leftarrow \operatorname{clip}_{[0,1]^d}\Big(x_* + \eta_t\,
        \ell \odot \frac{\nabla\mu(x_*)}{\lVert \nabla\mu(x_*) \rVert}\Big),

with :math:`\ell` the GP lengthscales and :math:`\eta_t` decaying from 0.25 to
0.125 along a cosine over ``step_horizon`` steps (Müller et al., 2021). The
new iterate is evaluated (one episode) before the next batch, because that is
how a crash of the update step is noticed.

Crashes: a crashed query gets the virtual value
:math:`\min(\mu(x_c), \mu(x_*)) - \beta\sigma(x_c)` with :math:`\beta = 3`
(:mod:`ampc_agent.tuners.crashes`), so the posterior-mean gradient points away
from it. If the evaluation of an update step crashes, the iterate is reset to
the evaluated non-crashed point with the best posterior mean.

A crashing start: the crash-handling scheme assumes that ``x0`` is feasible. When it
crashes, GIBO has nothing to model and no gradient, so until the first non-crashed
episode it explores around ``x0`` in boxes that widen: the ``k``-th query (``k``
crashes so far) is a scrambled-Sobol point in the box of half-width
:math:`\min(1, r\, 2^{k / w})` around ``x0`` (``r`` = ``query_radius``, ``w`` =
``widen_every``, default 4: the box doubles every four crashes), clipped to the unit
cube. The first feasible point becomes the iterate (it is not run again) and the
gradient phase starts from it. A theta that was told crashed is never asked again:
an iterate that is a known crash is not evaluated.

:meth:`recommend` returns the evaluated non-crashed point with the best posterior
mean of GIBO's GP.

Defaults, chosen by measurement (``benchmarks/results/tuner_settings_gibo.md``):
constant prior mean, RBF kernel with the lengthscale of the reference implementation's
synthetic experiments, which grows with the dimension
(:func:`reference_lengthscale`: 0.2 at d = 2, 0.36 at d = 6, 0.47 at d = 10; the paper's
0.25 is the option ``lengthscale=0.25``), signal variance 0.5 (standardised returns),
both fixed. The noise variance defaults to 0.01 of the standardised return. ``refit_hyperparameters=True`` instead fits them by MAP
with priors centred on these values (:func:`ampc_agent.tuners.models.fixed_gp`).

Example:
    >>> tuner = GiboTuner(lower=[0.0] * 2, upper=[1.0] * 2, x0=[0.3, 0.3])
    >>> theta = tuner.ask()          # x0 first, then d + 1 queries, then a step
    >>> tuner.tell(theta, -1.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from botorch.optim import optimize_acqf
from torch.quasirandom import SobolEngine

from ampc_agent.tuners import _options as opt
from ampc_agent.tuners.acquisition import GradientInformation
from ampc_agent.tuners.base import Tuner
from ampc_agent.tuners.crashes import assign_virtual_values, training_data
from ampc_agent.tuners.gradient import cosine_step_size, normalized_step, posterior_gradient
from ampc_agent.tuners.models import DTYPE, KERNELS, fixed_gp, hyperparameters, posterior_mean_std
from ampc_agent.tuners.recommend import best_posterior_mean
from ampc_agent.tuners.seeding import derive_seed, seeded_torch

__all__ = ["GiboTuner", "cosine_step_size", "normalized_step", "reference_lengthscale"]


def _mean_distance(n: int) -> float:
    r"""Mean distance of two uniform points in :math:`[0, 1]^n` (the approximation the
    GIBO reference implementation scales its lengthscales with)."""
    return math.sqrt(n / 6.0) * math.sqrt((1.0 + 2.0 * math.sqrt(1.0 - 3.0 / (5.0 * n))) / 3.0)


def reference_lengthscale(d: int) -> float:
    r"""The lengthscale of the GIBO reference's synthetic experiments in ``d`` dimensions,
    :math:`0.2\, \delta(d) / \delta(2)` with :math:`\delta` the mean distance of two
    uniform points in the unit cube (unit-cube units)."""
    return 0.2 * _mean_distance(d) / _mean_distance(2)


class GiboTuner(Tuner):
    r"""GIBO ask/tell tuner with virtual data points for crashes (maximisation).

    Args:
        lower: Lower bounds of ``theta``, shape ``(d,)``.
        upper: Upper bounds of ``theta``, shape ``(d,)``.
        seed: Seed for the acquisition optimiser's restarts.
        x0: Nominal ``theta``: the first iterate and first ask (default: the
            centre of the box).
        study_dir: Study folder (persist after each tell, resume on construction).
        **options: See :attr:`default_options`:

            - ``lengthscale`` ``None`` (:func:`reference_lengthscale` of ``d``),
              ``outputscale`` 0.5, ``noise`` 0.01, ``kernel``
              ``"rbf"`` (or ``"matern52"``), ``refit_hyperparameters`` False.
            - ``batch_size``: queries per step (``None``: :math:`d + 1`).
            - ``step_size_start`` 0.25, ``step_size_end`` 0.125, ``step_horizon`` 10.
            - ``query_radius`` 0.2: half-width of the query box around the iterate.
            - ``widen_every`` 4: crashes per doubling of the exploration box while
              nothing is feasible (see the module docstring).
            - ``beta`` 3.0 for the virtual data points.
            - ``num_restarts`` 4, ``raw_samples`` 64: ``optimize_acqf`` settings.
    """

    name = "gibo"
    recommendation_rule = "best posterior mean"
    default_options: dict[str, Any] = {
        "lengthscale": None,
        "outputscale": 0.5,
        "noise": 0.01,
        "kernel": "rbf",
        "refit_hyperparameters": False,
        "batch_size": None,
        "step_size_start": 0.25,
        "step_size_end": 0.125,
        "step_horizon": 10,
        "query_radius": 0.2,
        "widen_every": 4,
        "beta": 3.0,
        "num_restarts": 4,
        "raw_samples": 64,
    }

    def _resolve_options(self, options: dict[str, Any]) -> dict[str, Any]:
        o = dict(options)
        if o["batch_size"] is None:
            o["batch_size"] = self.dim + 1
        if o["lengthscale"] is None:
            o["lengthscale"] = reference_lengthscale(self.dim)
        for key in ("batch_size", "step_horizon", "num_restarts", "raw_samples", "widen_every"):
            o[key] = opt.positive_int(o, key)
        for key in ("lengthscale", "outputscale", "noise", "query_radius"):
            o[key] = opt.positive_float(o, key)
        for key in ("step_size_start", "step_size_end", "beta"):
            o[key] = opt.positive_float(o, key, allow_zero=True)
        o["kernel"] = opt.choice(o, "kernel", KERNELS)
        o["refit_hyperparameters"] = opt.flag(o, "refit_hyperparameters")
        return o

    # ------------------------------------------------------------------ state
    def _init_state(self) -> None:
        x0 = self._x0_unit()
        self._iterate = np.full(self.dim, 0.5) if x0 is None else x0.copy()
        self._phase = "evaluate"  # evaluate the iterate, or "explore" around it
        self._n_explored = 0
        self._n_steps = 0
        self._n_resets = 0
        self._virtual: list[float | None] = []
        self._last: dict[str, float] = {}

    def _get_state(self) -> dict[str, Any]:
        return {
            "iterate": self._iterate.tolist(),
            "phase": self._phase,
            "n_explored": self._n_explored,
            "n_steps": self._n_steps,
            "n_resets": self._n_resets,
            "virtual": list(self._virtual),
            "last": dict(self._last),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self._iterate = np.array(state["iterate"], dtype=np.float64)
        self._phase = str(state["phase"])
        self._n_explored = int(state["n_explored"])
        self._n_steps = int(state["n_steps"])
        self._n_resets = int(state["n_resets"])
        self._virtual = [None if v is None else float(v) for v in state["virtual"]]
        self._last = {k: float(v) for k, v in state["last"].items() if v is not None}

    @property
    def iterate(self) -> np.ndarray:
        r"""The current iterate :math:`x_*` in original units."""
        return self.lower + self._iterate * (self.upper - self.lower)

    # ------------------------------------------------------------------ model
    def _model(self, purpose: str):
        r"""GP on all observations (virtual values for crashes), or None without data."""
        X, y = training_data(self._unit_history(), self._values, self._crashed, self._virtual)
        if len(y) == 0:
            return None
        return self._fit(X, y, purpose)

    def _fit(self, X: np.ndarray, y: np.ndarray, purpose: str):
        o = self.options
        with seeded_torch(derive_seed(self.seed, len(self._X), purpose)):
            return fixed_gp(
                torch.from_numpy(X),
                torch.from_numpy(y),
                lengthscale=o["lengthscale"],
                outputscale=o["outputscale"],
                noise=o["noise"],
                kernel=o["kernel"],
                refit=o["refit_hyperparameters"],
            )

    def _query_box(self) -> torch.Tensor:
        r = self.options["query_radius"]
        x = torch.from_numpy(self._iterate)
        return torch.stack([(x - r).clamp(0.0, 1.0), (x + r).clamp(0.0, 1.0)])

    # --------------------------------------------------------------- ask/tell
    def _ask_unit(self) -> np.ndarray:
        if self._phase == "evaluate":
            return self._iterate.copy()
        n = len(self._X)
        if all(self._crashed):
            return self._widening_query(n)
        box = self._query_box()
        model = self._model("fit")
        acq = GradientInformation(model, torch.from_numpy(self._iterate))
        o = self.options
        with seeded_torch(derive_seed(self.seed, n, "acqf")):
            cand, _ = optimize_acqf(
                acq,
                bounds=box,
                q=1,
                num_restarts=o["num_restarts"],
                raw_samples=o["raw_samples"],
                options={"seed": derive_seed(self.seed, n, "raw"), "maxiter": 100},
            )
        return cand.detach().reshape(-1).numpy()

    def _widening_query(self, n: int) -> np.ndarray:
        r"""The ``n``-th query while every episode so far crashed (module docstring)."""
        o = self.options
        half = min(1.0, o["query_radius"] * 2.0 ** (n / o["widen_every"]))
        x = torch.from_numpy(self._iterate)
        lower, upper = (x - half).clamp(0.0, 1.0), (x + half).clamp(0.0, 1.0)
        engine = SobolEngine(self.dim, scramble=True, seed=derive_seed(self.seed, 0, "widen"))
        u = engine.draw(n + 1, dtype=DTYPE)[-1]  # one Sobol sequence, so the queries spread
        return (lower + (upper - lower) * u).numpy()

    def _known_crash(self, u: np.ndarray) -> bool:
        U = self._unit_history()
        crashed = np.array(self._crashed, dtype=bool)
        return bool(np.any(np.all(np.abs(U[crashed] - u) <= 1e-12, axis=1)))

    def _on_tell(self, u: np.ndarray, value: float, crashed: bool) -> None:
        # The first feasible point after crashes becomes the iterate (it already ran).
        first_feasible = not crashed and len(self._X) > 1 and all(self._crashed[:-1])
        if first_feasible:
            self._iterate = u.copy()
        self._virtual.append(None)
        if any(c and v is None for c, v in zip(self._crashed, self._virtual, strict=True)):
            self._virtual = assign_virtual_values(
                self._unit_history(),
                self._values,
                self._crashed,
                self._virtual,
                lambda X, y: self._fit(X, y, "virtual"),
                reference=self._iterate,
                beta=self.options["beta"],
            )
        if first_feasible:
            self._phase = "explore"
            self._n_explored = 0
            return
        if self._phase == "evaluate":
            if crashed and self._n_steps > 0:
                self._reset_iterate()
            self._phase = "explore"
            self._n_explored = 0
            return
        if all(self._crashed):
            return  # still widening around x0
        self._n_explored += 1
        if self._n_explored >= self.options["batch_size"]:
            self._step()

    def _step(self) -> None:
        o = self.options
        model = self._model("step")
        eta = cosine_step_size(
            self._n_steps, o["step_size_start"], o["step_size_end"], o["step_horizon"]
        )
        self._last["last_step_size"] = eta
        if model is not None:
            mean, cov = posterior_gradient(model, torch.from_numpy(self._iterate))
            g = mean.numpy()
            ls = model.covar_module.base_kernel.lengthscale.detach().reshape(-1).numpy()
            self._iterate = np.clip(self._iterate + normalized_step(g, ls, eta), 0.0, 1.0)
            self._last["gradient_norm"] = float(np.linalg.norm(g))
            self._last["gradient_trace"] = float(torch.trace(cov))
            self._last.update(hyperparameters(model))
        self._n_steps += 1
        # Never run a theta again that is known to crash: go on exploring around it.
        self._phase = "explore" if self._known_crash(self._iterate) else "evaluate"
        self._n_explored = 0

    def _reset_iterate(self) -> None:
        r"""After a crashed update step, go back to the best evaluated point (by posterior mean)."""
        feasible = [i for i, c in enumerate(self._crashed) if not c]
        model = self._model("reset")
        if not feasible or model is None:
            return
        U = self._unit_history()[feasible]
        mean, _ = posterior_mean_std(model, torch.from_numpy(U))
        self._iterate = U[int(torch.argmax(mean))].copy()
        self._n_resets += 1

    def _recommended_index(self) -> int:
        U = self._unit_history()
        fit = lambda X, y: self._fit(X, y, "recommend")  # noqa: E731
        return best_posterior_mean(U, self._values, self._crashed, self._virtual, fit)

    def _internals(self) -> dict[str, float]:
        out = {
            "gibo_steps": float(self._n_steps),
            "gibo_resets": float(self._n_resets),
            "gibo_explored_in_batch": float(self._n_explored),
            "gibo_step_size": cosine_step_size(
                self._n_steps,
                self.options["step_size_start"],
                self.options["step_size_end"],
                self.options["step_horizon"],
            ),
        }
        for k, v in self._last.items():
            out[k if k.startswith("gp_") else f"gibo_{k}"] = v
        return out
