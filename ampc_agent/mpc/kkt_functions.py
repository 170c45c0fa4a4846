"""The derivatives of an OCP's NLP that the KKT sensitivity needs, in two evaluators.

Both give, at a primal point ``w`` (layout of :class:`KKTLayout`), parameters ``theta``,
initial state ``xbar`` and equality multipliers ``lam``:

* ``first``: ``grad f`` (n_w,), the equality Jacobian ``G`` (sparse, n_eq x n_w), ``g``;
* ``second``: the Lagrangian Hessian ``H`` (sparse), its theta cross-derivative
  ``d grad_w L / d theta`` (n_w x p) and ``d g / d theta`` (n_eq x p);

with ``f`` the cost (stage costs times ``dt``, terminal cost, slack penalties) and ``g``
the initial-state and dynamics equalities ``[x_0 - xbar; x_{k+1} - F(x_k, u_k)]``.

* :class:`WholeNLP`: one casadi SX expression of the whole NLP, differentiated at
  once (small models such as the cart-pole: fast, and what its tests were measured with);
* :class:`StageWise`: per-stage casadi functions, compiled to C (cached like the
  solvers), evaluated for all stages at once (``Function.map``) and assembled sparsely;
  for models whose one-interval map is large (the wheelbot's 8 RK4 steps are about
  45 000 SX instructions: the Hessian of an inlined whole-NLP expression cannot be built,
  and the per-stage Hessian takes 120 ms in casadi's virtual machine, 6 ms compiled).
"""

from __future__ import annotations

from dataclasses import dataclass

import casadi as cs
import numpy as np
import scipy.sparse as sp

from ampc_agent.mpc.ocp import ParametricOCP
from ampc_agent.mpc.rollout import rk4_expression
from ampc_agent.mpc.solver_cache import compiled_functions

__all__ = ["KKTLayout", "StageWise", "WholeNLP", "kkt_functions"]


@dataclass(frozen=True)
class KKTLayout:
    """Index layout of ``w = [x_0..x_N, u_0..u_{N-1}, s^l_1..s^l_N, s^u_1..s^u_N]``."""

    nx: int
    nu: int
    n: int
    ns: int

    @property
    def n_w(self) -> int:
        return self.nx * (self.n + 1) + self.nu * self.n + 2 * self.ns * self.n

    def x(self, k: int) -> np.ndarray:
        return np.arange(k * self.nx, (k + 1) * self.nx)

    def u(self, k: int) -> np.ndarray:
        start = self.nx * (self.n + 1) + k * self.nu
        return np.arange(start, start + self.nu)

    def slack(self, k: int, upper: bool) -> np.ndarray:
        """Slack indices of stage k (1..N)."""
        start = self.nx * (self.n + 1) + self.nu * self.n + (self.n * self.ns if upper else 0)
        start += (k - 1) * self.ns
        return np.arange(start, start + self.ns)


def kkt_functions(ocp: ParametricOCP) -> WholeNLP | StageWise:
    """The evaluator for ``ocp``: stage-wise for continuous (ERK) dynamics, whose step is
    an MX composition, else the whole NLP."""
    return StageWise(ocp) if ocp.integrator == "ERK" else WholeNLP(ocp)


class WholeNLP:
    """The NLP as one SX expression (see the module docstring)."""

    def __init__(self, ocp: ParametricOCP) -> None:
        nx, nu, n, ns = ocp.nx, ocp.nu, ocp.steps, len(ocp.soft_x_index)
        self.layout = KKTLayout(nx, nu, n, ns)
        xs = cs.SX.sym("X", nx, n + 1)
        us = cs.SX.sym("U", nu, n)
        sl = cs.SX.sym("SL", ns, n)  # slacks of stages 1..N
        su = cs.SX.sym("SU", ns, n)
        w = cs.vertcat(cs.vec(xs), cs.vec(us), cs.vec(sl), cs.vec(su))
        theta, xbar = ocp.theta, cs.SX.sym("xbar", nx)

        stage = cs.Function("l", [ocp.x, ocp.u, theta], [ocp.stage_cost])
        terminal = cs.Function("lN", [ocp.x, theta], [ocp.terminal_cost])
        step = cs.Function("F", [ocp.x, ocp.u, theta], [ocp.x_next])
        f = 0
        eq = [xs[:, 0] - xbar]
        for k in range(n):
            f += ocp.dt * stage(xs[:, k], us[:, k], theta)
            eq.append(xs[:, k + 1] - step(xs[:, k], us[:, k], theta))
        f += terminal(xs[:, n], theta)
        for k in range(n):
            scale = ocp.dt if k < n - 1 else 1.0  # slack cost of stage N is not scaled
            f += scale * (
                ocp.slack_l1 * (cs.sum1(sl[:, k]) + cs.sum1(su[:, k]))
                + 0.5 * ocp.slack_l2 * (cs.sumsqr(sl[:, k]) + cs.sumsqr(su[:, k]))
            )
        g_eq = cs.vertcat(*eq)
        self.n_eq = g_eq.shape[0]
        lam = cs.SX.sym("lam", self.n_eq)
        lagrangian = f + cs.dot(lam, g_eq)
        grad_l = cs.gradient(lagrangian, w)
        jac_eq = cs.jacobian(g_eq, w)
        hess = cs.jacobian(grad_l, w)
        cross = cs.jacobian(grad_l, theta)
        deq_dtheta = cs.jacobian(g_eq, theta)
        self._first = cs.Function("first", [w, theta, xbar], [cs.gradient(f, w), jac_eq, g_eq])
        self._second = cs.Function("second", [w, theta, xbar, lam], [hess, cross, deq_dtheta])

    def first(self, w: np.ndarray, theta: np.ndarray, xbar: np.ndarray):
        grad_f, jac_eq, g_eq = self._first(w, theta, xbar)
        return np.asarray(grad_f).ravel(), jac_eq.sparse().tocsr(), np.asarray(g_eq).ravel()

    def second(self, w: np.ndarray, theta: np.ndarray, xbar: np.ndarray, lam: np.ndarray):
        hess, cross, deq_dtheta = self._second(w, theta, xbar, lam)
        return hess.sparse(), np.asarray(cross.full()), np.asarray(deq_dtheta.full())


class StageWise:
    """Per-stage functions, mapped over the stages and assembled (see the module doc)."""

    def __init__(self, ocp: ParametricOCP, compiled: bool = True) -> None:
        nx, nu, n, ns = ocp.nx, ocp.nu, ocp.steps, len(ocp.soft_x_index)
        self.ocp = ocp
        self.layout = KKTLayout(nx, nu, n, ns)
        self.n_eq = nx * (n + 1)
        p = ocp.theta.shape[0]
        x, u, th = cs.MX.sym("x", nx), cs.MX.sym("u", nu), cs.MX.sym("theta", p)
        lam = cs.MX.sym("lam", nx)
        z = cs.vertcat(x, u)
        stage = cs.Function("l", [ocp.x, ocp.u, ocp.theta], [ocp.stage_cost])
        terminal = cs.Function("lN", [ocp.x, ocp.theta], [ocp.terminal_cost])
        cost = ocp.dt * stage(x, u, th)
        if ocp.integrator == "ERK":
            x_next = rk4_expression(
                ocp.f_expl, ocp.x, ocp.u, ocp.theta, x, u, th, ocp.dt, ocp.substeps
            )
        else:
            x_next = cs.Function("F", [ocp.x, ocp.u, ocp.theta], [ocp.x_next])(x, u, th)
        one = {"max_num_dir": 1}  # see rk4_expression
        first = cs.Function(
            "stage_first",
            [x, u, th],
            [cs.gradient(cost, z), x_next, cs.jacobian(x_next, z), cs.jacobian(x_next, th)],
            one,
        )
        # lam multiplies x_{k+1} - F(x_k, u_k): the stage's part of the Lagrangian.
        hess, grad = cs.hessian(cost - cs.dot(lam, x_next), z)
        second = cs.Function("stage_second", [x, u, th, lam], [hess, cs.jacobian(grad, th)], one)
        hess_n, grad_n = cs.hessian(terminal(x, th), x)
        last = cs.Function("terminal", [x, th], [grad_n, hess_n, cs.jacobian(grad_n, th)], one)
        if compiled:
            first, second, last = compiled_functions([first, second, last], ocp.name)
        self._first = first.map(n)
        self._second = second.map(n)
        self._terminal = last
        self._scale = np.array([ocp.dt] * (n - 1) + [1.0])  # slack cost of stage N unscaled
        self._index()

    def _index(self) -> None:
        """Rows and columns of the dense per-stage blocks in the sparse matrices."""
        lay, n = self.layout, self.layout.n
        nz = lay.nx + lay.nu
        self._z = np.array([np.concatenate([lay.x(k), lay.u(k)]) for k in range(n)])  # (n, nz)
        rows = np.arange(lay.nx, self.n_eq).reshape(n, lay.nx)  # rows of x_{k+1} - F_k
        self._jac_rows = np.repeat(rows, nz, axis=1)  # (n, nx * nz), row-major blocks
        self._jac_cols = np.tile(self._z, (1, lay.nx))
        self._hess_rows = np.repeat(self._z, nz, axis=1)
        self._hess_cols = np.tile(self._z, (1, nz))
        stages = range(1, n + 1)
        self._slacks = np.array(
            [i for upper in (False, True) for k in stages for i in lay.slack(k, upper)], dtype=int
        )
        self._dfdth: tuple[bytes, np.ndarray] | None = None

    def _unpack(self, w: np.ndarray):
        lay = self.layout
        n, nx, nu, ns = lay.n, lay.nx, lay.nu, lay.ns
        xs = w[: nx * (n + 1)].reshape(n + 1, nx)
        us = w[nx * (n + 1) : nx * (n + 1) + nu * n].reshape(n, nu)
        start = nx * (n + 1) + nu * n
        sl = w[start : start + n * ns].reshape(n, ns)
        su = w[start + n * ns :].reshape(n, ns)
        return xs, us, sl, su

    def first(self, w: np.ndarray, theta: np.ndarray, xbar: np.ndarray):
        lay, ocp = self.layout, self.ocp
        xs, us, sl, su = self._unpack(w)
        grad_l, x_next, dfdz, dfdth = self._first(xs[:-1].T, us.T, theta)
        self._dfdth = (w.tobytes() + theta.tobytes(), np.asarray(dfdth))
        grad = np.zeros(lay.n_w)
        grad[self._z.ravel()] = np.asarray(grad_l).T.ravel()
        grad_n, _, _ = self._terminal(xs[-1], theta)
        grad[lay.x(lay.n)] += np.asarray(grad_n).ravel()
        slack = np.concatenate([sl, su], axis=1)  # (n, 2 ns), stage k = row k - 1
        grad_s = self._scale[:, None] * (ocp.slack_l1 + ocp.slack_l2 * slack)
        for k in range(1, lay.n + 1):
            grad[lay.slack(k, False)] = grad_s[k - 1, : lay.ns]
            grad[lay.slack(k, True)] = grad_s[k - 1, lay.ns :]
        # G: identity on x_0 and x_{k+1}, -dF/dz on (x_k, u_k).
        blocks = -np.asarray(dfdz).reshape(lay.nx, lay.n, -1).transpose(1, 0, 2)
        ident = np.arange(self.n_eq)
        jac = sp.coo_matrix(
            (
                np.concatenate([np.ones(self.n_eq), blocks.ravel()]),
                (
                    np.concatenate([ident, self._jac_rows.ravel()]),
                    np.concatenate([ident, self._jac_cols.ravel()]),
                ),
            ),
            shape=(self.n_eq, lay.n_w),
        ).tocsr()
        g_eq = np.concatenate([xs[0] - xbar, (xs[1:] - np.asarray(x_next).T).ravel()])
        return grad, jac, g_eq

    def second(self, w: np.ndarray, theta: np.ndarray, xbar: np.ndarray, lam: np.ndarray):
        lay, ocp = self.layout, self.ocp
        n, nx, p = lay.n, lay.nx, theta.size
        xs, us, _, _ = self._unpack(w)
        lam_next = np.asarray(lam[nx:]).reshape(n, nx).T
        hess_z, cross_z = self._second(xs[:-1].T, us.T, theta, lam_next)
        nz = nx + lay.nu
        hz = np.asarray(hess_z).reshape(nz, n, nz).transpose(1, 0, 2)  # (n, nz, nz)
        _, hess_n, cross_n = self._terminal(xs[-1], theta)
        slack_diag = np.tile(np.repeat(self._scale * ocp.slack_l2, lay.ns), 2)
        xn = lay.x(n)
        values = [hz.ravel(), np.asarray(hess_n).ravel(), slack_diag]
        rows = [self._hess_rows.ravel(), np.repeat(xn, nx), self._slacks]
        cols = [self._hess_cols.ravel(), np.tile(xn, nx), self._slacks]
        hess = sp.coo_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
            shape=(lay.n_w, lay.n_w),
        ).tocsc()
        cross = np.zeros((lay.n_w, p))
        cz = np.asarray(cross_z).reshape(nz, n, p).transpose(1, 0, 2)  # (n, nz, p)
        cross[self._z.ravel()] = cz.reshape(n * nz, p)
        cross[xn] += np.asarray(cross_n)
        key = w.tobytes() + theta.tobytes()
        if self._dfdth is None or self._dfdth[0] != key:
            self.first(w, theta, xbar)
        dfdth = self._dfdth[1]
        deq = np.zeros((self.n_eq, p))
        deq[nx:] = -dfdth.reshape(nx, n, p).transpose(1, 0, 2).reshape(n * nx, p)
        return hess, cross, deq
