"""RK4 maps of a continuous model, and initial guesses simulated on an OCP's model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import casadi as cs
import numpy as np

from ampc_agent.mpc.ocp import InitialGuess

__all__ = ["guess_of", "rk4_expression", "rk4_step_function", "rollout_guess"]


def rk4_step_function(
    f_expl: cs.SX, x: cs.SX, u: cs.SX, theta: cs.SX, dt: float, substeps: int
) -> cs.Function:
    """``substeps`` classic RK4 steps of ``x_dot = f_expl`` over ``dt`` s, as a casadi
    Function ``F(x, u, theta)`` (see :func:`rk4_expression`)."""
    xs, us, ps = (cs.MX.sym(n, s.shape[0]) for n, s in zip("xup", (x, u, theta), strict=True))
    return cs.Function(
        "F", [xs, us, ps], [rk4_expression(f_expl, x, u, theta, xs, us, ps, dt, substeps)]
    )


def rk4_expression(
    f_expl: cs.SX,
    x: cs.SX,
    u: cs.SX,
    theta: cs.SX,
    xs: cs.MX,
    us: cs.MX,
    ps: cs.MX,
    dt: float,
    substeps: int,
) -> cs.MX:
    """The RK4 map of ``f_expl(x, u, theta)`` at the MX arguments ``xs, us, ps``.

    The ODE stays one SX Function, called ``4 substeps`` times in an MX graph: the
    inlined SX expression of a large model (about 45 000 instructions per wheelbot
    interval) makes its derivatives too big to build, while the derivatives of the one
    ODE function are small enough to compile. ``max_num_dir=1``: derivative functions of
    one direction each, which compile 4x faster than the batched ones and run as fast.
    """
    h = dt / substeps
    f = cs.Function("f", [x, u, theta], [f_expl], {"max_num_dir": 1})
    x_next = xs
    for _ in range(substeps):
        k1 = f(x_next, us, ps)
        k2 = f(x_next + h / 2 * k1, us, ps)
        k3 = f(x_next + h / 2 * k2, us, ps)
        k4 = f(x_next + h * k3, us, ps)
        x_next = x_next + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x_next


def rollout_guess(
    step: cs.Function,
    name: str,
    x0: np.ndarray,
    inputs: np.ndarray,
    theta: np.ndarray,
    domain: tuple[np.ndarray, np.ndarray] | None = None,
    fallback: bool = False,
) -> InitialGuess:
    """``inputs`` (N, nu) simulated from ``x0`` with ``step``; where the simulation leaves
    ``domain`` or is not finite, the states are held at ``x0`` instead (a dynamically
    infeasible but usable guess)."""
    inputs = np.asarray(inputs, dtype=float)
    roll = step.mapaccum("rollout", len(inputs))
    states = np.asarray(roll(x0, inputs.T, theta)).T
    states = np.vstack([np.asarray(x0, dtype=float), states])
    ok = np.all(np.isfinite(states))
    if ok and domain is not None:
        ok = bool(np.all((states > domain[0]) & (states < domain[1])))
    if not ok:
        states = np.tile(np.asarray(x0, dtype=float), (len(inputs) + 1, 1))
    return InitialGuess(name, states, inputs, fallback)


def guess_of(
    init: Any, x0: np.ndarray, steps: int, nu: int, guesses: Callable[[], list[InitialGuess]]
) -> InitialGuess:
    """The primal guess of an initialisation of ``ParametricMPC.solve``: an
    :class:`InitialGuess`, a solution (its trajectories), ``"still"`` (the state held,
    zero input) or the name of one of ``guesses()``."""
    from ampc_agent.mpc.solution import MPCSolution

    if isinstance(init, InitialGuess):
        return init
    if isinstance(init, MPCSolution):
        return InitialGuess(f"from:{init.init}", init.x_traj, init.u_traj)
    if init == "still":
        return InitialGuess("still", np.tile(x0, (steps + 1, 1)), np.zeros((steps, nu)))
    if isinstance(init, str):
        named = guesses()
        for guess in named:
            if guess.name == init:
                return guess
        raise ValueError(
            f"unknown init {init!r}; valid: 'warm', 'best', 'still', {[g.name for g in named]}, "
            "an InitialGuess or an MPCSolution"
        )
    raise ValueError(f"unknown init {init!r}")
