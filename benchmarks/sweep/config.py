"""What a trial is, and how a sweep expands into trials.

A trial is one run of one method (a tuner or a baseline) on one system instance with
one seed and one episode budget. Its id is a hash of its configuration, so a rerun of
a sweep recognises the trials it has already finished.

Seeds: the trial seed is the tuner's seed and the seed of the episodes (start state,
sensor noise): the same for every episode of the trial (``episode_seed: fixed``: only
theta changes between episodes) or the trial seed + the episode index (``fresh``: each
episode a new start and noise draw, like a robot).

Deployed score: after ``b`` episodes, for each ``b`` in ``deploy_budgets`` up to the
budget (and the budget itself), the method's recommended theta runs on
``deploy_episodes`` held-out episodes, whose seeds (:func:`held_out_seeds`) are disjoint
from every tuning episode's and shared by every method of the same trial seed.

Instances:

- a name of the system's params class (``"nominal"``, ``"hardware-like"``);
- ``"random-<k>"``: drawn from ``default_ranges`` with ``numpy.random.default_rng(k)``,
  the same system for every seed;
- ``"random"``: drawn with the trial seed as ``k``, a different system per seed;
- a dict of overrides of the nominal values (YAML only).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ampc_agent.io import check_name
from ampc_agent.systems import systems_with
from ampc_agent.tuners.factory import TUNERS as _TUNER_CLASSES
from benchmarks.sweep.systems import get_system

__all__ = [
    "BASELINES",
    "METHODS",
    "TUNERS",
    "SweepConfig",
    "TrialConfig",
    "load_sweep_config",
    "parse_seeds",
    "resolve_instance",
]

TUNERS = tuple(_TUNER_CLASSES)
BASELINES = ("nominal", "sysid", "oracle")
METHODS = TUNERS + BASELINES

_RANDOM = re.compile(r"^random(?:-(\d+))?$")

#: Held-out seeds start here; tuning seeds stay below it (trial seed < MAX_SEED).
HELD_OUT_BASE = 1_000_000_000
MAX_SEED = 1_000_000
MAX_DEPLOY_EPISODES = 1000
#: Default budgets of the deployed score (the report's columns).
DEPLOY_BUDGETS = (5, 10, 20, 50)


def held_out_seeds(seed: int, episodes: int) -> list[int]:
    """Seeds of the ``episodes`` held-out episodes of trial seed ``seed``.

    ``HELD_OUT_BASE + MAX_DEPLOY_EPISODES * seed + j``: above every tuning episode's seed
    (at most ``seed + budget - 1 < HELD_OUT_BASE``), and disjoint between trial seeds.
    """
    return [HELD_OUT_BASE + MAX_DEPLOY_EPISODES * seed + j for j in range(episodes)]


@dataclass(frozen=True)
class TrialConfig:
    """The configuration of one trial; everything that determines its numbers.

    Args:
        system: Name in :data:`benchmarks.sweep.systems.SYSTEMS_OFFERED`.
        tuner: A tuner (``turbo``, ``gibo``, ``random``, ``cmaes``) or a baseline
            (``nominal``, ``sysid``, ``oracle``).
        instance: System instance (see the module docstring).
        seed: Trial seed (tuner seed and episode seed).
        budget: Episodes the method may run.
        episode_seed: ``"fixed"`` (same episode seed every episode) or ``"fresh"``.
        bounds: Box of theta: ``"tuning"`` (the policy's recommended tuning bounds, as
            the tuning env uses them) or ``"theta"`` (the whole range the AMPC's
            sensitivities were trained for).
        options: Options of the tuner or baseline.
        deploy_episodes: Held-out episodes per recommended theta (0: no deployed score).
        deploy_budgets: Episode counts after which the method recommends a theta
            (those above ``budget`` are dropped; ``budget`` itself is always one).
    """

    system: str
    tuner: str
    instance: str | dict[str, float]
    seed: int
    budget: int
    episode_seed: str = "fixed"
    bounds: str = "tuning"
    options: dict[str, Any] = field(default_factory=dict)
    deploy_episodes: int = 10
    deploy_budgets: tuple[int, ...] = DEPLOY_BUDGETS

    def __post_init__(self) -> None:
        get_system(self.system)
        if not isinstance(self.tuner, str) or self.tuner not in METHODS:
            raise ValueError(f"unknown tuner {self.tuner!r}; valid: {list(METHODS)}")
        if not _whole(self.seed) or not 0 <= self.seed < MAX_SEED:
            raise ValueError(f"seed must be an integer in [0, {MAX_SEED}), got {self.seed!r}")
        if not _whole(self.budget) or self.budget < 1:
            raise ValueError(f"budget must be a positive integer, got {self.budget!r}")
        if self.episode_seed not in ("fixed", "fresh"):
            raise ValueError(f"episode_seed must be 'fixed' or 'fresh', got {self.episode_seed!r}")
        if self.bounds not in ("tuning", "theta"):
            raise ValueError(f"bounds must be 'tuning' or 'theta', got {self.bounds!r}")
        if isinstance(self.instance, str):
            check_name(self.instance, "instance")  # it becomes part of the record's file name
        elif not isinstance(self.instance, Mapping):
            raise ValueError(f"instance must be a name or a dict, got {self.instance!r}")
        if not isinstance(self.options, Mapping):
            raise ValueError(f"options of {self.tuner!r} must be a mapping, got {self.options!r}")
        k = self.deploy_episodes
        if not _whole(k) or not 0 <= k <= MAX_DEPLOY_EPISODES:
            raise ValueError(
                f"deploy_episodes must be an integer in [0, {MAX_DEPLOY_EPISODES}], got {k!r}"
            )
        budgets = self.deploy_budgets
        if not isinstance(budgets, (list, tuple)) or not all(_whole(b) and b >= 1 for b in budgets):
            raise ValueError(f"deploy_budgets must be a list of integers >= 1, got {budgets!r}")
        object.__setattr__(self, "deploy_budgets", tuple(sorted(set(budgets))))

    @property
    def deploy_at(self) -> list[int]:
        """Episode counts after which the recommended theta is deployed (none if K = 0)."""
        if self.deploy_episodes == 0:
            return []
        return sorted({b for b in self.deploy_budgets if b < self.budget} | {self.budget})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (the ``config`` of a record)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrialConfig:
        return cls(**dict(d))

    def held_out_seeds(self) -> list[int]:
        """Seeds of this trial's held-out episodes (see :func:`held_out_seeds`)."""
        return held_out_seeds(self.seed, self.deploy_episodes)

    @property
    def trial_id(self) -> str:
        """First 12 hex digits of the SHA-256 of the canonical JSON of the config."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def instance_label(self) -> str:
        """Short name of the instance for file names and tables."""
        return self.instance if isinstance(self.instance, str) else "custom"

    @property
    def name(self) -> str:
        """Readable unique name: ``<system>-<tuner>-<instance>-s<seed>-b<budget>-<id>``."""
        return (
            f"{self.system}-{self.tuner}-{self.instance_label}-s{self.seed}-b{self.budget}"
            f"-{self.trial_id}"
        )


def resolve_instance(params_cls: type, instance: str | Mapping[str, float], seed: int) -> Any:
    """The params of a trial's system instance (see the module docstring)."""
    import numpy as np

    if isinstance(instance, str):
        m = _RANDOM.match(instance)
        if m:
            k = int(m.group(1)) if m.group(1) is not None else seed
            return params_cls().sample(params_cls.default_ranges, np.random.default_rng(k))
    return params_cls.resolve(instance)


def parse_seeds(spec: int | str | Sequence[int]) -> list[int]:
    """Seeds from ``5`` or ``"5"`` (0..4), ``"3-7"`` (3..7 inclusive), ``"0,2,9"`` or a list.

    Raises:
        ValueError: anything else, or no seed at all (the message quotes ``spec``).
    """
    bad = ValueError(
        f"seeds must be a count (5), a range (0-19), a list (0,3,7) or a YAML list of "
        f"non-negative integers, got {spec!r}"
    )
    seeds: list[int] = []
    if _whole(spec):
        seeds = list(range(int(spec)))
    elif isinstance(spec, str) and spec.strip().isdigit():
        seeds = list(range(int(spec)))
    elif isinstance(spec, str):
        for part in spec.replace(" ", "").split(","):
            lo, dash, hi = part.partition("-")
            if not lo.isdigit() or (dash and not hi.isdigit()) or (dash and int(hi) < int(lo)):
                raise bad
            seeds.extend(range(int(lo), int(hi) + 1) if dash else [int(lo)])
    elif isinstance(spec, Sequence) and all(_whole(s) and s >= 0 for s in spec):
        seeds = [int(s) for s in spec]
    else:
        raise bad
    if not seeds:
        raise bad
    return seeds


def _whole(value: Any) -> bool:
    """An integer, and not a bool (YAML reads ``yes`` as ``True``)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class SweepConfig:
    """A sweep: the product systems x tuners x instances x seeds x budgets.

    ``options`` maps a tuner or baseline name to its options (for example
    ``{"oracle": {"episodes": 300}}``).
    """

    systems: list[str] = field(default_factory=lambda: systems_with("weights"))
    tuners: list[str] = field(default_factory=lambda: list(METHODS))
    instances: list[str | dict[str, float]] = field(default_factory=lambda: ["hardware-like"])
    seeds: list[int] = field(default_factory=lambda: list(range(5)))
    budgets: list[int] = field(default_factory=lambda: [50])
    episode_seed: str = "fixed"
    bounds: str = "tuning"
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    deploy_episodes: int = 10
    deploy_budgets: list[int] = field(default_factory=lambda: list(DEPLOY_BUDGETS))

    def trials(self) -> list[TrialConfig]:
        """All trials of the sweep, in a deterministic order.

        A baseline a system cannot run is left out for that system (``sysid`` on a
        system without a ``sysid_model``), so one config serves every system with
        weights; a sweep in which no system can run it is refused.
        """
        runnable = {
            (system, tuner)
            for system in self.systems
            for tuner in self.tuners
            if tuner != "sysid" or get_system(system).spec.sysid_model is not None
        }
        for tuner in self.tuners:
            if not any((system, tuner) in runnable for system in self.systems):
                raise ValueError(f"no system of the sweep can run {tuner!r}: {self.systems}")
        return [
            TrialConfig(
                system=system,
                tuner=tuner,
                instance=instance,
                seed=seed,
                budget=budget,
                episode_seed=self.episode_seed,
                bounds=self.bounds,
                options=dict(self.options.get(tuner, {})),
                deploy_episodes=self.deploy_episodes,
                deploy_budgets=tuple(self.deploy_budgets),
            )
            for system, budget, instance, tuner, seed in itertools.product(
                self.systems, self.budgets, self.instances, self.tuners, self.seeds
            )
            if (system, tuner) in runnable
        ]


def load_sweep_config(path: str | Path | None, overrides: Mapping[str, Any]) -> SweepConfig:
    """A sweep from a YAML file (or the defaults), with non-``None`` overrides applied.

    Unknown keys in the file raise ``ValueError``. Keys: ``systems``, ``tuners``,
    ``instances``, ``seeds`` (int, ``"0-19"`` or a list), ``budgets``,
    ``episode_seed``, ``bounds``, ``options``, ``deploy_episodes``, ``deploy_budgets``.
    """
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            raise ValueError(f"config file {path} does not exist") from None
        except OSError as err:
            raise ValueError(f"cannot read config file {path}: {err.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(err, "problem", None) or type(err).__name__
            raise ValueError(f"{path} is not valid YAML ({problem}{where})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
    data.update({k: v for k, v in overrides.items() if v is not None})
    known = set(SweepConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise ValueError(f"unknown sweep keys {unknown}; valid: {sorted(known)}")
    if "seeds" in data:
        data["seeds"] = parse_seeds(data["seeds"])
    for key in ("systems", "tuners", "instances", "budgets", "deploy_budgets"):
        if key in data and isinstance(data[key], (str, int, dict)):
            data[key] = [data[key]]
        if key in data and (not isinstance(data[key], list) or not data[key]):
            raise ValueError(f"{key} must be a non-empty list, got {data[key]!r}")
    options = data.get("options", {})
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise ValueError(f"options must map a tuner to its options, got {options!r}")
    unknown = sorted(set(options) - set(METHODS), key=str)
    if unknown:
        raise ValueError(f"options for unknown tuner(s) {unknown}; valid: {list(METHODS)}")
    return SweepConfig(**data)


def unique(trials: Iterable[TrialConfig]) -> list[TrialConfig]:
    """Trials with duplicates (same id) removed, order kept."""
    seen: set[str] = set()
    out = []
    for t in trials:
        if t.trial_id not in seen:
            seen.add(t.trial_id)
            out.append(t)
    return out
