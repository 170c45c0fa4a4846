r"""Ask/tell tuners that pick the AMPC parameters ``theta`` once per episode.

All tuners maximise the episode return, work in the unit cube internally, are
seeded and reproducible, handle crashed episodes, and can persist to and resume
from a study folder. See ``docs/tuners.md``.

Example:
    >>> from ampc_agent.tuners import make_tuner
    >>> tuner = make_tuner("gibo", lower=[0.5, 0.1], upper=[2.0, 1.0], x0=[1.0, 0.5])
    >>> theta = tuner.ask()
    >>> tuner.tell(theta, 12.3, crashed=False)
"""

from ampc_agent.tuners.base import Tuner
from ampc_agent.tuners.factory import TUNERS, make_tuner
from ampc_agent.tuners.gibo import GiboTuner
from ampc_agent.tuners.nevergrad_tuners import CMAESTuner, RandomSearchTuner
from ampc_agent.tuners.turbo import TurboTuner

__all__ = [
    "TUNERS",
    "CMAESTuner",
    "GiboTuner",
    "RandomSearchTuner",
    "Tuner",
    "TurboTuner",
    "make_tuner",
]
