"""The experiment of one trial: a controller at theta for one episode on a system instance."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.sweep.config import TrialConfig, resolve_instance
from benchmarks.sweep.systems import get_system

__all__ = ["Experiment", "physical_theta", "tuning_spec"]


def tuning_spec(policy: Any, bounds: str) -> Any:
    """The policy's theta spec with the box a trial searches (``TrialConfig.bounds``):
    its own tuning box (``"tuning"``) or the whole range of theta (``"theta"``)."""
    spec = policy.theta_spec
    return spec.with_tuning_bounds(spec.lower, spec.upper) if bounds == "theta" else spec


def physical_theta(theta_names: tuple[str, ...], params: dict[str, float]) -> dict[int, float]:
    """``{index in theta: value}`` for the theta entries that are physical parameters.

    An entry is physical when its name is a field of the system's params class (for
    example ``cart_mass``); cost weights are not.
    """
    return {i: float(params[n]) for i, n in enumerate(theta_names) if n in params}


class Experiment:
    """Runs episodes of one trial and keeps their records (and trajectories).

    Builds the trial's controller and an :class:`~ampc_agent.tuning.env.EpisodeTuningEnv` on
    the trial's system instance; :meth:`run` is one closed-loop episode at ``theta``,
    the same episode as ``EpisodeTuningEnv.step`` (checked theta, same seed rule) but
    also returning the trajectory, which the identification baseline needs.

    Args:
        trial: The trial configuration.

    Attributes:
        policy: The controller whose theta is tuned.
        env: The tuning env (bounds, instance, episode seed).
        params: The system instance as a plain dict.
        lower, upper: Tuning bounds of theta.
        free: Mask of the entries a tuner searches (``upper > lower``); entries with
            ``lower == upper`` are fixed by the policy's tuning box.
        episodes: One dict per episode run so far (the record's ``episodes``).
        trajectories: ``(states, actions)`` of each episode.
        deployed: One dict per deployment of a recommended theta (the record's
            ``deployed``, see :meth:`deploy`).
    """

    def __init__(self, trial: TrialConfig) -> None:
        from ampc_agent.tuners.box import TuningBox
        from ampc_agent.tuning.env import EpisodeTuningEnv

        self.trial = trial
        system = get_system(trial.system)
        params = resolve_instance(system.spec.params_cls, trial.instance, trial.seed)
        self.policy = system.make_policy()
        box = tuning_spec(self.policy, trial.bounds)
        self.env = EpisodeTuningEnv(
            system.env_id,
            self.policy,
            instance=params,
            episode_seed=trial.episode_seed,
            seed=trial.seed,
            lower=box.tuning_lower,
            upper=box.tuning_upper,
        )
        self.params: dict[str, float] = dict(self.env.system)
        spec = self.env.theta_spec  # bounds flow one way: policy -> tuning env -> box
        self.theta_names = spec.names
        self.theta_nominal = spec.nominal_array
        self.lower = spec.tuning_lower_array
        self.upper = spec.tuning_upper_array
        self.box = TuningBox.from_spec(spec)
        self.free = self.box.free
        self.episodes: list[dict[str, Any]] = []
        self.trajectories: list[tuple[np.ndarray, np.ndarray]] = []
        self.deployed: list[dict[str, Any]] = []
        self._held_out: dict[tuple[float, ...], dict[str, Any]] = {}

    def full_theta(self, free_values: np.ndarray) -> np.ndarray:
        """theta with the free entries set to ``free_values`` and the fixed ones at their
        (only) value."""
        return self.box.full(free_values)

    def episode_seed(self, episode: int) -> int:
        """Seed of episode ``episode``: the trial seed, or trial seed + episode if fresh."""
        return self.env.seed_for(episode)

    def run(self, theta: Any, controller: Any = None) -> dict[str, Any]:
        """Run one episode at ``theta`` and append its record.

        Args:
            theta: Parameter vector inside the tuning bounds (else ``ValueError``).
            controller: Run this controller instead of the policy (the oracle's MPC);
                ``theta`` is still recorded.

        Returns:
            The episode record: ``episode``, ``theta``, ``return``, ``crashed``,
            ``length``, ``episode_seed``, ``wall_time`` (s).
        """
        episode = len(self.episodes)
        start = time.perf_counter()
        result = self.env.run(theta, controller)
        wall = time.perf_counter() - start
        record = {
            "episode": episode,
            "theta": [float(t) for t in result["theta"]],
            "return": float(result["return"]),
            "crashed": bool(result["crashed"]),
            "length": int(result["length"]),
            "episode_seed": result["episode_seed"],
            "wall_time": wall,
        }
        self.episodes.append(record)
        self.trajectories.append((result["observations"], result["actions"]))
        return record

    def deploy(self, theta: Any, rule: str, budget: int | None = None) -> dict[str, Any]:
        """Run the theta a method recommends after its episodes so far on the held-out
        episodes (:meth:`TrialConfig.held_out_seeds`) and append the result.

        The same theta is run once per trial: a later deployment of it reuses the
        episodes (they are the same: same seeds, same instance). The held-out episodes
        are not tuning episodes (not in :attr:`episodes`, not told to the tuner).

        Args:
            theta: The whole theta, inside the tuning bounds.
            rule: How the method chose it (``"best observed"``, ``"best posterior mean"``).
            budget: The tuning episodes it was chosen from (default: all run so far).

        Returns:
            ``budget`` (tuning episodes run before it), ``theta``, ``rule``,
            ``episode_seeds``, ``returns``, ``crashed``, ``mean_return``, ``crash_rate``
            (over the held-out episodes), ``wall_time`` (s; 0 when reused).
        """
        theta = self.env.check_theta(theta)
        key = tuple(float(t) for t in theta)
        start = time.perf_counter()
        if key not in self._held_out:
            seeds = self.trial.held_out_seeds()
            overlap = set(seeds) & {e["episode_seed"] for e in self.episodes}
            if overlap:  # cannot happen with TrialConfig's seeds; never report a leak
                raise RuntimeError(f"held-out seeds {sorted(overlap)} were tuning seeds")
            runs = [self.env.run(theta, seed=s) for s in seeds]
            self._held_out[key] = {
                "episode_seeds": seeds,
                "returns": [float(r["return"]) for r in runs],
                "crashed": [bool(r["crashed"]) for r in runs],
            }
        held = self._held_out[key]
        record = {
            "budget": len(self.episodes) if budget is None else int(budget),
            "theta": list(key),
            "rule": rule,
            **{k: list(v) for k, v in held.items()},
            "mean_return": float(np.mean(held["returns"])),
            "crash_rate": float(np.mean(held["crashed"])),
            "wall_time": time.perf_counter() - start,
        }
        self.deployed.append(record)
        return record

    def deploy_best_observed(self, budgets: list[int]) -> None:
        """Deploy, for each budget, the best non-crashed theta among the episodes up to
        it (theta_nom while all crashed): the rule of the baselines."""
        for b in budgets:
            ok = [e for e in self.episodes[:b] if not e["crashed"]]
            best = max(ok, key=lambda e: e["return"])["theta"] if ok else self.theta_nominal
            self.deploy(best, "best observed", budget=b)

    def totals(self) -> dict[str, Any]:
        """Summary of the episodes: best non-crashed return and theta, crashes, times."""
        ok = [e for e in self.episodes if not e["crashed"]]
        best = max(ok, key=lambda e: e["return"]) if ok else None
        return {
            "episodes": len(self.episodes),
            "crashes": sum(e["crashed"] for e in self.episodes),
            "best_return": best["return"] if best else None,
            "best_episode": best["episode"] if best else None,
            "best_theta": best["theta"] if best else None,
            "wall_time": sum(e["wall_time"] for e in self.episodes),
            "tuner_time": sum(e.get("tuner_time", 0.0) for e in self.episodes),
        }

    def close(self) -> None:
        self.env.close()
