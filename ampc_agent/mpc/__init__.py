"""Parametric nonlinear MPC in acados and its exact parameter sensitivities.

Importing this package sets acados up (environment, shared libraries, template
renderer); a missing or broken install raises :class:`AcadosSetupError` with the fix.

    from ampc_agent.mpc import ParametricMPC
    mpc = ParametricMPC.cartpole()
    sol = mpc.solve(x, theta)                       # MPCSolution
    du0_dtheta = mpc.sensitivity(sol).du0_dtheta    # (nu, p)
"""

from ampc_agent.mpc._acados import AcadosSetupError, acados_install, cache_dir

acados_install()

from ampc_agent.mpc.cartpole import (  # noqa: E402
    CARTPOLE_THETA,
    CartpoleOCPConfig,
    cartpole_dynamics,
    cartpole_ocp,
    cartpole_rk4,
)
from ampc_agent.mpc.ocp import InitialGuess, ParametricOCP  # noqa: E402
from ampc_agent.mpc.parametric import (  # noqa: E402
    MPCSolution,
    MPCSolveError,
    MPCStats,
    ParametricMPC,
)
from ampc_agent.mpc.sensitivity import (  # noqa: E402
    KKTSensitivity,
    SensitivityError,
    SensitivityResult,
)
from ampc_agent.mpc.theta import ThetaSpec  # noqa: E402

__all__ = [
    "AcadosSetupError",
    "CARTPOLE_THETA",
    "CartpoleOCPConfig",
    "InitialGuess",
    "KKTSensitivity",
    "MPCSolution",
    "MPCSolveError",
    "MPCStats",
    "ParametricMPC",
    "ParametricOCP",
    "SensitivityError",
    "SensitivityResult",
    "ThetaSpec",
    "acados_install",
    "cache_dir",
    "cartpole_dynamics",
    "cartpole_ocp",
    "cartpole_rk4",
]
