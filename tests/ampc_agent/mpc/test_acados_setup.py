"""acados is set up by the package: environment, no prompt, clear errors, a solver cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import casadi as cs
import numpy as np
import pytest

from ampc_agent.mpc import ParametricMPC, acados_install
from ampc_agent.mpc.ocp import ParametricOCP, acados_ocp
from ampc_agent.mpc.solver_cache import formulation_hash
from ampc_agent.theta import ThetaSpec


def double_integrator(weight: float = 1.0) -> ParametricOCP:
    """A tiny OCP (fast to compile): a mass on a line, theta = [mass, input weight]."""
    x, u, p = cs.SX.sym("x", 2), cs.SX.sym("u", 1), cs.SX.sym("p", 2)
    dt = 0.1
    x_next = cs.vertcat(x[0] + dt * x[1] + 0.5 * dt**2 * u[0] / p[0], x[1] + dt * u[0] / p[0])
    spec = ThetaSpec(("mass", "r"), (1.0, 0.1), (0.5, 0.01), (2.0, 1.0), ("kg", "-"))
    return ParametricOCP(
        name="dblint",
        x=x,
        u=u,
        theta=p,
        x_next=x_next,
        stage_cost=weight * x[0] ** 2 + 0.1 * x[1] ** 2 + p[1] * u[0] ** 2,
        terminal_cost=10 * x[0] ** 2 + x[1] ** 2,
        dt=dt,
        steps=10,
        u_lower=np.array([-1.0]),
        u_upper=np.array([1.0]),
        soft_x_index=(0,),
        soft_x_lower=np.array([-2.0]),
        soft_x_upper=np.array([2.0]),
        slack_l1=10.0,
        slack_l2=100.0,
        theta_spec=spec,
        state_names=("position", "velocity"),
        input_names=("force",),
        initial_guesses=lambda x0, th: [],
        control_dt=dt,
    )


def test_import_sets_up_the_environment() -> None:
    install = acados_install()
    assert os.environ["ACADOS_SOURCE_DIR"] == str(install.root)
    assert (install.root / "include" / "acados_c" / "ocp_nlp_interface.h").is_file()
    assert os.environ["ACADOS_PYTHON_INTERFACE_PATH"] == str(install.template_dir)
    assert os.access(os.environ["TERA_PATH"], os.X_OK)
    assert install.casadi_version == "3.8.2"


def test_formulation_hash_changes_with_the_formulation_only() -> None:
    a = formulation_hash(acados_ocp(double_integrator(1.0), "newton"))
    b = formulation_hash(acados_ocp(double_integrator(1.0), "newton"))
    c = formulation_hash(acados_ocp(double_integrator(2.0), "newton"))
    d = formulation_hash(acados_ocp(double_integrator(1.0), "globalize"))
    assert a == b
    assert len({a, c, d}) == 3


BUILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_acados_setup import double_integrator
    from ampc_agent.mpc import ParametricMPC
    mpc = ParametricMPC(double_integrator())
    sol = mpc.solve([1.0, 0.0], init="still")
    assert sol.ok, sol
    print(sorted(p.name for p in mpc.cache_folders.values()))
    """
)


def run_build(cache: Path) -> subprocess.Popen:
    # stdin closed: acados must never ask anything on the terminal.
    env = {**os.environ, "AMPC_CACHE_DIR": str(cache)}
    code = BUILD.format(tests=str(Path(__file__).parent))
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_building_the_same_solver_at_once_both_succeed(tmp_path) -> None:
    procs = [run_build(tmp_path), run_build(tmp_path)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    assert outs[0][0] == outs[1][0]
    folders = sorted(p.name for p in (tmp_path / "acados").iterdir())
    assert len(folders) == 2 and all(f.startswith("dblint-") for f in folders)  # no leftovers


def test_cached_solver_is_reused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AMPC_CACHE_DIR", str(tmp_path))
    first = ParametricMPC(double_integrator())
    stamp = {v: (f / "code").stat().st_mtime_ns for v, f in first.cache_folders.items()}
    second = ParametricMPC(double_integrator())
    assert second.cache_folders == first.cache_folders
    assert {v: (f / "code").stat().st_mtime_ns for v, f in second.cache_folders.items()} == stamp
    changed = ParametricMPC(double_integrator(weight=3.0))
    assert set(changed.cache_folders.values()).isdisjoint(first.cache_folders.values())


def test_missing_acados_gives_one_error_with_the_fix(tmp_path) -> None:
    fake = tmp_path / "acados"
    fake.mkdir()
    (fake / "__init__.py").write_text("")  # an 'acados' package without the install
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [sys.executable, "-c", "from ampc_agent.mpc import acados_install; acados_install()"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "AcadosSetupError: acados is not usable" in proc.stderr
    assert "pip install 'comma-deps-acados==0.2.2.post92'" in proc.stderr
    assert "casadi==3.8.2" in proc.stderr


@pytest.mark.parametrize("bad", ["x", "theta"])
def test_bad_solver_inputs_are_rejected(tmp_path, monkeypatch, bad) -> None:
    monkeypatch.setenv("AMPC_CACHE_DIR", str(tmp_path))
    mpc = ParametricMPC(double_integrator())
    if bad == "theta":
        with pytest.raises(ValueError, match=r"theta\[0\] \(mass\) = 3.0 kg is outside its bounds"):
            mpc.solve([0.0, 0.0], {"mass": 3.0})
    else:
        with pytest.raises(ValueError, match=r"x must be finite"):
            mpc.solve([np.nan, 0.0])


def test_incomplete_cache_folder_is_rebuilt(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AMPC_CACHE_DIR", str(tmp_path))
    first = ParametricMPC(double_integrator())
    folder = first.cache_folders["newton"]
    del first
    for lib in (folder / "code").glob("libacados_ocp_solver_*.so"):
        lib.unlink()
    again = ParametricMPC(double_integrator())
    assert again.cache_folders["newton"] == folder
    assert again.solve([1.0, 0.0], init="still").ok
