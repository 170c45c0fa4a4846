"""acados, set up by the package: paths, shared libraries, code generation and its cache.

The ``comma-deps-acados`` wheel ships the compiled acados, blasfeo, hpipm and qpOASES
libraries, the ``t_renderer`` template engine and ``acados_template`` under
``<site-packages>/acados``. ``acados_template`` expects ``ACADOS_SOURCE_DIR`` and
``ACADOS_PYTHON_INTERFACE_PATH`` in the environment, the libraries loadable (they have
no RPATH) and ``t_renderer`` present; without ``ACADOS_SOURCE_DIR`` it asks on the
terminal whether to download ``t_renderer``, which hangs or fails headless. This
module does all of that in code, once, when :mod:`ampc_agent.mpc` is imported, so
that no shell setup is needed.

Generated solvers are cached under :func:`cache_dir` in a folder named after the
system and a hash of the whole formulation (model expressions, cost, constraints,
options, acados and casadi versions): a changed formulation gets a new build, an
unchanged one is reused. Builds happen in a temporary folder that is renamed into
place, so two processes building the same solver at once never see a half-built one.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AcadosInstall",
    "AcadosSetupError",
    "acados_install",
    "build_solver",
    "cache_dir",
    "formulation_hash",
]

#: Pinned versions the project is tested with (see DESIGN.md, "Installing").
ACADOS_DIST = "comma-deps-acados"
CASADI_VERSION = "3.8.2"

FIX_HINT = (
    "Install the pinned packages into this Python environment:\n"
    f"    {sys.executable} -m pip install 'comma-deps-acados==0.2.2.post92'\n"
    f"    {sys.executable} -m pip install --force-reinstall --no-deps 'casadi=={CASADI_VERSION}'\n"
    "(casadi must be installed after comma-deps-acados, which ships an older casadi "
    "without ipopt in the same folder). A C compiler (gcc) and make are needed to "
    "build solvers."
)

_LIBRARIES = ("libblasfeo.so", "libhpipm.so", "libqpOASES_e.so", "libacados.so")


class AcadosSetupError(ImportError):
    """acados or casadi is missing or broken; the message says how to fix it."""


@dataclass(frozen=True)
class AcadosInstall:
    """Where the acados wheel lives and which versions are in use."""

    root: Path  # <site-packages>/acados/install (ACADOS_SOURCE_DIR)
    template_dir: Path  # <site-packages>/acados/acados_template
    tera: Path  # t_renderer executable
    acados_version: str
    casadi_version: str


_INSTALL: AcadosInstall | None = None


def _fail(problem: str) -> AcadosSetupError:
    return AcadosSetupError(f"acados is not usable: {problem}\n{FIX_HINT}")


def acados_install() -> AcadosInstall:
    """Set up acados once per process and describe the install.

    Sets ``ACADOS_SOURCE_DIR``, ``ACADOS_PYTHON_INTERFACE_PATH`` and ``TERA_PATH``,
    makes ``t_renderer`` executable if the wheel lost its mode bits, and preloads the
    shared libraries (``RTLD_LOCAL``: the generated solvers find them by soname; global
    symbols would leak qpOASES' own ``sgemm_``/``dgemm_`` into torch, which then
    crashes in its first matrix product).

    Raises:
        AcadosSetupError: a part of the install is missing; the message says how to fix it.
    """
    global _INSTALL
    if _INSTALL is not None:
        return _INSTALL
    spec = importlib.util.find_spec("acados")
    if spec is None or not spec.submodule_search_locations:
        raise _fail("the Python package 'acados' (from comma-deps-acados) is not installed.")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    root = package_dir / "install"
    template_dir = package_dir / "acados_template"
    lib_dir = root / "lib"
    tera = root / "bin" / "t_renderer"
    for path in [template_dir / "__init__.py", root / "include" / "acados_c"]:
        if not path.exists():
            raise _fail(f"{path} is missing.")
    if not tera.is_file():
        raise _fail(f"the template renderer {tera} is missing.")
    if not os.access(tera, os.X_OK):
        try:
            tera.chmod(tera.stat().st_mode | 0o111)
        except OSError as err:
            raise _fail(f"{tera} is not executable and chmod failed ({err}).") from None
    try:
        acados_version = importlib.metadata.version(ACADOS_DIST)
    except importlib.metadata.PackageNotFoundError:
        acados_version = "unknown"

    os.environ["ACADOS_SOURCE_DIR"] = str(root)
    os.environ["ACADOS_PYTHON_INTERFACE_PATH"] = str(template_dir)
    os.environ["TERA_PATH"] = str(tera)
    for name in _LIBRARIES:
        path = lib_dir / name
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_LOCAL)
        except OSError as err:
            raise _fail(f"cannot load {path}: {err}") from None

    try:
        import casadi
    except ImportError as err:
        raise _fail(f"casadi cannot be imported ({err}).") from None
    if casadi.__version__ != CASADI_VERSION:
        raise _fail(
            f"casadi {casadi.__version__} is installed, {CASADI_VERSION} is required "
            "(comma-deps-acados overwrites casadi with an older build)."
        )
    for tool in ("gcc", "make"):
        if shutil.which(tool) is None:
            raise _fail(f"'{tool}' is not on PATH; it is needed to compile solvers.")
    try:
        # Importing acados_template last: it reads the variables set above.
        with contextlib.redirect_stdout(io.StringIO()):
            import acados.acados_template  # noqa: F401
    except Exception as err:  # any import failure of the vendored template package
        raise _fail(f"acados_template cannot be imported ({err!r}).") from None
    _INSTALL = AcadosInstall(root, template_dir, tera, acados_version, casadi.__version__)
    return _INSTALL


def cache_dir() -> Path:
    """Root of the solver cache: ``$AMPC_CACHE_DIR/acados`` or ``~/.cache/ampc/acados``.

    ``$XDG_CACHE_HOME`` is honoured when ``$AMPC_CACHE_DIR`` is not set.
    """
    if os.environ.get("AMPC_CACHE_DIR"):
        return Path(os.environ["AMPC_CACHE_DIR"]).expanduser() / "acados"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "ampc" / "acados"


# Fields of AcadosOcp that are paths on this machine, not part of the formulation.
_PATH_FIELDS = {
    "code_export_directory",
    "json_file",
    "acados_include_path",
    "acados_lib_path",
    "cython_include_dirs",
    "shared_lib_ext",
}


def _canonical(obj: Any) -> Any:
    """A JSON-serialisable, deterministic image of an AcadosOcp attribute tree."""
    import casadi
    import numpy as np

    if isinstance(obj, dict):
        return {
            k.split("__", 1)[-1]: _canonical(v)
            for k, v in sorted(obj.items())
            if k.split("__", 1)[-1] not in _PATH_FIELDS
        }
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _canonical(obj.tolist())
    if isinstance(obj, (casadi.SX, casadi.MX)):
        return str(obj)
    if isinstance(obj, casadi.DM):
        return obj.full().tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, float):
        return repr(obj)  # exact
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if hasattr(obj, "__dict__"):
        return {"__class__": type(obj).__name__, **_canonical(vars(obj))}
    return repr(obj)


def formulation_hash(ocp: Any, extra: dict[str, Any] | None = None) -> str:
    """SHA-256 (16 hex digits) of an ``AcadosOcp`` without its machine paths.

    Covers model expressions, cost, constraints, dimensions, solver options, the acados
    and casadi versions, and ``extra`` (for example a formulation version string).
    """
    install = acados_install()
    image = {
        "ocp": _canonical(vars(ocp)),
        "acados": install.acados_version,
        "casadi": install.casadi_version,
        "extra": _canonical(extra or {}),
    }
    text = json.dumps(image, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _solver_lib(folder: Path, model_name: str) -> Path:
    return folder / "code" / f"libacados_ocp_solver_{model_name}.so"


def build_solver(ocp: Any, system: str, extra: dict[str, Any] | None = None, verbose: bool = False):
    """An ``AcadosOcpSolver`` for ``ocp``, built once per formulation and cached.

    Args:
        ocp: The ``AcadosOcp`` (its ``code_export_directory`` is overwritten).
        system: Short system name used in the cache folder name, e.g. ``"cartpole"``.
        extra: More data that identifies the formulation (hashed with it).
        verbose: Print the compiler output.

    Returns:
        ``(solver, folder)``: the solver and the cache folder it was loaded from.

    Raises:
        AcadosSetupError: acados is missing or the generated code does not compile.
    """
    acados_install()
    from acados.acados_template import AcadosOcpSolver

    key = formulation_hash(ocp, extra)
    folder = cache_dir() / f"{system}-{key}"
    json_file = folder / "acados_ocp.json"
    model_name = ocp.model.name
    if not (json_file.is_file() and _solver_lib(folder, model_name).is_file()):
        if folder.exists():  # an incomplete folder (e.g. files deleted by hand): set aside
            stale = folder.with_name(f".{folder.name}.stale-{os.getpid()}")
            with contextlib.suppress(OSError):
                os.rename(folder, stale)
                shutil.rmtree(stale, ignore_errors=True)
        _build_into(ocp, folder, verbose)
    ocp = copy.deepcopy(ocp)
    ocp.code_export_directory = str(folder / "code")
    with contextlib.redirect_stdout(io.StringIO()):
        solver = AcadosOcpSolver(ocp, json_file=str(json_file), build=False, generate=False)
    return solver, folder


def _build_into(ocp: Any, folder: Path, verbose: bool) -> None:
    """Generate and compile into a temporary folder, then rename it to ``folder``."""
    from acados.acados_template import AcadosOcpSolver

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        ocp = copy.deepcopy(ocp)
        ocp.code_export_directory = str(tmp / "code")
        json_tmp = tmp / "acados_ocp.json"
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            AcadosOcpSolver.generate(ocp, json_file=str(json_tmp))
        proc = subprocess.run(
            ["make", "ocp_shared_lib"],
            cwd=tmp / "code",
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if verbose:
            print(out.getvalue(), proc.stdout, proc.stderr, sep="\n")
        if proc.returncode != 0 or not _solver_lib(tmp, ocp.model.name).is_file():
            raise _fail(
                f"compiling the generated solver in {tmp / 'code'} failed "
                f"(make exit code {proc.returncode}):\n{proc.stderr[-2000:]}"
            )
        # The solver reads its own location from the JSON: point it at the final folder.
        data = json.loads(json_tmp.read_text())
        data["code_export_directory"] = str(folder / "code")
        json_tmp.write_text(json.dumps(data, indent=1))
        try:
            os.rename(tmp, folder)
        except OSError:
            # Another process finished the same build first; use theirs.
            if not (folder / "acados_ocp.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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
