"""The on-disk cache of generated acados solvers, keyed by a hash of the formulation.

Generated solvers are cached under :func:`cache_dir` in a folder named after the
system and a hash of the whole formulation (model expressions, cost, constraints,
options, acados and casadi versions): a changed formulation gets a new build, an
unchanged one is reused. Builds happen in a temporary folder that is renamed into
place, so two processes building the same solver at once never see a half-built one.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ampc_agent.mpc.acados_setup import _fail, acados_install

__all__ = ["build_solver", "cache_dir", "compiled_functions", "formulation_hash"]


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
        system: Short system name used in the cache folder name, e.g. ``cartpole``.
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


def compiled_functions(functions: list[Any], system: str, verbose: bool = False) -> list[Any]:
    """``functions`` (casadi) compiled to C and loaded, built once per generated code.

    The C code of all functions is generated into one file (in milliseconds) and hashed;
    ``<cache>/<system>-kkt-<hash>/`` holds the compiled library (gcc ``-O1``), built in a
    temporary folder and renamed into place like the solvers. Evaluating compiled code
    is about 15x faster than casadi's virtual machine for large derivative functions.

    Returns:
        The loaded ``casadi.external`` functions, in the order given.

    Raises:
        AcadosSetupError: gcc is missing or the code does not compile.
    """
    import casadi

    acados_install()  # checks gcc
    folder_tmp = Path(tempfile.mkdtemp(prefix="ampc-kkt-"))
    try:
        generator = casadi.CodeGenerator("kkt.c", {"with_header": False})
        for fun in functions:
            generator.add(fun)
        source = Path(generator.generate(str(folder_tmp) + os.sep))
        key = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        folder = cache_dir() / f"{system}-kkt-{key}"
        if not (folder / "kkt.so").is_file():
            _compile_into(source, folder, verbose)
    finally:
        shutil.rmtree(folder_tmp, ignore_errors=True)
    return [casadi.external(fun.name(), str(folder / "kkt.so")) for fun in functions]


def _compile_into(source: Path, folder: Path, verbose: bool) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        shutil.copy(source, tmp / "kkt.c")
        cmd = ["gcc", "-O1", "-fPIC", "-shared", "kkt.c", "-o", "kkt.so", "-lm"]
        proc = subprocess.run(
            cmd, cwd=tmp, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if verbose:
            print(proc.stdout, proc.stderr, sep="\n")
        if proc.returncode != 0 or not (tmp / "kkt.so").is_file():
            raise _fail(f"compiling {tmp / 'kkt.c'} failed:\n{proc.stderr[-2000:]}")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "kkt.so").is_file():  # another process was first: use theirs
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
