"""acados, set up by the package: paths, shared libraries and the template renderer.

The ``comma-deps-acados`` wheel ships the compiled acados, blasfeo, hpipm and qpOASES
libraries, the ``t_renderer`` template engine and ``acados_template`` under
``<site-packages>/acados``. ``acados_template`` expects ``ACADOS_SOURCE_DIR`` and
``ACADOS_PYTHON_INTERFACE_PATH`` in the environment, the libraries loadable (they have
no RPATH) and ``t_renderer`` present; without ``ACADOS_SOURCE_DIR`` it asks on the
terminal whether to download ``t_renderer``, which hangs or fails headless.
:func:`acados_install` does all of that in code, once per process, the first time a
solver is built; importing :mod:`ampc_agent.mpc` loads none of acados.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import importlib.util
import io
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AcadosInstall", "AcadosSetupError", "acados_install", "pinned_version"]

ACADOS_DIST = "comma-deps-acados"
PROJECT_DIST = "ampc-tuning"


def pinned_version(dist: str) -> str | None:
    """The version of ``dist`` this project pins (``==`` in its package requirements).

    The pins have one home, ``pyproject.toml``; installed, they are in the package's
    metadata. ``None`` if the project is not installed or does not pin ``dist``.
    """
    try:
        requirements = importlib.metadata.requires(PROJECT_DIST) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for req in requirements:
        name, sep, version = req.partition("==")
        if sep and name.strip().lower() == dist.lower():
            return version.split(";")[0].strip()
    return None


def _fix_hint() -> str:
    acados = pinned_version(ACADOS_DIST) or "<pinned version>"
    casadi = pinned_version("casadi") or "<pinned version>"
    return (
        "Install the pinned packages into this Python environment (or run install.sh):\n"
        f"    {sys.executable} -m pip install '{ACADOS_DIST}=={acados}'\n"
        f"    {sys.executable} -m pip install --force-reinstall --no-deps 'casadi=={casadi}'\n"
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
    return AcadosSetupError(f"acados is not usable: {problem}\n{_fix_hint()}")


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
    required = pinned_version("casadi")
    if required is not None and casadi.__version__ != required:
        raise _fail(
            f"casadi {casadi.__version__} is installed, {required} is required "
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
