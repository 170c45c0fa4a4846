"""Exact parametric sensitivities du0*/dtheta by the implicit-function theorem on the KKT system.

At a strict local minimum ``w*(theta)`` of the OCP (see :mod:`ampc_agent.mpc.ocp`) with
linearly independent active constraints and strict complementarity, the active set is
locally constant and ``(w*, lambda*)`` solves the smooth system

    grad_w f(w, theta) + G(w, theta)^T lambda = 0,     g_A(w, theta) = 0,

whose total derivative gives the sensitivities in one linear solve:

    [ H    G^T ] [ dw/dtheta      ]      [ d/dtheta grad_w L ]
    [ G    0   ] [ dlambda/dtheta ] = -  [ d/dtheta g_A      ]

with ``H`` the exact Hessian of the Lagrangian. Here ``g_A`` stacks the initial-state
and dynamics equalities and the active inequalities (input bounds, general linear constraints,
soft state bounds and slack non-negativity, all linear). The derivatives come from
:mod:`ampc_agent.mpc.kkt_functions` (one expression of the whole NLP, or per-stage
functions for large models). The active set is read from the primal solution
(distance to the bound) and confirmed by the multipliers: multipliers are recomputed
from stationarity by least squares, so the check does not depend on the sign conventions
of the solver that produced the solution, and the stationarity residual is reported.
Weakly active constraints (multiplier below ``min_multiplier``) count as inactive; there
the sensitivity is one-sided and not unique.

Why not acados' own routes: this acados version has no parametric sensitivities, and
``eval_param_sens`` with theta appended as constant states is silently wrong when input
bounds are active (see ``docs/install.md``). Every route is checked against finite
differences of full re-solves in ``tests/ampc_agent/mpc/test_sensitivity.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ampc_agent.mpc.kkt_functions import kkt_functions
from ampc_agent.mpc.ocp import ParametricOCP

__all__ = ["KKTSensitivity", "SensitivityResult", "SensitivityError"]


class SensitivityError(RuntimeError):
    """The point is not a regular KKT point (wrong multiplier sign, singular KKT matrix)."""


@dataclass(frozen=True)
class SensitivityResult:
    """Sensitivities at one OCP solution.

    Attributes:
        du0_dtheta: du0*/dtheta, shape (nu, p), in input units per theta unit.
        dw_dtheta: Derivative of all primal variables, shape (n_w, p).
        stationarity: Infinity norm of the Lagrangian gradient with least-squares
            multipliers (how well the solution satisfies the KKT conditions).
        active: Number of active inequality constraints used.
        weakly_active: Number of constraints at their bound with a multiplier below
            ``min_multiplier`` (treated as inactive).
    """

    du0_dtheta: np.ndarray
    dw_dtheta: np.ndarray
    stationarity: float
    active: int
    weakly_active: int


class KKTSensitivity:
    """The KKT system of a :class:`ParametricOCP`, compiled once, evaluated per solution.

    Args:
        ocp: The OCP description (the same one the acados solver is built from).
        active_tol: A constraint within this distance of its bound is a candidate for
            the active set (units of the constraint).
        min_multiplier: Candidates with a multiplier below this are weakly active and
            dropped (the role of ipopt's ``min_lam``, ``docs/install.md``).
    """

    def __init__(
        self, ocp: ParametricOCP, active_tol: float = 1e-6, min_multiplier: float = 1e-6
    ) -> None:
        self.ocp = ocp
        self.active_tol = active_tol
        self.min_multiplier = min_multiplier
        self._nlp = kkt_functions(ocp)
        self._layout = self._nlp.layout
        self.n_w = self._layout.n_w
        self.n_eq = self._nlp.n_eq
        self._constraints = self._linear_inequalities()
        self._u0 = self._layout.u(0)

    def pack(
        self,
        states: np.ndarray,
        inputs: np.ndarray,
        slack_lower: np.ndarray,
        slack_upper: np.ndarray,
    ) -> np.ndarray:
        """Stack a solution into the primal vector w.

        Args:
            states: (N+1, nx); inputs: (N, nu); slack_lower, slack_upper: (N, ns) for
            stages 1..N.
        """
        return np.concatenate(
            [
                np.asarray(states, float).ravel(),
                np.asarray(inputs, float).ravel(),
                np.asarray(slack_lower, float).ravel(),
                np.asarray(slack_upper, float).ravel(),
            ]
        )

    def _linear_inequalities(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """All inequalities as ``lo <= C w <= hi`` (they are linear in w)."""
        ocp, lay = self.ocp, self._layout
        rows, lo, hi = [], [], []

        def row(indices: list[int], coeffs: list[float], low: float, high: float) -> None:
            r = np.zeros(self.n_w)
            r[indices] = coeffs
            rows.append(r)
            lo.append(low)
            hi.append(high)

        for k in range(lay.n):
            for i, j in enumerate(lay.u(k)):
                row([j], [1.0], ocp.u_lower[i], ocp.u_upper[i])
        for k in range(lay.n):  # general constraints C x_k + D u_k at stages 0..N-1
            for i in range(ocp.ng):
                indices = [*lay.x(k), *lay.u(k)]
                coeffs = [*ocp.g_matrix_x[i], *ocp.g_matrix_u[i]]
                row(indices, coeffs, ocp.g_lower[i], ocp.g_upper[i])
        for k in range(1, lay.n + 1):
            xi = lay.x(k)
            sl, su = lay.slack(k, False), lay.slack(k, True)
            for m, state_index in enumerate(ocp.soft_x_index):
                row([xi[state_index], sl[m]], [1.0, 1.0], ocp.soft_x_lower[m], np.inf)
                row([xi[state_index], su[m]], [1.0, -1.0], -np.inf, ocp.soft_x_upper[m])
                row([sl[m]], [1.0], 0.0, np.inf)
                row([su[m]], [1.0], 0.0, np.inf)
        return sp.csr_matrix(np.array(rows)), np.array(lo), np.array(hi)

    # ------------------------------------------------------------ evaluation
    def solve(self, w: np.ndarray, theta: np.ndarray, x0: np.ndarray) -> SensitivityResult:
        """Sensitivities dw*/dtheta at the solution ``w`` (see :meth:`pack`).

        Raises:
            SensitivityError: an active constraint has a multiplier of the wrong sign
                or the KKT matrix is singular (not a regular local minimum).
        """
        w = np.asarray(w, dtype=float)
        theta = np.asarray(theta, dtype=float)
        x0 = np.asarray(x0, dtype=float)
        grad_f, jac_eq, _ = self._nlp.first(w, theta, x0)

        c_mat, lo, hi = self._constraints
        cw = c_mat @ w
        at_lower = np.abs(cw - lo) <= self.active_tol
        at_upper = np.abs(cw - hi) <= self.active_tol
        candidates = np.flatnonzero(at_lower | at_upper)
        lam_eq, mu, stationarity = self._multipliers(grad_f, jac_eq, c_mat[candidates])
        lower_side = at_lower[candidates]
        # Lagrangian f + lam'g + mu'(Cw - b): mu <= 0 at a lower bound, >= 0 at an upper one.
        signed = np.where(lower_side, -mu, mu)
        strong = signed > self.min_multiplier
        wrong = signed < -max(self.min_multiplier, 1e3 * stationarity)
        if np.any(wrong):
            raise SensitivityError(
                f"{int(wrong.sum())} active constraint(s) have multipliers of the wrong sign "
                f"(most negative {signed.min():.3g}): not a local minimum"
            )
        active = candidates[strong]
        hess, cross, deq_dtheta = self._nlp.second(w, theta, x0, lam_eq)
        g_act = sp.vstack([jac_eq, c_mat[active]]).tocsc()
        kkt = sp.bmat([[hess, g_act.T], [g_act, None]], format="csc")
        rhs = -np.vstack([cross, deq_dtheta, np.zeros((len(active), theta.size))])
        try:
            sol = spla.splu(kkt).solve(rhs)
        except RuntimeError as err:  # "Factor is exactly singular"
            raise SensitivityError(f"KKT matrix is singular: {err}") from None
        if not np.all(np.isfinite(sol)):
            raise SensitivityError("KKT solve returned non-finite values")
        dw = sol[: self.n_w]
        return SensitivityResult(
            du0_dtheta=dw[self._u0],
            dw_dtheta=dw,
            stationarity=stationarity,
            active=int(len(active)),
            weakly_active=int(len(candidates) - len(active)),
        )

    def _multipliers(
        self, grad_f: np.ndarray, jac_eq: sp.csr_matrix, c_act: sp.csr_matrix
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Least-squares multipliers of ``grad f + G^T lambda = 0`` and the residual norm."""
        g = sp.vstack([jac_eq, c_act]).tocsc()
        m = g.shape[0]
        mat = sp.bmat([[sp.identity(self.n_w), g.T], [g, None]], format="csc")
        sol = spla.splu(mat).solve(np.concatenate([-grad_f, np.zeros(m)]))
        residual = sol[: self.n_w]  # = -(grad f + G^T lambda) at the least-squares lambda
        lam = sol[self.n_w :]
        return lam[: self.n_eq], lam[self.n_eq :], float(np.max(np.abs(residual)))
