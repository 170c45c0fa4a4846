r"""Oracle reference of a system instance: the best the AMPC's theta can do there.

``method: cmaes`` (default): a long CMA-ES run on the same experiment (same instance,
same episode seed), started at the *true* physical parameters (the theta a perfect
identification would give, clipped into the tuning bounds), for ``episodes``
episodes (default 200, four times the tuners' largest budget). The oracle value is
the best non-crashed return of that run. Its episode 0 is the AMPC at the true
parameters, kept as ``extra["true_theta"]``.

Why not the MPC with the true parameters as the reference? The MPC's model has no
actuation delay and no sensor noise, so on a mismatched system it is not the best
controller either; the AMPC imitates the MPC only approximately; and the tuners search
the AMPC's theta, so "fraction of the achievable improvement within this theta space"
is the number that tells how well a tuner uses its episodes. The MPC at the true
parameters is still run once per oracle trial, when the system has an MPC
(``mpc_reference``, default on), and reported beside it as ``mpc-true``: one episode of
the full acados MPC, same instance and episode seed, a failed solve holding the
previous command. The oracle is privileged (it knows
the instance and spends many episodes), so a tuner can come close to 1 but should
rarely pass it; a normalised score above 1 means the oracle run missed an optimum.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.sweep.config import TrialConfig
from benchmarks.sweep.experiment import Experiment, physical_theta
from benchmarks.sweep.systems import get_system

__all__ = ["mpc_reference", "run", "true_theta"]


def true_theta(exp: Experiment) -> tuple[np.ndarray, list[str]]:
    """theta_nom with its physical entries set to the instance's true values, clipped
    into the tuning bounds; also the names of the entries that were clipped."""
    raw = exp.theta_nominal.copy()
    for i, value in physical_theta(exp.theta_names, exp.params).items():
        raw[i] = value
    theta = np.clip(raw, exp.lower, exp.upper)
    clipped = [n for n, a, b in zip(exp.theta_names, raw, theta, strict=True) if a != b]
    return theta, clipped


class _HoldOnFailure:
    """The MPC as a controller; a solve that fails holds the previous command."""

    def __init__(self, mpc: Any, theta: np.ndarray) -> None:
        self.mpc, self.theta = mpc, theta
        self.u = np.zeros(mpc.nu)
        self.failures = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from ampc_agent.mpc import MPCSolveError

        try:
            self.u = np.asarray(self.mpc(x, self.theta), dtype=float)
        except MPCSolveError:
            self.failures += 1
        return self.u


def mpc_reference(trial: TrialConfig, exp: Experiment) -> dict[str, Any] | None:
    """One episode of the system's MPC at the true physical parameters (clipped into the
    MPC's theta bounds), or ``None`` if the system has no MPC."""
    from ampc_envs.tuning import run_episode

    mpc = get_system(trial.system).make_mpc()
    if mpc is None:
        return None
    spec = mpc.theta_spec
    theta = spec.nominal_array
    for i, value in physical_theta(spec.names, exp.params).items():
        theta[i] = value
    theta = np.clip(theta, spec.lower_array, spec.upper_array)
    controller = _HoldOnFailure(mpc, theta)
    mpc.reset()
    start = time.perf_counter()
    result = run_episode(
        exp.env.system_env, controller, seed=exp.episode_seed(0), params=exp.params
    )
    return {
        "theta": theta.tolist(),
        "return": float(result["return"]),
        "crashed": bool(result["crashed"]),
        "length": int(result["length"]),
        "failed_solves": controller.failures,
        "wall_time": time.perf_counter() - start,
    }


def run(trial: TrialConfig, exp: Experiment) -> dict[str, Any]:
    """Run the oracle. Options: ``method`` (``"cmaes"``), ``episodes`` (200),
    ``mpc_reference`` (True), and any option of the CMA-ES tuner. The trial's ``budget``
    does not limit the oracle."""
    from ampc_agent.tuners import make_tuner

    options = dict(trial.options)
    method = options.pop("method", "cmaes")
    episodes = int(options.pop("episodes", 200))
    with_mpc = bool(options.pop("mpc_reference", True))
    if method != "cmaes":
        raise ValueError(f"unknown oracle method {method!r}; valid: ['cmaes']")
    theta0, clipped = true_theta(exp)
    tuner = make_tuner("cmaes", exp.lower, exp.upper, seed=trial.seed, x0=theta0, **options)
    for _ in range(episodes):
        theta = tuner.ask()
        episode = exp.run(theta)
        tuner.tell(theta, episode["return"], crashed=episode["crashed"])
    first = exp.episodes[0]
    reference = mpc_reference(trial, exp) if with_mpc else None
    return {
        "method": method,
        "mpc_true": reference,
        "true_theta": {
            "theta": first["theta"],
            "return": first["return"],
            "crashed": first["crashed"],
            "clipped": clipped,
        },
    }
