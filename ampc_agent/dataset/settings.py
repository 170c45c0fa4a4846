"""Everything that determines a dataset: :class:`GeneratorSettings` (stored in its metadata)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ampc_agent.io import read_json
from ampc_agent.systems import get_system, systems_with

__all__ = [
    "GENERATOR_VERSION",
    "SOURCE_NAMES",
    "SOURCE_SPREAD",
    "SOURCE_TRAJECTORY",
    "SOURCE_UNIFORM",
    "TRAJECTORY_LABELS",
    "GeneratorSettings",
]

#: Sample sources (the ``source`` array): along a closed-loop trajectory, uniform in the
#: system's box, uniform perturbations of closed-loop states.
SOURCE_TRAJECTORY, SOURCE_UNIFORM, SOURCE_SPREAD = 0, 1, 2
#: Their names in counters and metadata.
SOURCE_NAMES = {SOURCE_TRAJECTORY: "trajectory", SOURCE_UNIFORM: "uniform", SOURCE_SPREAD: "spread"}
#: How trajectory samples are labelled (:attr:`GeneratorSettings.trajectory_labels`).
TRAJECTORY_LABELS = ("best", "closed_loop")

GENERATOR_VERSION = 1


@dataclass(frozen=True)
class GeneratorSettings:
    """Everything that determines a dataset (stored in its metadata).

    Attributes:
        system: A system of :data:`ampc_agent.systems.SYSTEMS` that has an MPC.
        samples: Number of samples in the dataset.
        seed: Base seed; shard ``k`` uses ``numpy.random.default_rng([seed, k])``.
        shard_size: Samples per shard (the last shard may be smaller).
        trajectory_fraction: Fraction of each shard taken along closed-loop trajectories.
        episode_steps: Length of the closed-loop episodes in control steps.
        stride: A trajectory sample every ``stride`` control steps.
        randomize_fraction: Fraction of the episodes on randomized physics.
        closed_loop_theta: The MPC's theta in the randomized closed-loop episodes:
            ``"nominal"``, or ``"true"``: the instance's physical values (the states an
            adapted controller visits on that system).
        secant_perturbations: Parameter changes per sample for the secant labels
            (0: none): ``u*(x, theta_nom + d_k) - u*(x, theta_nom)`` for ``k`` changes
            ``d_k`` spread over the theta bounds, and their least-squares slope.
        secant_scale: Fraction of the way to the bounds the changes reach (1: all of it).
        trajectory_labels: How the samples along the trajectories are labelled:
            ``"best"``, the lowest-cost converged solution over the closed-loop solution
            and all of the problem's starts (as every other sample); ``"closed_loop"``,
            the closed-loop MPC's own solution at that state, re-solved to the full
            tolerance from its iterate (what the deployed MPC does, tie-breaks
            included; on a wheelbot shard 50 s instead of 85 s), with the best of all starts
            only where the closed loop kept no solution (sensor noise, another theta)
            or the re-solve fails.
        learner: An AMPC weights folder of the same system, or ``""`` (default): with
            a folder the closed-loop episodes are driven by that AMPC (at the MPC's
            theta) while the MPC runs beside it on the same states, and the MPC's
            solutions there label them (DAgger: the states the learnt controller
            visits, with its own errors, labelled by the expert). The weights'
            fingerprint is part of the settings, so a dataset resumes only with the
            same learner.
    """

    system: str
    samples: int = 1000
    seed: int = 0
    shard_size: int = 200
    trajectory_fraction: float = 0.7
    episode_steps: int = 200
    stride: int = 4
    randomize_fraction: float = 0.5
    closed_loop_theta: str = "nominal"
    secant_perturbations: int = 0
    secant_scale: float = 1.0
    trajectory_labels: str = "best"
    learner: str = ""

    def __post_init__(self) -> None:
        get_system(self.system)  # an unknown name: "unknown system ..., valid: ..."
        if self.system not in systems_with("mpc"):
            raise ValueError(
                f"system {self.system!r} has no MPC to label a dataset with; "
                f"valid: {systems_with('mpc')}"
            )
        for name in ("samples", "shard_size", "episode_steps", "stride"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.secant_perturbations, int) or self.secant_perturbations < 0:
            raise ValueError(
                f"secant_perturbations must be a non-negative integer, got "
                f"{self.secant_perturbations!r}"
            )
        if self.closed_loop_theta not in ("nominal", "true"):
            raise ValueError(
                f"closed_loop_theta must be 'nominal' or 'true', got {self.closed_loop_theta!r}"
            )
        if self.trajectory_labels not in TRAJECTORY_LABELS:
            raise ValueError(
                f"trajectory_labels must be one of {list(TRAJECTORY_LABELS)}, got "
                f"{self.trajectory_labels!r}"
            )
        if not 0.0 < self.secant_scale <= 1.0:
            raise ValueError(f"secant_scale must be in (0, 1], got {self.secant_scale!r}")
        for name in ("trajectory_fraction", "randomize_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        if self.learner:
            self._check_learner()

    def _check_learner(self) -> None:
        folder = Path(self.learner)
        meta = folder / "metadata.json"
        if not meta.is_file() or not (folder / "model.safetensors").is_file():
            raise ValueError(
                f"learner must be an AMPC weights folder (metadata.json, model.safetensors), "
                f"got {self.learner!r}"
            )
        system = read_json(meta).get("system")
        if system != self.system:
            raise ValueError(
                f"learner {self.learner!r} is an AMPC of system {system!r}, not {self.system!r}"
            )

    @property
    def num_shards(self) -> int:
        """Number of shards."""
        return -(-self.samples // self.shard_size)

    def shard_samples(self, k: int) -> int:
        """Number of samples of shard ``k``."""
        if not 0 <= k < self.num_shards:
            raise ValueError(f"shard {k} out of range [0, {self.num_shards})")
        return min(self.shard_size, self.samples - k * self.shard_size)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable settings (with the generator version).

        Settings at their defaults that a dataset of an older version could not have
        (the secant labels) are left out, so that such a dataset still resumes.
        """
        d = {**dataclasses.asdict(self), "version": GENERATOR_VERSION}
        if not self.secant_perturbations:
            d.pop("secant_perturbations")
            d.pop("secant_scale")
        if self.closed_loop_theta == "nominal":
            d.pop("closed_loop_theta")
        if self.trajectory_labels == "best":
            d.pop("trajectory_labels")
        if self.learner:
            from ampc_agent.tuning.study import weights_fingerprint

            d["learner"] = str(Path(self.learner).resolve())
            d["learner_fingerprint"] = weights_fingerprint(self.learner)
        else:
            d.pop("learner")
        return d
