"""``ampc eval SYSTEM``: the AMPC beside the MPC, from data to report.

Four studies, each a plain function of the system, the policy and the MPC:

1. held-out accuracy of ``pi`` and ``J`` on the test set saved with the weights;
2. closed loop on the nominal MuJoCo system from ``n_starts`` start states:
   success rate (the system's rule) and return of the AMPC and the warm-started MPC;
3. adaptation: for theta drawn inside the bounds, the action error of the adapted
   AMPC, of the unadapted ``pi`` and of the exact Taylor step against the MPC solved
   at that theta, as a function of the normalised distance ``||theta - theta_nom||``;
4. one-at-a-time sweeps of each parameter, from which the recommended tuning range
   follows (:func:`~ampc_agent.evaluation.adaptation.recommend_tuning_bounds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ampc_agent.dataset.storage import SECANT_ARRAYS
from ampc_agent.evaluation.accuracy import heldout_accuracy
from ampc_agent.evaluation.adaptation import (
    action_errors,
    error_by_distance,
    normalized_distance,
    parameter_sweeps,
    recommend_tuning_bounds,
    sample_thetas,
    trimmed_change_means,
)
from ampc_agent.evaluation.closed_loop import compare_closed_loop
from ampc_agent.evaluation.mpc_reference import MPCReference
from ampc_agent.evaluation.physical import (
    expressible_instances,
    physical_change_study,
    physical_closed_loop,
)
from ampc_agent.mpc.controller import MPCController
from ampc_agent.policy import AMPCPolicy
from ampc_agent.systems import SystemSpec

__all__ = ["evaluate_ampc", "accuracy_on_test_set", "DISTANCE_EDGES"]

#: Bins of the normalised distance for the adaptation table.
DISTANCE_EDGES = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.2, 2.0])


def evaluate_ampc(
    system: SystemSpec,
    policy: AMPCPolicy,
    mpc: Any,
    test_set: dict[str, np.ndarray],
    *,
    n_starts: int = 50,
    n_states: int = 40,
    n_thetas: int = 60,
    sweep_points: int = 3,
    n_physical_states: int = 40,
    n_instances: int = 30,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the four studies and return a JSON-serialisable report.

    Args:
        system: The system (env, success rule).
        policy: The AMPC (its theta is left at theta_nom).
        mpc: The system's :class:`~ampc_agent.mpc.parametric.ParametricMPC`.
        test_set: Held-out ``x``, ``u``, ``du_dtheta`` (from ``test_set.npz``).
        n_starts: Closed-loop start states.
        n_states: States (from the test set) of the adaptation study.
        n_thetas: Random parameter vectors of the adaptation study.
        sweep_points: Sweep values between nominal and each bound, per parameter.
        n_physical_states: Closed-loop states of the physical-change study.
        n_instances: Random expressible instances of the physical-change study and of
            the closed loop at the true theta.
        seed: Seed of the start states, the state subset and the thetas.
        log: Progress messages.

    Returns:
        ``accuracy``, ``closed_loop``, ``adaptation`` (per-theta distances and mean
        errors, binned table), ``sweeps``, ``tuning_lower`` / ``tuning_upper``, timings.
    """
    policy.theta = policy.theta_nominal
    report: dict[str, Any] = {
        "system": system.name,
        "input_unit": system.input_unit,
        "success_rule": (system.success.__doc__ or "").strip().splitlines()[0],
        "theta_names": list(policy.theta_names),
        "theta_nominal": policy.theta_nominal.tolist(),
        "theta_lower": policy.theta_lower.tolist(),
        "theta_upper": policy.theta_upper.tolist(),
        "seed": seed,
    }
    t0 = time.perf_counter()
    report["accuracy"] = accuracy_on_test_set(policy, test_set)
    log(
        f"held-out accuracy: pi RMSE {report['accuracy']['pi_rmse']:.3f} "
        f"{system.input_unit}, "
        f"J R^2 {report['accuracy']['jacobian_r2']:.3f}"
    )

    t1 = time.perf_counter()
    controller = system.controller(MPCController(mpc))
    report["closed_loop"] = compare_closed_loop(
        system,
        {"AMPC": system.controller(policy), "MPC": controller},
        n_starts=n_starts,
        seed=seed,
        progress=lambda m: log(m) if m.endswith("crashed True") else None,
        visited_stride=10,
    )
    visited = report["closed_loop"]["MPC"].pop("visited")
    report["closed_loop"]["AMPC"].pop("visited")
    report["closed_loop"]["mpc_failed_solves"] = controller.failures
    cl = report["closed_loop"]
    ratio = cl["AMPC"]["success_rate"] / max(cl["MPC"]["success_rate"], 1e-12)
    cl["success_ratio"] = ratio
    log(
        f"closed loop ({n_starts} starts): AMPC success {cl['AMPC']['success_rate']:.2f} "
        f"return {cl['AMPC']['mean_return']:.1f}; MPC success {cl['MPC']['success_rate']:.2f} "
        f"return {cl['MPC']['mean_return']:.1f}; ratio {ratio:.2f} "
        f"({time.perf_counter() - t1:.0f} s)"
    )

    t2 = time.perf_counter()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(test_set["x"]), size=min(n_states, len(test_set["x"])), replace=False)
    reference = MPCReference(mpc)
    keep = [i for i in idx if reference.nominal_solution(test_set["x"][i]) is not None]
    states = test_set["x"][keep]
    u_lab, du_lab = test_set["u"][keep], test_set["du_dtheta"][keep]
    u_nom_mpc = np.array([reference.nominal_solution(x).u0 for x in states])
    nominal_error = float(np.abs(policy.batch(states) - u_nom_mpc).mean())
    label_gap = float(np.abs(u_nom_mpc - u_lab).mean())
    thetas = sample_thetas(
        policy.theta_nominal, policy.theta_lower, policy.theta_upper, n_thetas, rng
    )
    dist = normalized_distance(thetas, policy.theta_nominal, policy.theta_lower, policy.theta_upper)
    errs = action_errors(policy, reference, states, thetas, u_lab, du_lab, u_nom_mpc)
    methods = {
        k: errs[k] for k in ("adapted", "unadapted", "taylor", "mpc_change", "adapted_change")
    }
    report["adaptation"] = {
        "n_states": len(states),
        "n_thetas": n_thetas,
        "nominal_error": nominal_error,
        "label_gap": label_gap,
        "distance": dist.tolist(),
        "thetas": thetas.tolist(),
        **{f"{k}_per_theta": np.nanmean(v, axis=1).tolist() for k, v in methods.items()},
        "table": error_by_distance(dist, methods, DISTANCE_EDGES),
    }
    mc_trim, ac_trim = trimmed_change_means(errs["mpc_change"], errs["adapted_change"])
    report["adaptation"]["mpc_change_trimmed_per_theta"] = mc_trim.tolist()
    report["adaptation"]["adapted_change_trimmed_per_theta"] = ac_trim.tolist()
    for row in report["adaptation"]["table"]:
        sel = (dist >= row["lo"]) & (dist < row["hi"])
        row["mpc_change_trimmed_mean"] = float(np.nanmean(mc_trim[sel]))
        row["adapted_change_trimmed_mean"] = float(np.nanmean(ac_trim[sel]))
    log(
        f"adaptation: {n_thetas} thetas x {len(states)} states "
        f"({time.perf_counter() - t2:.0f} s); AMPC error at theta_nom {nominal_error:.3f} "
        f"{system.input_unit}"
    )

    t3 = time.perf_counter()
    sweeps = parameter_sweeps(policy, reference, states, sweep_points, u_lab, du_lab, u_nom_mpc)
    # Changes below half a percent of the input range count as faithful (0.1 N on the
    # cart-pole's +-10 N).
    tolerance = 0.005 * float(np.mean(policy.input_upper - policy.input_lower))
    sweep_lower, sweep_upper = recommend_tuning_bounds(policy, sweeps, tolerance=tolerance)
    report["sweeps"] = sweeps
    report["tuning_rule"] = (
        "per parameter, the widest sweep interval around theta_nom on which the AMPC's "
        "change of action follows the MPC's: mean |(u(theta) - u(theta_nom)) - "
        "(u*(theta) - u*(theta_nom))| <= max(0.8 x mean |u*(theta) - u*(theta_nom)|, "
        f"{tolerance:.3g} in input units), means over the states without the 10 % where the "
        "MPC's action moved most (jumps to another local optimum)"
    )
    report["mpc_reference"] = {
        "branch_switches": reference.branch_switches,
        "failures": reference.failures,
    }
    log(
        f"sweeps ({time.perf_counter() - t3:.0f} s): sweep box "
        f"{_box(policy, sweep_lower, sweep_upper)}"
    )

    t4 = time.perf_counter()
    picked = rng.choice(len(visited), size=min(n_physical_states, len(visited)), replace=False)
    instances = expressible_instances(system, n_instances, seed)
    named = {k: system.params_cls.named(k) for k in system.params_cls.instances}
    report["physical"] = physical_change_study(
        system, policy, reference, visited[np.sort(picked)], instances, named
    )
    pooled = report["physical"]["pooled"]
    log(
        f"physical changes ({time.perf_counter() - t4:.0f} s): AMPC slope "
        f"{pooled['ampc']['slope']:.2f} R^2 {pooled['ampc']['r2']:.2f}; linear ceiling "
        f"R^2 {pooled['ceiling']['r2']:.2f}"
    )
    t5 = time.perf_counter()
    report["physical_closed_loop"] = physical_closed_loop(
        system, policy, lambda theta: system.controller(MPCController(mpc, theta)), instances, seed
    )
    pcl = report["physical_closed_loop"]
    log(
        f"closed loop on {n_instances} expressible instances ({time.perf_counter() - t5:.0f} "
        f"s): AMPC nominal {pcl['ampc_nominal']['mean_return']:.1f}, AMPC true theta "
        f"{pcl['ampc_true']['mean_return']:.1f}, MPC true theta "
        f"{pcl['mpc_true']['mean_return']:.1f}; gap closed {pcl['gap_closed']}"
    )
    lower, upper = widen_to_closed_loop(policy, sweep_lower, sweep_upper, pcl)
    if (lower != sweep_lower).any() or (upper != sweep_upper).any():
        report["tuning_rule"] += (
            f"; widened, for the physical parameters, to the span of the {n_instances} "
            "expressible instances, on which the AMPC at the true theta swung up "
            f"{pcl['ampc_true']['success_rate']:.0%} and closed "
            f"{pcl['gap_closed']:.0%} of the return gap to the MPC (validated in closed "
            f"loop: success >= {CLOSED_LOOP_SUCCESS:.0%} and gap closed >= "
            f"{CLOSED_LOOP_GAP:.0%})"
        )
    report["tuning_lower"], report["tuning_upper"] = lower.tolist(), upper.tolist()
    inside = np.all((thetas >= lower) & (thetas <= upper), axis=1)
    report["adaptation"]["inside_tuning_box"] = {
        "n_theta": int(inside.sum()),
        **{
            f"{k}_mean": float(np.nanmean(v[inside])) if inside.any() else None
            for k, v in methods.items()
        },
    }
    log(f"tuning bounds {_box(policy, lower, upper)}")
    report["seconds"] = {
        "accuracy": t1 - t0,
        "closed_loop": t2 - t1,
        "adaptation": t3 - t2,
        "sweeps": t4 - t3,
        "physical": t5 - t4,
        "physical_closed_loop": time.perf_counter() - t5,
        "total": time.perf_counter() - t0,
    }
    return report


def accuracy_on_test_set(policy: AMPCPolicy, test_set: dict[str, np.ndarray]) -> dict[str, Any]:
    """:func:`heldout_accuracy` on a test set, with its secant labels where it has them."""
    secant = {k: test_set[k] for k in SECANT_ARRAYS if k in test_set}
    return heldout_accuracy(policy, test_set["x"], test_set["u"], test_set["du_dtheta"], **secant)


def _box(policy: AMPCPolicy, lower: np.ndarray, upper: np.ndarray) -> dict[str, tuple]:
    """``{name: (lower, upper)}`` of a tuning box, for the log."""
    return dict(
        zip(policy.theta_names, zip(lower.tolist(), upper.tolist(), strict=True), strict=True)
    )


#: When the AMPC at the true theta passes these on the expressible instances, the tuning
#: box of each physical parameter covers the instances' span.
CLOSED_LOOP_SUCCESS, CLOSED_LOOP_GAP = 0.95, 0.5


def widen_to_closed_loop(
    policy: AMPCPolicy, lower: np.ndarray, upper: np.ndarray, pcl: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """The sweep box widened, per physical parameter, to the span of the instances of
    :func:`physical_closed_loop` when the AMPC at their true theta passed there
    (success >= :data:`CLOSED_LOOP_SUCCESS`, gap closed >= :data:`CLOSED_LOOP_GAP`).

    One-at-a-time sweeps judge the change of action at 60 states; the closed loop judges
    what a user keeps, the swing-up at the true parameters. Cost weights (not in the
    instances) keep the sweep box.
    """
    lower, upper = np.array(lower, dtype=float), np.array(upper, dtype=float)
    gap = pcl.get("gap_closed")
    if (
        pcl["ampc_true"]["success_rate"] < CLOSED_LOOP_SUCCESS
        or gap is None
        or (gap < CLOSED_LOOP_GAP)
    ):
        return lower, upper
    for j, name in enumerate(policy.theta_names):
        values = [inst[name] for inst in pcl["instances"] if name in inst]
        if values:
            lower[j] = max(policy.theta_lower[j], min(lower[j], min(values)))
            upper[j] = min(policy.theta_upper[j], max(upper[j], max(values)))
    return lower, upper
