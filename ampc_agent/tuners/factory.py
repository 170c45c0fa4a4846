r"""Build a tuner by name.

Example:
    >>> tuner = make_tuner("gibo", lower=[0.0, 0.0], upper=[1.0, 1.0], seed=1)
"""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike

from ampc_agent.tuners.base import Tuner
from ampc_agent.tuners.gibo import GiboTuner
from ampc_agent.tuners.nevergrad_tuners import CMAESTuner, RandomSearchTuner
from ampc_agent.tuners.turbo import TurboTuner

TUNERS: dict[str, type[Tuner]] = {
    "turbo": TurboTuner,
    "gibo": GiboTuner,
    "random": RandomSearchTuner,
    "cmaes": CMAESTuner,
}


def make_tuner(name: str, lower: ArrayLike, upper: ArrayLike, **kwargs: Any) -> Tuner:
    r"""Create the tuner called ``name``.

    Args:
        name: One of ``"turbo"``, ``"gibo"``, ``"random"``, ``"cmaes"``.
        lower: Lower bounds of ``theta``, shape ``(d,)``.
        upper: Upper bounds of ``theta``, shape ``(d,)``.
        **kwargs: ``seed``, ``x0``, ``study_dir`` and tuner options.

    Returns:
        The tuner.

    Raises:
        ValueError: for an unknown name (the message lists the valid names).
    """
    try:
        cls = TUNERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown tuner {name!r}; valid names are {sorted(TUNERS)}") from None
    return cls(lower, upper, **kwargs)
