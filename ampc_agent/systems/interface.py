"""How a controller's state and input relate to a system env's observation and action.

The MPC and the AMPC of a system work on the controller's state ``x`` and plan the
controller's input ``v``; the env observes ``obs`` and takes the action ``u``. For the
cart-pole they are the same. For the Mini Wheelbot, as on the real robot, the
controller's input is a residual on top of the balancing LQR, ``u = clip(-K x + v)``,
and its state has the yaw relative to the reference; the robot's ``ResidualOnLQR``
interface lives in its own folder. :class:`PlantInterface` is the protocol,
:class:`Identity` the plain case, :class:`InterfacedController` a controller of ``x``
made into a controller of ``obs``.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["Identity", "InterfacedController", "PlantInterface"]


class PlantInterface(Protocol):
    """Maps between the env (``obs``, ``u``) and the controller (``x``, ``v``)."""

    def state(self, obs: np.ndarray) -> np.ndarray:
        """The controller's state from an observation."""
        ...

    def action(self, obs: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The env's action from an observation and the controller's input."""
        ...


class Identity:
    """The controller's state is the first ``nx`` entries of the observation, its input
    the action."""

    def __init__(self, nx: int) -> None:
        self.nx = nx

    def state(self, obs: np.ndarray) -> np.ndarray:
        return np.asarray(obs, dtype=np.float64)[: self.nx]

    def action(self, obs: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=np.float64)


class InterfacedController:
    """``obs -> interface.action(obs, controller(interface.state(obs)))``.

    Everything else (``theta``, ``theta_spec``, ``reset``, ``jacobian``, ...) is the
    wrapped controller's, so the wrapper stands in for it wherever a controller of
    the env is needed (tuning env, evaluation, benchmarks).

    Args:
        controller: A controller of the controller's state (an AMPC policy, an MPC).
        interface: The system's :class:`PlantInterface`.
    """

    def __init__(self, controller: Any, interface: PlantInterface) -> None:
        object.__setattr__(self, "controller", controller)
        object.__setattr__(self, "interface", interface)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        interface = self.interface
        return interface.action(obs, self.controller(interface.state(obs)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.controller, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.controller, name, value)  # theta goes to the controller

    def __repr__(self) -> str:
        return f"InterfacedController({self.controller!r}, {type(self.interface).__name__})"
