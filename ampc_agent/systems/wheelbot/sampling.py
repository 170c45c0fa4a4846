"""Where the dataset generator samples the wheelbot's states.

The states that matter are those of the yaw test: at rest before a reference step, in
the turn (a few tenths of a second) and while it settles. The closed-loop episodes are
short yaw tests of one step each (:func:`yaw_step_episode`), half of them on randomized
physics, from the env's start distribution (a spread of the wheel angles was measured
and rejected: docs/wheelbot.md); the other samples are uniform perturbations of their
states (:data:`SPREAD`), the neighbourhood an imitating controller strays into. A uniform box over all ten
states would be almost all off the states of a yaw test (and often infeasible: the
total torque bound cannot be met when ``|K x| > 0.45`` N m).
"""

from __future__ import annotations

import math

import numpy as np

from ampc_agent.systems.spec import DatasetSampling
from ampc_envs.wheelbot.params import WheelbotParams

__all__ = ["SPREAD", "WHEELBOT_SAMPLING", "yaw_step_episode"]

#: Half-widths of the perturbations around closed-loop states, in the MPC state's units
#: (rad, rad/s): [psi_error, phi, theta, psi_dot, phi_dot, theta_dot, q_W, q_R,
#: omega_W, omega_R]. Small next to the turn (yaw rate ~9 rad/s, pitch ~0.3 rad,
#: reaction wheel ~150 rad/s), about what a controller that imitates the MPC deviates.
SPREAD = (0.1, 0.02, 0.02, 0.5, 0.2, 0.5, 0.5, 5.0, 3.0, 15.0)


def yaw_step_episode(rng: np.random.Generator) -> dict:
    """A one-step yaw test: at 0.1-0.4 s the reference steps by +-pi/2 (half of the
    episodes) or by a size uniform in [0.2, 1.15 pi/2] rad, either way."""
    time = float(rng.uniform(0.1, 0.4))
    size = math.pi / 2 if rng.random() < 0.5 else float(rng.uniform(0.2, 1.15 * math.pi / 2))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    return {"yaw_schedule": ((time, sign * size),)}


WHEELBOT_SAMPLING = DatasetSampling(
    randomize_ranges=dict(WheelbotParams.default_ranges),
    spread=SPREAD,
    episode_env=yaw_step_episode,
)
