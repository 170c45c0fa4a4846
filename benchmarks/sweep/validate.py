"""Everything a sweep needs is checked before its first trial runs.

A typo in a config (an unknown instance, a tuner option, a baseline the system cannot
run) would otherwise surface as a failed record minutes into a sweep. The checks build
what the trials build (the controller, the system env, the tuner on the trial's box)
once per distinct setting, and run nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.sweep.config import TUNERS, TrialConfig, resolve_instance, unique
from benchmarks.sweep.experiment import tuning_spec
from benchmarks.sweep.systems import get_system

__all__ = ["BASELINE_OPTIONS", "check_trials"]


def _positive_int(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be an integer >= 1, got {value!r}")


def _nonnegative(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"must be a number >= 0, got {value!r}")


def _fraction(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"must be a number in [0, 1], got {value!r}")


def _flag(value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")


def _delays(value: Any) -> None:
    ok = isinstance(value, (list, tuple)) and value
    if not ok or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in value):
        raise ValueError(f"must be a list of integers >= 0, got {value!r}")


#: The options each baseline reads (see ``benchmarks/baselines``); the oracle hands any
#: other option to its CMA-ES phase.
BASELINE_OPTIONS: dict[str, dict[str, Callable[[Any], None]]] = {
    "nominal": {"episodes": _positive_int},
    "sysid": {"max_episodes": _positive_int, "prior": _nonnegative, "delays": _delays},
    "oracle": {
        "episodes": _positive_int,
        "random_fraction": _fraction,
        "mpc_reference": _flag,
        "validate": _positive_int,
        "validate_episodes": _positive_int,
    },
}


def check_trials(trials: Sequence[TrialConfig]) -> None:
    """Check every trial's instance, method, options and box; run nothing.

    Raises:
        ValueError: one line naming the system, the setting and what is wrong.
    """
    policies: dict[str, Any] = {}
    envs: dict[str, Any] = {}
    seen: set[str] = set()
    for t in unique(trials):
        system = get_system(t.system)
        if t.system not in policies:
            import gymnasium as gym

            import ampc_envs  # noqa: F401  (registers the env ids)

            policies[t.system] = system.make_policy()
            envs[t.system] = gym.make(system.env_id).unwrapped
        instance_key = json.dumps([t.system, t.instance, t.seed], sort_keys=True)
        if instance_key not in seen:
            seen.add(instance_key)
            try:
                params = resolve_instance(system.spec.params_cls, t.instance, t.seed)
                envs[t.system].check_params(params)
            except ValueError as err:
                raise ValueError(f"instance {t.instance!r} of system {t.system!r}: {err}") from None
        method_key = json.dumps([t.system, t.bounds, t.tuner, t.options], sort_keys=True)
        if method_key not in seen:
            seen.add(method_key)
            try:
                _check_method(t, system, policies[t.system])
            except ValueError as err:
                raise ValueError(f"{t.tuner} on system {t.system!r}: {err}") from None
    for env in envs.values():
        env.close()


def _check_method(trial: TrialConfig, system: Any, policy: Any) -> None:
    from ampc_agent.tuners.box import TuningBox

    box = TuningBox.from_spec(tuning_spec(policy, trial.bounds))
    if trial.tuner in TUNERS:
        box.make_tuner(trial.tuner, seed=trial.seed, **trial.options)
        return
    known = BASELINE_OPTIONS[trial.tuner]
    extra = {k: v for k, v in trial.options.items() if k not in known}
    for key, check in known.items():
        if key in trial.options:
            try:
                check(trial.options[key])
            except ValueError as err:
                raise ValueError(f"option {key} {err}") from None
    if trial.tuner == "oracle":
        box.make_tuner("cmaes", seed=trial.seed, **extra)  # the rest goes to CMA-ES
    elif extra:
        raise ValueError(f"unknown option(s) {sorted(extra)}; valid: {sorted(known)}")
    if trial.tuner == "sysid" and system.spec.sysid_model is None:
        raise ValueError("the system has no sysid_model to identify")
