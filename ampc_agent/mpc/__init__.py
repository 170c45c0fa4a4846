"""Parametric nonlinear MPC in acados and its exact parameter sensitivities.

Generic: a system provides its :class:`ParametricOCP` (see :mod:`ampc_agent.systems`).
Importing this package loads none of acados; it is set up (environment, shared
libraries, template renderer) when the first solver is built, and a missing or broken
install raises :class:`AcadosSetupError` with the fix.

    from ampc_agent.systems import get_system
    mpc = get_system(name).make_mpc()               # a ParametricMPC of a system
    sol = mpc.solve(x, theta)                       # MPCSolution
    du0_dtheta = mpc.sensitivity(sol).du0_dtheta    # (nu, p)
"""

from ampc_agent.mpc.acados_setup import AcadosSetupError, acados_install
from ampc_agent.mpc.controller import MPCController
from ampc_agent.mpc.ocp import InitialGuess, ParametricOCP
from ampc_agent.mpc.parametric import MPCSolution, MPCSolveError, MPCStats, ParametricMPC
from ampc_agent.mpc.sensitivity import KKTSensitivity, SensitivityError, SensitivityResult
from ampc_agent.mpc.solver_cache import cache_dir

__all__ = [
    "AcadosSetupError",
    "InitialGuess",
    "KKTSensitivity",
    "MPCController",
    "MPCSolution",
    "MPCSolveError",
    "MPCStats",
    "ParametricMPC",
    "ParametricOCP",
    "SensitivityError",
    "SensitivityResult",
    "acados_install",
    "cache_dir",
]
