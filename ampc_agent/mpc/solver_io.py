"""Fast access to an acados solver's iterate, bounds and parameters through its C API."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Any

__all__ = ["SolverIO"]


class SolverIO:
    """Fast access to an ``AcadosOcpSolver``'s iterate, bounds and parameters.

    ``AcadosOcpSolver.get``/``set`` re-query dimensions and re-declare ctypes signatures
    on every call (tens of microseconds each); moving a whole primal-dual iterate
    between two solvers takes hundreds of such calls. This wrapper declares the C
    signatures once and caches the dimensions.
    """

    FIELDS = ("x", "u", "pi", "lam", "t", "sl", "su")

    def __init__(self, solver: Any) -> None:
        from ctypes import POINTER, c_char_p, c_double, c_int, c_void_p

        self.solver = solver
        self.n = solver.N
        lib = solver.shared_lib
        name = solver.model_name
        self._c_double_p = POINTER(c_double)
        self._dims = lib.ocp_nlp_dims_get_from_attr
        self._dims.argtypes = [c_void_p, c_void_p, c_void_p, c_int, c_char_p]
        self._dims.restype = c_int
        self._out_get = lib.ocp_nlp_out_get
        self._out_get.argtypes = [c_void_p, c_void_p, c_void_p, c_int, c_char_p, c_void_p]
        self._out_set = lib.ocp_nlp_out_set
        self._out_set.argtypes = [c_void_p, c_void_p, c_void_p, c_int, c_char_p, c_void_p]
        self._con_set = lib.ocp_nlp_constraints_model_set
        self._con_set.argtypes = [c_void_p, c_void_p, c_void_p, c_int, c_char_p, c_void_p]
        self._params = getattr(lib, f"{name}_acados_update_params")
        self._params.argtypes = [c_void_p, c_int, POINTER(c_double), c_int]
        self._params.restype = c_int
        self._solve = getattr(lib, f"{name}_acados_solve")
        self._solve.argtypes = [c_void_p]
        self._solve.restype = c_int
        self._reset_qp = lib.ocp_nlp_solver_reset_qp_memory
        self._reset_qp.argtypes = [c_void_p, c_void_p, c_void_p]
        self._reset_qp.restype = None
        self._reset = getattr(lib, f"{name}_acados_reset")
        self._reset.argtypes = [c_void_p, c_int]
        self._reset.restype = c_int
        self._size: dict[tuple[int, str], int] = {}
        for stage in range(self.n + 1):
            for field in (*self.FIELDS, "lbx", "ubx"):
                if stage == self.n and field == "pi":
                    continue
                size = self._dims(
                    solver.nlp_config, solver.nlp_dims, solver.nlp_out, stage, field.encode()
                )
                if size > 0:
                    self._size[stage, field] = size

    def size(self, stage: int, field: str) -> int:
        """Dimension of ``field`` at ``stage`` (0 if absent)."""
        return self._size.get((stage, field), 0)

    def get(self, stage: int, field: str) -> Any:
        """Value of an iterate field (``x, u, pi, lam, t, sl, su``) at ``stage``."""
        import numpy as np

        out = np.zeros(self.size(stage, field))
        if out.size:
            s = self.solver
            self._out_get(
                s.nlp_config, s.nlp_dims, s.nlp_out, stage, field.encode(), out.ctypes.data
            )
        return out

    def set(self, stage: int, field: str, value: Any) -> None:
        """Set an iterate field at ``stage`` (no-op for absent fields)."""
        import numpy as np

        size = self.size(stage, field)
        if not size:
            return
        arr = np.ascontiguousarray(value, dtype=float).reshape(-1)
        if arr.size != size:
            raise ValueError(f"{field} at stage {stage} needs {size} values, got {arr.size}")
        s = self.solver
        self._out_set(s.nlp_config, s.nlp_dims, s.nlp_out, stage, field.encode(), arr.ctypes.data)

    def set_initial_state(self, x0: Any) -> None:
        """Fix the initial state (``lbx = ubx = x0`` at stage 0)."""
        import numpy as np

        arr = np.ascontiguousarray(x0, dtype=float).reshape(-1)
        s = self.solver
        for field in (b"lbx", b"ubx"):
            self._con_set(s.nlp_config, s.nlp_dims, s.nlp_in, 0, field, arr.ctypes.data)

    def set_params(self, theta: Any) -> None:
        """Set the parameter vector at every stage."""
        import numpy as np

        arr = np.ascontiguousarray(theta, dtype=float).reshape(-1)
        ptr = arr.ctypes.data_as(self._c_double_p)
        for stage in range(self.n + 1):
            if self._params(self.solver.capsule, stage, ptr, arr.size) != 0:
                raise RuntimeError("acados rejected the parameter vector")

    def iterate(self) -> dict[str, list]:
        """The whole primal-dual iterate, ``{field: [value per stage]}``."""
        return {f: [self.get(k, f) for k in range(self.n + 1)] for f in self.FIELDS}

    def load_iterate(self, it: dict[str, list]) -> None:
        """Load an iterate produced by :meth:`iterate` (of a solver of the same OCP)."""
        for f, values in it.items():
            for k, v in enumerate(values):
                self.set(k, f, v)

    def reset(self) -> None:
        """Zero the iterate and the QP solver memory."""
        self._reset(self.solver.capsule, 1)

    def solve(self, quiet: bool = True) -> int:
        """Run the solver from the loaded iterate; returns the acados status.

        The QP solver's memory is reset first: after a failed QP it can hold NaNs, and
        acados does not clear them, so every later solve of this solver would fail (and
        results would depend on the history of solves).

        With ``quiet``, the C library's messages on stdout ("QP solver returned error
        status 3 ...", "maximum iterations reached") are discarded: failures are
        reported through the returned status instead.
        """
        s = self.solver
        self._reset_qp(s.nlp_solver, s.nlp_in, s.nlp_out)
        if not quiet:
            return int(self._solve(s.capsule))
        with _c_stdout_silenced():
            return int(self._solve(s.capsule))


_LIBC = None


@contextlib.contextmanager
def _c_stdout_silenced():
    """Point file descriptor 1 at /dev/null while C code runs (flushing C buffers)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None)
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        _LIBC.fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
