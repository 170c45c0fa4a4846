"""Does theta mean what it says? The adaptation under physical changes of the system.

Two studies on instances drawn from the system's own randomization ranges, with every
mismatch that theta cannot express (delay, sensor noise, parameters outside theta)
set to its nominal value, so that "the true theta" exists:

1. :func:`physical_change_study`: at states the closed loop visits, the AMPC's change of
   action ``clip(u* + J(x) dtheta) - u*`` against the MPC's re-solved change
   ``u*(x, theta_true) - u*(x, theta_nom)`` (slope and R^2), beside the ceiling of any
   linear map of ``dtheta`` (a per-state least-squares fit on the same changes), and
   the per-parameter sign agreement of one-at-a-time changes;
2. :func:`physical_closed_loop`: closed-loop episodes of the AMPC at theta_nom, the AMPC
   at the true theta and the MPC at the true theta, and the share of the return gap
   that knowing the truth closes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ampc_agent.evaluation.accuracy import change_fit, loo_linear_predictions
from ampc_agent.policy import AMPCPolicy
from ampc_agent.systems import SystemSpec

__all__ = [
    "expressible_instances",
    "physical_change_study",
    "physical_closed_loop",
]


def expressible_instances(system: SystemSpec, n: int, seed: int) -> list[Any]:
    """``n`` instances from the system's default ranges with the mismatch theta cannot
    express (fields not in theta: delay, noise, ...) at its nominal value."""
    nominal = system.params_cls()
    physical = set(system.theta.names)
    ranges = {k: v for k, v in system.params_cls.default_ranges.items() if k in physical}
    rng = np.random.default_rng(seed)
    return [nominal.sample(ranges, rng) for _ in range(n)]


def physical_change_study(
    system: SystemSpec,
    policy: AMPCPolicy,
    reference: Any,
    states: np.ndarray,
    instances: list[Any],
    named: dict[str, Any],
) -> dict[str, Any]:
    """The AMPC's change of action under physical changes, against the MPC's.

    Args:
        system: The system.
        policy: The AMPC.
        reference: An :class:`~ampc_agent.evaluation.mpc_reference.MPCReference`
            (re-solves from the nominal solution at each state).
        states: States ``(m, nx)`` (visited in closed loop).
        instances: Random expressible instances (:func:`expressible_instances`).
        named: ``{name: params}`` named instances, reported one by one.

    Returns:
        ``pooled`` (:func:`~ampc_agent.evaluation.accuracy.change_fit` of the AMPC and of
        the per-state linear ceiling over all states and random instances: per state, a
        least-squares fit on the other instances predicts each one), ``named`` (the
        same per named instance, with the ceiling fitted on all random instances),
        ``sign_agreement`` per physical parameter, and ``n_states``.
    """
    lo, hi = policy.input_lower, policy.input_upper
    nominal = policy.theta_nominal
    physical = [i for i, n in enumerate(policy.theta_names) if n in system.params_cls.names()]
    thetas = np.array([system.true_theta(p) for p in instances])
    named_thetas = {k: system.true_theta(p) for k, p in named.items()}
    keep = [i for i, x in enumerate(states) if reference.nominal_solution(x) is not None]
    states = states[keep]
    u_star = np.array([reference.nominal_solution(x).u0 for x in states])
    jac = policy.jacobian(states)

    def mpc_changes(th: np.ndarray) -> np.ndarray:  # (k, m, nu)
        return np.array(
            [[reference(x, t) - u for x, u in zip(states, u_star, strict=True)] for t in th]
        )

    def ampc_changes(j: np.ndarray, th: np.ndarray) -> np.ndarray:
        moved = u_star[None] + np.einsum("mip,kp->kmi", j, th - nominal)
        return np.clip(moved, lo, hi) - u_star[None]

    actual = mpc_changes(thetas)
    # The ceiling: per state, the least-squares linear map of the physical changes of
    # the other instances, predicting the left-out one.
    d = (thetas - nominal)[:, physical]
    ceiling = np.stack([loo_linear_predictions(d, actual[:, m]) for m in range(len(states))], 1)
    ceiling = np.clip(u_star[None] + ceiling, lo, hi) - u_star[None]
    ceiling_jac = np.zeros_like(jac)
    for m in range(len(states)):
        ok = np.all(np.isfinite(actual[:, m]), axis=1)
        if ok.sum() > len(physical):
            fit, *_ = np.linalg.lstsq(d[ok], actual[ok, m], rcond=None)
            ceiling_jac[m][:, physical] = fit.T
    out: dict[str, Any] = {
        "n_states": int(len(states)),
        "n_instances": int(len(instances)),
        "pooled": {
            "ampc": change_fit(ampc_changes(jac, thetas), actual),
            "ceiling": change_fit(ceiling, actual),
        },
        "named": {},
    }
    ceiling = out["pooled"]["ceiling"]["r2"]
    out["pooled"]["share_of_ceiling"] = (
        float(out["pooled"]["ampc"]["r2"] / ceiling) if ceiling > 0 else None
    )
    for name, th in named_thetas.items():
        act = mpc_changes(th[None])
        out["named"][name] = {
            "ampc": change_fit(ampc_changes(jac, th[None]), act),
            "ceiling": change_fit(ampc_changes(ceiling_jac, th[None]), act),
        }
    out["sign_agreement"] = _sign_agreement(
        system, policy, reference, states, u_star, jac, physical
    )
    return out


def _sign_agreement(
    system: SystemSpec,
    policy: AMPCPolicy,
    reference: Any,
    states: np.ndarray,
    u_star: np.ndarray,
    jac: np.ndarray,
    physical: list[int],
    tol: float = 1e-3,
) -> dict[str, float | None]:
    """Per physical parameter, moved alone to each end of its randomization range: the
    share of (state, end) pairs where ``J dtheta`` and the MPC's change have one sign
    (pairs where the MPC's action moves less than ``tol`` are left out)."""
    out: dict[str, float | None] = {}
    ranges = system.params_cls.default_ranges
    for j in physical:
        name = policy.theta_names[j]
        if name not in ranges:
            continue
        agree, total = 0, 0
        for end in ranges[name]:
            theta = policy.theta_nominal.copy()
            theta[j] = np.clip(end, policy.theta_lower[j], policy.theta_upper[j])
            if theta[j] == policy.theta_nominal[j]:
                continue
            for m, x in enumerate(states):
                change = reference(x, theta) - u_star[m]
                predicted = jac[m][:, j] * (theta[j] - policy.theta_nominal[j])
                big = np.abs(change) > tol
                agree += int(np.sum(np.sign(change[big]) == np.sign(predicted[big])))
                total += int(big.sum())
        out[name] = agree / total if total else None
    return out


def physical_closed_loop(
    system: SystemSpec,
    policy: AMPCPolicy,
    mpc_controller: Callable[[np.ndarray], Any],
    instances: list[Any],
    seed: int,
) -> dict[str, Any]:
    """Closed loop on expressible instances: AMPC at theta_nom and at the true theta,
    MPC at the true theta.

    Args:
        system: The system.
        policy: The AMPC.
        mpc_controller: ``mpc_controller(theta) -> controller`` (a fresh MPC controller
            at ``theta``).
        instances: Expressible instances (:func:`expressible_instances`).
        seed: First episode seed (instance ``i`` runs with ``seed + i``).

    Returns:
        Per controller ``returns``, ``success`` and ``crashed`` per instance, their
        means, the instances' parameters, and ``gap_closed``: (AMPC true - AMPC nominal)
        / (MPC true - AMPC nominal) of the mean returns.
    """
    from ampc_envs.core.episode import run_episode

    env = system.make_env()
    dt = float(env.unwrapped.dt)
    runs: dict[str, dict[str, list]] = {
        k: {"returns": [], "success": [], "crashed": []}
        for k in ("ampc_nominal", "ampc_true", "mpc_true")
    }
    for i, params in enumerate(instances):
        theta = system.true_theta(params)
        acting = system.controller(policy)
        for key, controller in (
            ("ampc_nominal", acting),
            ("ampc_true", acting),
            ("mpc_true", mpc_controller(theta)),
        ):
            policy.theta = theta if key == "ampc_true" else policy.theta_nominal
            ep = run_episode(env, controller, seed=seed + i, params=params, record_states=True)
            runs[key]["returns"].append(ep["return"])
            runs[key]["crashed"].append(bool(ep["crashed"]))
            runs[key]["success"].append(bool(system.success(ep["states"], ep["crashed"], dt)))
    policy.theta = policy.theta_nominal
    env.close()
    out: dict[str, Any] = {"instances": [p.to_dict() for p in instances]}
    for key, r in runs.items():
        out[key] = {
            **r,
            "mean_return": float(np.mean(r["returns"])),
            "success_rate": float(np.mean(r["success"])),
            "crash_rate": float(np.mean(r["crashed"])),
        }
    gap = out["mpc_true"]["mean_return"] - out["ampc_nominal"]["mean_return"]
    gain = out["ampc_true"]["mean_return"] - out["ampc_nominal"]["mean_return"]
    out["gap_closed"] = float(gain / gap) if abs(gap) > 1e-9 else None
    return out
