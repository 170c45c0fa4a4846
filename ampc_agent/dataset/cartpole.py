"""Where the cart-pole dataset samples its states: the closed-loop plant and the uniform box."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ampc_envs.cartpole.params import CartpoleParams

__all__ = ["CARTPOLE_SAMPLING", "SystemSampling"]


@dataclass(frozen=True)
class SystemSampling:
    """System-specific parts of dataset generation.

    Attributes:
        system: Name used in metadata and on the command line.
        env_entry_point: ``"module:Class"`` of the plant env for closed-loop trajectories
            (instantiated directly: no Gymnasium wrappers, no dependence on registration).
        uniform_low, uniform_high: Box of the broad uniform samples, in state units.
        periodic_states: State indices stored wrapped to ``[-pi, pi)``.
        randomize_ranges: Physics ranges of the randomized closed-loop episodes.
    """

    system: str
    env_entry_point: str
    uniform_low: tuple[float, ...]
    uniform_high: tuple[float, ...]
    periodic_states: tuple[int, ...]
    randomize_ranges: dict[str, tuple[float, float]]

    def make_mpc(self) -> Any:
        """A fresh :class:`~ampc_agent.mpc.ParametricMPC` of the system."""
        from ampc_agent.mpc import ParametricMPC

        return getattr(ParametricMPC, self.system)()

    def make_env(self) -> Any:
        """The plant (a Gymnasium env, physics set per episode through reset options)."""
        import importlib

        module, name = self.env_entry_point.split(":")
        return getattr(importlib.import_module(module), name)()

    def wrap(self, x: np.ndarray) -> np.ndarray:
        """State with periodic entries wrapped to ``[-pi, pi)``."""
        x = np.array(x, dtype=float)
        for i in self.periodic_states:
            x[..., i] = (x[..., i] + math.pi) % (2 * math.pi) - math.pi
        return x


#: Cart-pole: uniform box over the whole swing-up region (rail, every angle, velocities
#: somewhat beyond those of the closed-loop swing-up); randomized episodes draw the
#: physics from ``CartpoleParams.default_ranges`` (delay and noise included) so that the
#: closed loop visits states an MPC on a mismatched system visits.
CARTPOLE_SAMPLING = SystemSampling(
    system="cartpole",
    env_entry_point="ampc_envs.cartpole.env:CartpoleSwingUpEnv",
    uniform_low=(-0.75, -math.pi, -3.0, -10.0),
    uniform_high=(0.75, math.pi, 3.0, 10.0),
    periodic_states=(1,),
    randomize_ranges=dict(CartpoleParams.default_ranges),
)
