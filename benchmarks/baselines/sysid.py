r"""System-identification baseline: fit the model to the episodes, use it as theta.

What a control engineer tries first: identify the physical parameters from data and
hand them to the controller. Closed-loop, iterated:

1. Run the AMPC at theta_nom (episode 0, as every tuner does).
2. Fit the model's physical parameters by least squares to all transitions recorded
   so far, ``min sum || wrap(f(x_k, u_{k-d}; p) - x_{k+1}) / s ||^2``, with the analytic
   one-step model ``f`` of the system (its registry entry's ``sysid_model``, for the
   cart-pole :mod:`ampc_agent.systems.cartpole.sysid`),
   residuals scaled per state by their RMS at the nominal model, and the input delay
   ``d`` (whole control steps, 0-2) chosen by the best fit: delay is not in the MPC's
   theta, but fitting it keeps it from biasing the physical parameters.
3. theta = theta_nom with its physical entries replaced by the identified values,
   **clipped into the tuning bounds** (the AMPC is only valid there); run an episode.
4. Repeat from 2 until the budget, ``max_episodes``, or until the next theta equals one
   already run to within 0.1 % of the tuning range (with a fixed episode seed that
   episode would repeat, so the report holds the curve flat from there).

Masses, damping and actuator gain enter the equations only through their ratios
(``model.SCALE_FREE``), so motion data fixes them up to one common scale. A very weak
prior towards the nominal values (log-space, weight ``prior`` per parameter relative
to the data) keeps the fit well posed; then the common scale is chosen so that the
scale-free entries of theta are closest to theta_nom (log-space, see
:func:`closest_scale`), where the AMPC's first-order step is most accurate: for the MPC
itself every point of the ray is the same model. Cost weights in theta stay nominal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ampc_envs.core.angles import wrap_angle
from benchmarks.sweep.config import TrialConfig
from benchmarks.sweep.experiment import Experiment
from benchmarks.sweep.systems import get_system

__all__ = ["run", "identify", "closest_scale"]


def _transitions(
    trajectories: Sequence[tuple[np.ndarray, np.ndarray]], delay: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, us, xn = [], [], []
    for states, actions in trajectories:
        t = len(actions)
        if t <= delay:
            continue
        xs.append(states[delay:t])
        us.append(actions[: t - delay, 0])
        xn.append(states[delay + 1 : t + 1])
    return np.concatenate(xs), np.concatenate(us), np.concatenate(xn)


def identify(
    model: Any,
    trajectories: Sequence[tuple[np.ndarray, np.ndarray]],
    nominal: dict[str, float],
    delays: Sequence[int] = (0, 1, 2),
    prior: float = 1e-3,
) -> dict[str, Any]:
    """Least-squares fit of ``model.FITTED`` to recorded ``(states, actions)`` episodes.

    Args:
        model: One-step model module (``FITTED``, ``ANGLE_DIMS``, ``predict``).
        trajectories: Episodes as ``(states (T+1, nx), actions (T, nu))``.
        nominal: Nominal physical parameters (start point and prior centre).
        delays: Candidate input delays in control steps.
        prior: Weight of the log-space prior per parameter, times sqrt(#residuals).

    Returns:
        ``params`` (identified, all of ``nominal`` with the fitted ones replaced),
        ``delay``, ``cost`` (mean squared scaled residual), ``costs`` per delay,
        ``transitions``.
    """
    from scipy.optimize import least_squares

    names = model.FITTED
    p0 = np.array([nominal[n] for n in names])
    fits = []
    for delay in delays:
        x, u, xn = _transitions(trajectories, delay)
        if len(x) < 10:
            continue

        def errors(z: np.ndarray, x=x, u=u, xn=xn) -> np.ndarray:
            p = dict(nominal, **dict(zip(names, p0 * np.exp(z), strict=True)))
            e = model.predict(x, u, p) - xn
            for d in model.ANGLE_DIMS:
                e[:, d] = wrap_angle(e[:, d])
            return e

        scale = np.sqrt(np.mean(errors(np.zeros(len(names))) ** 2, axis=0)) + 1e-9
        weight = prior * np.sqrt(x.size)

        def residuals(z: np.ndarray, errors=errors, scale=scale, weight=weight) -> np.ndarray:
            return np.concatenate([(errors(z) / scale).ravel(), weight * z])

        sol = least_squares(residuals, np.zeros(len(names)), method="trf")
        data_cost = float(np.mean((errors(sol.x) / scale) ** 2))
        fitted = dict(zip(names, map(float, p0 * np.exp(sol.x)), strict=True))
        fits.append(
            {
                "delay": delay,
                "cost": data_cost,
                "params": dict(nominal, **fitted),
                "transitions": len(x),
            }
        )
    if not fits:
        raise ValueError("too few transitions to identify the model")
    best = min(fits, key=lambda f: f["cost"])
    best["costs"] = {str(f["delay"]): f["cost"] for f in fits}
    return best


def closest_scale(
    exp: Experiment, model: Any, params: dict[str, float]
) -> tuple[float, np.ndarray]:
    """The common factor ``s`` on ``model.SCALE_FREE`` closest to theta_nom, and theta.

    ``s`` minimises ``sum_i log(s p_i / theta_nom_i)^2`` over the scale-free entries of
    theta (closed form: the geometric mean), so entries that the tuning box fixes
    anchor the scale like the others. Returns theta before clipping.
    """
    idx = [i for i, n in enumerate(exp.theta_names) if n in model.SCALE_FREE]
    logs = [np.log(max(params[exp.theta_names[i]], 1e-9) / exp.theta_nominal[i]) for i in idx]
    scale = float(np.exp(-np.mean(logs))) if logs else 1.0
    theta = exp.theta_nominal.copy()
    for i, name in enumerate(exp.theta_names):
        if name in model.FITTED:
            theta[i] = params[name] * (scale if name in model.SCALE_FREE else 1.0)
    return scale, theta


def run(trial: TrialConfig, exp: Experiment) -> dict[str, Any]:
    """Iterated identification (see the module docstring). Options: ``max_episodes``
    (default 10), ``prior`` (1e-3), ``delays`` ([0, 1, 2])."""
    spec = get_system(trial.system).spec
    params_cls = spec.params_cls
    model = spec.sysid()
    physical = [i for i, n in enumerate(exp.theta_names) if n in model.FITTED]
    if not physical:
        raise ValueError(f"theta {exp.theta_names} has no physical parameter to identify")
    nominal = params_cls().to_dict()
    max_episodes = min(trial.budget, int(trial.options.get("max_episodes", 10)))
    prior = float(trial.options.get("prior", 1e-3))
    delays = tuple(trial.options.get("delays", (0, 1, 2)))

    fits = []
    theta = exp.theta_nominal.copy()
    span = exp.upper - exp.lower
    while True:
        exp.run(theta)
        if len(exp.episodes) >= max_episodes:
            break
        fit = identify(model, exp.trajectories, nominal, delays=delays, prior=prior)
        fit["scale"], raw = closest_scale(exp, model, fit["params"])
        theta = np.clip(raw, exp.lower, exp.upper)
        fit["theta"] = theta.tolist()
        fit["clipped"] = [exp.theta_names[i] for i in physical if raw[i] != theta[i]]
        fits.append(fit)
        ran = np.array([e["theta"] for e in exp.episodes])
        if np.any(np.all(np.abs(ran - theta) <= 1e-3 * span, axis=1)):
            break  # the next episode would repeat one already run
    return {"fits": fits, "true_params": exp.params}
