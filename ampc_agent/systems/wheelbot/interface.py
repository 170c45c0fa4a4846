"""The wheelbot's controllers act like the robot's: a residual on its balancing LQR.

The env observes ``obs = [psi, phi, theta, psi_dot, phi_dot, theta_dot, q_W, q_R,
omega_W, omega_R, psi_ref]`` and takes the wheel torques ``u`` (N m). The MPC and the
AMPC see the state with the yaw replaced by the yaw error, ``wrap(psi - psi_ref)`` in
(-pi, pi] rad, and give the residual ``v``; the robot applies

    u = clip(-K x + clip(v, +-RESIDUAL_LIMIT), +-TOTAL_TORQUE_LIMIT)

with its LQR gain ``K`` (``ampc_envs.wheelbot.lqr.robot_gain``).
"""

from __future__ import annotations

import numpy as np

from ampc_agent.systems.wheelbot.model import LQR_GAIN, RESIDUAL_LIMIT, TOTAL_TORQUE_LIMIT
from ampc_envs.core.angles import wrap_angle

__all__ = ["ResidualOnLQR", "mpc_state"]


def mpc_state(state: np.ndarray, psi_ref: float | np.ndarray) -> np.ndarray:
    """The MPC's state: ``state`` (10,) or (n, 10) with the yaw replaced by
    ``wrap(psi - psi_ref)``; ``psi_ref`` in rad, a number or one per state.

    Raises:
        ValueError: a state of another shape, or a reference of another shape or not
            finite.
    """
    x = np.array(state, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] != 10:
        raise ValueError(f"state must have 10 entries (or be (n, 10)), got shape {x.shape}")
    ref = np.asarray(psi_ref, dtype=np.float64)
    if ref.shape not in ((), x.shape[:-1]):
        raise ValueError(
            f"psi_ref must be a number or one per state {x.shape[:-1]}, got shape "
            f"{ref.shape}: {ref.tolist()!r}"
        )
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"psi_ref must be finite, got {ref.tolist()!r}")
    x[..., 0] = wrap_angle(x[..., 0] - ref)
    return x


class ResidualOnLQR:
    """The wheelbot's :class:`~ampc_agent.systems.interface.PlantInterface`."""

    def state(self, obs: np.ndarray) -> np.ndarray:
        """The MPC state of an 11-entry observation (10 states and the yaw reference).

        Raises:
            ValueError: the observation does not have 11 entries (e.g. no reference).
        """
        obs = np.asarray(obs, dtype=np.float64)
        if obs.shape != (11,):
            raise ValueError(
                "a wheelbot observation has 11 entries (10 states and the yaw reference "
                f"psi_ref), got shape {obs.shape}"
            )
        return mpc_state(obs[:10], obs[10])

    def action(self, obs: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Wheel torques ``clip(-K x + clip(v, +-0.1), +-0.35)`` in N m."""
        x = np.asarray(obs, dtype=np.float64)[:10]
        residual = np.clip(np.asarray(v, dtype=np.float64), -RESIDUAL_LIMIT, RESIDUAL_LIMIT)
        return np.clip(-LQR_GAIN @ x + residual, -TOTAL_TORQUE_LIMIT, TOTAL_TORQUE_LIMIT)
