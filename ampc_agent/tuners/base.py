r"""The ask/tell tuner abstraction shared by every tuner.

A tuner proposes one parameter vector ``theta`` per episode (``ask``) and learns
from the episode's return (``tell``). The experiment stays outside: a simulator,
a tuning env, or a person running the robot between the two calls.

Conventions (the contract other packages rely on):

- Maximisation: ``value`` is an episode return, larger is better.
- ``theta`` is in original units inside ``[lower, upper]``; tuners work in the
  unit cube internally (see :mod:`ampc_agent.tuners.space`).
- A crashed episode is told with ``crashed=True``; its ``value`` is ignored
  (NaN is fine). :meth:`Tuner.best` never recommends a crashed ``theta``.
- ``ask`` is a deterministic function of ``(seed, history, saved state)``: it is
  idempotent without a ``tell`` and a study resumed from ``study_dir`` asks the
  same points as an uninterrupted one, bit for bit.

Example:
    >>> tuner = make_tuner("turbo", lower=[0.0, 0.0], upper=[1.0, 2.0], x0=[0.5, 1.0])
    >>> for _ in range(20):
    ...     theta = tuner.ask()
    ...     ret, crashed = run_episode(theta)
    ...     tuner.tell(theta, ret, crashed=crashed)
    >>> theta_best, ret_best = tuner.best()
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from ampc_agent.tuners.space import (
    from_unit,
    to_unit,
    validate_bounds,
    validate_point,
    validate_value,
)
from ampc_agent.tuners.study import FORMAT_VERSION, check_saved, load_state, save_state


class Tuner(ABC):
    r"""Abstract ask/tell tuner over a box, maximising episode returns.

    Subclasses set :attr:`name` and :attr:`default_options` and implement
    ``_init_state``, ``_ask_unit``, ``_on_tell``, ``_get_state``, ``_set_state``
    (and optionally ``_resolve_options``, ``_internals``). They see only unit-cube
    coordinates; scaling, validation, history, ``best`` and the study folder live
    here.

    Args:
        lower: Lower bounds of ``theta``, shape ``(d,)``.
        upper: Upper bounds of ``theta``, shape ``(d,)``.
        seed: Non-negative seed; same seed and same tells give the same asks.
        x0: Nominal ``theta``; if given, it is the first ask.
        study_dir: Folder to persist the study in after every tell, and to resume
            from if it already holds a state.
        **options: Tuner-specific options, see each tuner's ``default_options``.

    Attributes:
        dim: Number of parameters ``d``.
        lower: Lower bounds (read-only float64 array).
        upper: Upper bounds (read-only float64 array).
        seed: The seed.
        x0: The nominal ``theta`` or ``None``.
        options: The resolved options (defaults filled in).
        study_dir: The study folder or ``None``.
    """

    name: ClassVar[str] = "tuner"
    default_options: ClassVar[dict[str, Any]] = {}
    #: How :meth:`recommend` picks the theta to deploy (see :mod:`ampc_agent.tuners.recommend`).
    recommendation_rule: ClassVar[str] = "best observed"

    def __init__(
        self,
        lower: ArrayLike,
        upper: ArrayLike,
        *,
        seed: int = 0,
        x0: ArrayLike | None = None,
        study_dir: str | Path | None = None,
        **options: Any,
    ) -> None:
        self.lower, self.upper = validate_bounds(lower, upper)
        self.dim = int(self.lower.shape[0])
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative int; got {seed!r}")
        self.seed = int(seed)
        self.x0 = None if x0 is None else validate_point(x0, self.lower, self.upper, name="x0")
        unknown = sorted(set(options) - set(self.default_options))
        if unknown:
            raise ValueError(
                f"unknown option(s) for {type(self).__name__}: {unknown}; "
                f"valid options are {sorted(self.default_options)}"
            )
        self.options: dict[str, Any] = self._resolve_options({**self.default_options, **options})
        self._X: list[np.ndarray] = []
        self._values: list[float] = []
        self._crashed: list[bool] = []
        self._ask_cache: tuple[int, np.ndarray] | None = None
        self._init_state()
        self.study_dir = None if study_dir is None else Path(study_dir)
        if self.study_dir is not None:
            saved = load_state(self.study_dir)
            if saved is not None:
                self._restore(saved)

    # ----------------------------------------------------------------- public API
    def ask(self) -> np.ndarray:
        r"""Propose the next ``theta`` to evaluate.

        Returns:
            ``theta`` in original units, shape ``(d,)``. Calling ``ask`` again
            without a ``tell`` returns the same point.
        """
        n = len(self._X)
        if self._ask_cache is None or self._ask_cache[0] != n:
            u = np.asarray(self._ask_unit(), dtype=np.float64).reshape(self.dim)
            self._ask_cache = (n, from_unit(np.clip(u, 0.0, 1.0), self.lower, self.upper))
        return self._ask_cache[1].copy()

    def tell(self, theta: ArrayLike, value: float, crashed: bool = False) -> None:
        r"""Report the outcome of one episode.

        Args:
            theta: The evaluated parameters in original units, shape ``(d,)``;
                usually the last ``ask``, but any point in the box is accepted.
            value: The episode return (maximised). Ignored if ``crashed``.
            crashed: Whether the episode crashed (no meaningful return).

        Raises:
            ValueError: if ``theta`` has the wrong shape, is non-finite or outside
                the bounds, or if ``value`` is not finite for a non-crashed tell.
        """
        x = validate_point(theta, self.lower, self.upper, name="theta")
        if not isinstance(crashed, bool | np.bool_) and crashed not in (0, 1):
            raise ValueError(f"crashed must be a bool; got {crashed!r}")
        crashed = bool(crashed)
        v = _crash_value(value) if crashed else validate_value(value)
        self._X.append(x)
        self._values.append(v)
        self._crashed.append(crashed)
        self._ask_cache = None
        self._on_tell(to_unit(x, self.lower, self.upper), v, crashed)
        if self.study_dir is not None:
            save_state(self.study_dir, self.state_dict())

    def best(self) -> tuple[np.ndarray, float]:
        r"""The best non-crashed ``theta`` observed so far and its return.

        Returns:
            ``(theta, value)``; ties go to the earliest observation.

        Raises:
            RuntimeError: if every episode so far crashed or none was told.
        """
        feasible = [i for i, c in enumerate(self._crashed) if not c]
        if not feasible:
            raise RuntimeError(
                f"{type(self).__name__}.best(): no feasible (non-crashed) observation yet "
                f"({len(self._X)} told, all crashed); tell a non-crashed episode first"
            )
        i = max(feasible, key=lambda j: self._values[j])
        return self._X[i].copy(), float(self._values[i])

    def recommend(self) -> np.ndarray:
        r"""The ``theta`` to deploy after the episodes told so far.

        :attr:`recommendation_rule` says how it is chosen: the best observed return
        (this default), or for the model-based tuners the evaluated non-crashed point
        with the best GP posterior mean. Never a crashed ``theta``; while nothing
        feasible was told, ``x0`` (what runs without tuning). Deterministic.

        Returns:
            ``theta`` in original units, shape ``(d,)``.

        Raises:
            RuntimeError: if nothing feasible was told and there is no ``x0``.
        """
        if all(self._crashed):
            if self.x0 is None:
                raise RuntimeError(
                    f"{type(self).__name__}.recommend(): nothing feasible told and no x0"
                )
            return self.x0.copy()
        i = self._recommended_index()
        return self._X[i].copy()

    def internals(self) -> dict[str, float]:
        r"""Scalars worth logging (e.g. to TensorBoard) after each tell.

        Returns:
            A flat dict of floats: observation counts, best value, and
            tuner-specific state such as trust-region length or GP lengthscales.
        """
        out: dict[str, float] = {
            "n_observations": float(len(self._X)),
            "n_crashed": float(sum(self._crashed)),
        }
        if not all(self._crashed) and self._X:
            out["best_value"] = self.best()[1]
        out.update(self._internals())
        return out

    @property
    def history(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""``(X (n, d), values (n,), crashed (n,) bool)`` in original units.

        The value of a crashed episode is whatever was told (NaN if it was not a
        number); tuners never use it.
        """
        X = np.array(self._X, dtype=np.float64).reshape(len(self._X), self.dim)
        return X, np.array(self._values, dtype=np.float64), np.array(self._crashed, dtype=bool)

    @property
    def n_observations(self) -> int:
        r"""Number of tells so far."""
        return len(self._X)

    def state_dict(self) -> dict[str, Any]:
        r"""Everything needed to resume: bounds, seed, options, history, tuner state."""
        return {
            "format_version": FORMAT_VERSION,
            "tuner": self.name,
            "dim": self.dim,
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "seed": self.seed,
            "x0": None if self.x0 is None else self.x0.tolist(),
            "options": dict(self.options),
            "history": {
                "X": [x.tolist() for x in self._X],
                "values": list(self._values),
                "crashed": list(self._crashed),
            },
            "state": self._get_state(),
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dim={self.dim}, seed={self.seed}, "
            f"n_observations={len(self._X)})"
        )

    # --------------------------------------------------------- subclass helpers
    def _unit_history(self) -> np.ndarray:
        r"""History in unit-cube coordinates, shape ``(n, d)``."""
        X = np.array(self._X, dtype=np.float64).reshape(len(self._X), self.dim)
        return to_unit(X, self.lower, self.upper)

    def _x0_unit(self) -> np.ndarray | None:
        return None if self.x0 is None else to_unit(self.x0, self.lower, self.upper)

    def _resolve_options(self, options: dict[str, Any]) -> dict[str, Any]:
        r"""Fill dimension-dependent defaults and check values. Override to validate."""
        return options

    def _internals(self) -> dict[str, float]:
        return {}

    def _recommended_index(self) -> int:
        r"""Index of the recommended observation (something feasible was told)."""
        feasible = [i for i, c in enumerate(self._crashed) if not c]
        return max(feasible, key=lambda j: self._values[j])

    @abstractmethod
    def _init_state(self) -> None:
        r"""Create the tuner's own state for an empty history."""

    @abstractmethod
    def _ask_unit(self) -> np.ndarray:
        r"""Next point in the unit cube; a pure function of seed, history and state."""

    @abstractmethod
    def _on_tell(self, u: np.ndarray, value: float, crashed: bool) -> None:
        r"""Update the state after the observation was appended to the history."""

    @abstractmethod
    def _get_state(self) -> dict[str, Any]:
        r"""JSON-serialisable tuner state (beyond history)."""

    @abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None:
        r"""Restore from ``_get_state`` output; the history is already loaded."""

    # -------------------------------------------------------------- internals
    def _restore(self, saved: dict[str, Any]) -> None:
        check_saved(saved, self)
        hist = saved["history"]
        self._X = [np.array(x, dtype=np.float64) for x in hist["X"]]
        self._values = [math.nan if v is None else float(v) for v in hist["values"]]
        self._crashed = [bool(c) for c in hist["crashed"]]
        self._ask_cache = None
        self._set_state(saved["state"])


def _crash_value(value: object) -> float:
    # The return of a crashed episode is meaningless; keep it for the record if
    # it is a number, never use it.
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan
