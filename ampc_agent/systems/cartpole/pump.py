"""A classical cart-pole controller with two tunable gains (no networks, no solver)."""

from __future__ import annotations

import numpy as np

__all__ = ["PumpAndCentre"]


class PumpAndCentre:
    """A real (if crude) cart-pole swing-up controller with two tunable gains.

    ``u = -k_pump * sign(cos(theta) * theta_dot) - k_centre * x`` (N): pumps energy
    into the pole and pulls the cart back to the centre. It never balances, but its
    return depends smoothly on the gains and large pump gains crash, so it is a cheap
    stand-in for the AMPC in tests and smoke sweeps (no weights, no torch).
    """

    theta_names = ("k_pump", "k_centre")
    theta_nominal = np.array([3.0, 4.0])
    tuning_lower = theta_lower = np.array([0.0, 0.0])
    tuning_upper = theta_upper = np.array([10.0, 20.0])

    def __init__(self) -> None:
        from ampc_agent.theta import ThetaSpec

        self.theta_spec = ThetaSpec(
            names=self.theta_names,
            nominal=tuple(self.theta_nominal),
            lower=tuple(self.theta_lower),
            upper=tuple(self.theta_upper),
            units=("N", "N/m"),
        )
        self.theta = self.theta_nominal.copy()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        k_pump, k_centre = self.theta
        u = -k_pump * np.sign(np.cos(x[1]) * x[3] + 1e-9) - k_centre * x[0]
        return np.array([u])
