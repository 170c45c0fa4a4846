"""What the pipeline needs to know about one system: :class:`SystemSpec`.

A spec holds everything system-specific of the pipeline, so that the generic code
(dataset generator, training, evaluation, tuning env, commands, sweeps, baselines and
performance programs) reads it instead of naming a system. Heavy parts (the OCP in
casadi, the MPC in acados, the networks in torch) are given as ``"module:callable"``
paths and imported only when used: importing the registry loads numpy and the
systems' parameter classes, nothing more.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.theta import ThetaSpec

__all__ = ["DatasetSampling", "SystemSpec", "load_object"]


def load_object(path: str) -> Any:
    """The object at ``"package.module:Name.attr"``."""
    module, _, attrs = path.partition(":")
    obj: Any = importlib.import_module(module)
    for attr in attrs.split(".") if attrs else ():
        obj = getattr(obj, attr)
    return obj


@dataclass(frozen=True)
class DatasetSampling:
    """Where the dataset generator samples states of a system.

    Attributes:
        uniform_low, uniform_high: Box of the broad uniform samples, in state units.
        randomize_ranges: Physics ranges of the randomized closed-loop episodes.
        spread: Half-widths (state units) of uniform perturbations around closed-loop
            states; when given, the samples that are not on trajectories are drawn
            around them (``source = 2``) instead of from the box.
        episode_env: ``f(rng) -> env kwargs`` of each closed-loop episode (for example
            a reference schedule); ``None``: the env's defaults.
    """

    uniform_low: tuple[float, ...] | None = None
    uniform_high: tuple[float, ...] | None = None
    randomize_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    spread: tuple[float, ...] | None = None
    episode_env: Callable[[np.random.Generator], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.spread is None and (self.uniform_low is None or self.uniform_high is None):
            raise ValueError("DatasetSampling needs a uniform box or a spread")


@dataclass(frozen=True)
class SystemSpec:
    """One system of the pipeline (a registry entry of :data:`ampc_agent.systems.SYSTEMS`).

    Attributes:
        name: Name on the command line and in records (``cartpole``).
        description: One line for ``--help`` and reports.
        env_id: Gymnasium id of the "real system" env.
        tuning_env_id: Gymnasium id of its tuning env (one step = one episode at theta).
        params_cls: The physical-parameter dataclass of the env.
        theta: The MPC's and the AMPC's parameter vector.
        state_names: Names of the MPC's states, in order.
        angle_states: Indices of the states that are angles: 2 pi periodic in the OCP,
            stored wrapped to (-pi, pi] in datasets, fed to networks as sin/cos.
        success: ``success(states, crashed, dt) -> bool`` of a closed-loop episode
            (true states ``(T + 1, nx)``).
        ocp: ``"module:callable"`` returning the system's
            :class:`~ampc_agent.mpc.ocp.ParametricOCP`; ``None``: no MPC yet.
        sampling: Where the dataset generator samples states (needs ``ocp``).
        symmetries: Sign patterns ``(S, R)`` (state signs, input signs) under which the
            MPC is equivariant at equal theta, ``u*(S x) = R u*(x)`` (a reflection of
            the system with sign-free parameters): training adds the images
            ``(S x, R u, R du/dtheta)`` of its samples. ``()``: none.
        ignored_states: Indices of the states the networks are not fed: states the
            MPC's action does not depend on (cyclic coordinates the cost does not
            weigh), measured.
        clipped_states: Indices of the unbounded states held to the training data's
            range before they enter the networks.
        sysid_model: Module with the one-step model the identification baseline fits
            (``FITTED``, ``SCALE_FREE``, ``ANGLE_DIMS``, ``predict``); ``None``: none.
        weights: Folder of the shipped AMPC weights (``model.safetensors``,
            ``metadata.json``, ``test_set.npz``).
        baseline: ``(name, "module:callable")`` of a classical controller of the system
            (no networks, no solver): a stand-in for tests, smoke sweeps and benchmarks.
        input_unit: Unit of the controller's input in reports (``"N"``, ``"N m"``).
        interface: ``"module:callable"`` of the system's
            :class:`~ampc_agent.systems.interface.PlantInterface` (``None``: the
            controller's state and input are the observation and the action).
    """

    name: str
    description: str
    env_id: str
    tuning_env_id: str
    params_cls: type
    theta: ThetaSpec
    state_names: tuple[str, ...]
    angle_states: tuple[int, ...]
    success: Callable[[np.ndarray, bool, float], bool]
    ocp: str | None = None
    sampling: DatasetSampling | None = None
    symmetries: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = ()
    ignored_states: tuple[int, ...] = ()
    clipped_states: tuple[int, ...] = ()
    sysid_model: str | None = None
    weights: Path | None = None
    baseline: tuple[str, str] | None = None
    interface: str | None = None
    input_unit: str = "N"
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------- what runs
    @property
    def has_mpc(self) -> bool:
        """The system has a parametric MPC (``ampc dataset`` and ``ampc eval`` run)."""
        return self.ocp is not None

    @property
    def has_weights(self) -> bool:
        """Shipped AMPC weights exist (``ampc tune`` and the sweeps run)."""
        return self.weights is not None and (self.weights / "model.safetensors").is_file()

    # ---------------------------------------------------------------- factories
    def make_env(self, **kwargs: Any) -> Any:
        """The system env (``gymnasium.make(env_id, **kwargs)``)."""
        import gymnasium as gym

        import ampc_envs  # noqa: F401  (registers the envs)

        return gym.make(self.env_id, **{**self.env_kwargs, **kwargs})

    def make_ocp(self, *args: Any, **kwargs: Any) -> Any:
        """The system's :class:`~ampc_agent.mpc.ocp.ParametricOCP` (casadi expressions)."""
        if self.ocp is None:
            raise ValueError(f"system {self.name!r} has no MPC")
        return load_object(self.ocp)(*args, **kwargs)

    def make_mpc(self, config: Any = None, **kwargs: Any) -> Any:
        """A :class:`~ampc_agent.mpc.ParametricMPC` of the system (built or loaded from
        the solver cache).

        Args:
            config: The OCP's settings (the system's default when ``None``).
            **kwargs: Passed to :class:`~ampc_agent.mpc.ParametricMPC`.
        """
        from ampc_agent.mpc.parametric import ParametricMPC

        return ParametricMPC(self.make_ocp(config), **kwargs)

    def load_policy(self, folder: str | Path | None = None, *, raw: bool = False) -> Any:
        """The AMPC in ``folder``, by default the shipped weights (no pickle), as a
        controller of the env (through the system's interface) unless ``raw``."""
        from ampc_agent.policy import AMPCPolicy

        if folder is None:
            if not self.has_weights:
                raise FileNotFoundError(f"no shipped AMPC weights for system {self.name!r}")
            folder = self.weights
        policy = AMPCPolicy.load(folder)
        return policy if raw else self.controller(policy)

    def make_interface(self) -> Any:
        """The system's plant interface (the identity when it has none)."""
        from ampc_agent.systems.interface import Identity

        if self.interface is None:
            return Identity(len(self.state_names))
        return load_object(self.interface)()

    def controller(self, controller: Any) -> Any:
        """``controller`` (of the controller's state) as a controller of the env, through
        the system's interface; returned unchanged when the interface is the identity
        and the observation is the state."""
        from ampc_agent.systems.interface import InterfacedController

        if self.interface is None:
            return controller
        return InterfacedController(controller, self.make_interface())

    def make_baseline(self) -> Any:
        """A fresh instance of the system's classical controller."""
        if self.baseline is None:
            raise ValueError(f"system {self.name!r} has no baseline controller")
        return load_object(self.baseline[1])()

    def sysid(self) -> Any:
        """The one-step model module of the identification baseline."""
        if self.sysid_model is None:
            raise ValueError(f"system {self.name!r} has no identification model")
        return importlib.import_module(self.sysid_model)

    def true_theta(self, params: Any) -> np.ndarray:
        """theta_nom with its physical entries set to those of the instance ``params``,
        clipped to the theta bounds: the theta of an MPC that knows the system."""
        theta = self.theta.nominal_array
        values = params if isinstance(params, Mapping) else params.to_dict()
        for i, name in enumerate(self.theta.names):
            if name in values:
                theta[i] = values[name]
        return np.clip(theta, self.theta.lower_array, self.theta.upper_array)

    # ------------------------------------------------------------------ states
    def wrap(self, x: np.ndarray) -> np.ndarray:
        """A copy of state(s) ``x`` with the angle states wrapped to (-pi, pi]."""
        from ampc_envs.core.angles import wrap_angle

        x = np.array(x, dtype=np.float64)
        for i in self.angle_states:
            x[..., i] = wrap_angle(x[..., i])
        return x
