"""The one ask -> run -> tell loop, shared by ``ampc tune``, the sweeps, the oracle and
the synthetic benchmark problems.

The experiment stays outside the tuner: :func:`tuning_loop` asks the tuner for theta,
hands it to ``run`` (one episode on a simulator, or a person on hardware), and tells the
tuner the outcome. Two hooks let the caller store the outcome *before* the tuner's own
state is saved (the record is the source of truth when a run is killed in between) and
log the tuner's internals after it learnt from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ampc_agent.tuners.base import Tuner

__all__ = ["TuningStep", "tuning_loop"]


class TuningStep(dict):
    """One pass of the loop: ``theta`` (the whole vector), ``free`` (what the tuner saw),
    ``return``, ``crashed``, ``outcome`` (what ``run`` returned), ``tuner_time`` (s spent
    in ask and tell) and, after the tell, ``internals`` (the tuner's finite scalars, as
    plain floats: ready for a JSON record and TensorBoard)."""


def tuning_loop(
    tuner: Tuner,
    run: Callable[[np.ndarray], dict[str, Any]],
    episodes: int,
    *,
    full: Callable[[np.ndarray], np.ndarray] | None = None,
    before_tell: Callable[[TuningStep], None] | None = None,
    after_tell: Callable[[TuningStep], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[TuningStep]:
    """Run ``episodes`` passes of ask -> run -> tell.

    Args:
        tuner: The tuner (its study folder, if any, is saved by each ``tell``).
        run: ``run(theta) -> outcome`` with ``outcome["return"]`` and
            ``outcome["crashed"]``: one experiment at ``theta``.
        episodes: Number of passes.
        full: Maps the tuner's point to the whole theta (a
            :class:`~ampc_agent.tuners.box.TuningBox`'s ``full``: fixed entries put back).
        before_tell: Called with the step after the experiment, before the tell.
        after_tell: Called with the step after the tell (``internals`` filled in).
        stop: Asked before each experiment; ``True`` ends the loop there (the passes
            before it are complete, hooks included; see
            :class:`~ampc_agent.processes.GracefulStop`).

    Returns:
        The steps, in order (fewer than ``episodes`` if stopped).
    """
    steps = []
    for _ in range(episodes):
        if stop is not None and stop():
            break
        start = time.perf_counter()
        free = tuner.ask()
        asked = time.perf_counter() - start
        if stop is not None and stop():  # asked while the tuner thought: nothing ran yet
            break
        theta = full(free) if full is not None else free
        outcome = run(theta)
        step = TuningStep(
            theta=theta,
            free=free,
            outcome=outcome,
            crashed=bool(outcome["crashed"]),
            tuner_time=asked,
        )
        step["return"] = outcome["return"]
        if before_tell is not None:
            before_tell(step)
        start = time.perf_counter()
        tuner.tell(free, step["return"], crashed=step["crashed"])
        step["tuner_time"] += time.perf_counter() - start
        step["internals"] = _finite_scalars(tuner.internals())
        if after_tell is not None:
            after_tell(step)
        steps.append(step)
    return steps


def _finite_scalars(d: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in d.items():
        if isinstance(v, (int, float, np.number)) and np.isfinite(v):
            out[k] = float(v)
    return out
