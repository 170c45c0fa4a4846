"""Initial guesses of the wheelbot yaw OCP.

The OCP is nonconvex in a way that matters: from a yaw error at rest, the plan with
``v = 0`` (the LQR alone) is a stationary point that does not turn (cost 4.9 for a
pi/2 error against 0.68 for a turn), and a solver started there stays there. A turn
needs a guess that already moves the robot. Guesses here, all simulated on the OCP's
model from the state:

* ``lqr``: ``v = 0``, the robot balancing without turning (right near the reference);
* ``pulse±±``: open-loop pulses of ``±PULSE_TORQUE`` on each wheel for ``PULSE_SECONDS``,
  then reversed; they start a gyroscopic turn in either direction.

All are fallbacks, tried only when no other start converged: from a yaw error the
``lqr`` guess stalls for hundreds of iterations near the non-turning point, and the
pulses converge to the same minima as the solved turns, slower.

The best starts in practice are solved turns (``ParametricOCP.library_states``: a turn
of +pi/2 and one of -pi/2 from rest, whose residual torques are re-simulated from the
state), which :class:`~ampc_agent.mpc.ParametricMPC` adds itself.
"""

from __future__ import annotations

import casadi as cs
import numpy as np

from ampc_agent.mpc.ocp import InitialGuess
from ampc_agent.mpc.rollout import rollout_guess

__all__ = ["PULSE_SECONDS", "PULSE_TORQUE", "yaw_guesses"]

#: Size of the open-loop pulse guesses in N m (half the residual limit).
PULSE_TORQUE = 0.05
#: Length of each half of a pulse guess in s.
PULSE_SECONDS = 0.1


def yaw_guesses(
    step: cs.Function,
    x0: np.ndarray,
    theta: np.ndarray,
    steps: int,
    dt: float,
    domain: tuple[np.ndarray, np.ndarray],
) -> list[InitialGuess]:
    """The ``lqr`` guess and the four pulse guesses at ``x0`` (see the module doc).

    Args:
        step: The OCP's one-interval map ``F(x, v, theta)``.
        x0: The MPC state (10,).
        theta: Parameters (11,).
        steps: Shooting intervals N; ``dt``: their length in s.
        domain: The model's state domain (a simulation that leaves it is not used).
    """
    guesses = [rollout_guess(step, "lqr", x0, np.zeros((steps, 2)), theta, domain, fallback=True)]
    m = max(1, int(round(PULSE_SECONDS / dt)))
    for a in (-1, 1):
        for b in (-1, 1):
            inputs = np.zeros((steps, 2))
            inputs[:m] = (PULSE_TORQUE * a, PULSE_TORQUE * b)
            inputs[m : 2 * m] = (-PULSE_TORQUE * a, -PULSE_TORQUE * b)
            name = f"pulse{'+-'[a < 0]}{'+-'[b < 0]}"
            guesses.append(rollout_guess(step, name, x0, inputs, theta, domain, fallback=True))
    return guesses
