"""The architecture's rules, checked on the code: dependencies point one way, no work at
import, and system names appear only in the registry and the systems' own folders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_importing_the_envs_loads_nothing_of_the_agent_and_the_tuning_env_still_makes() -> None:
    out = run(
        "import sys, ampc_envs\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ampc_agent', 'torch', 'acados', 'botorch'))\n"
        "print(heavy)\n"
        "import gymnasium as gym\n"
        "env = gym.make('ampc_envs/CartpoleSwingUpTuning-v0')\n"
        "print(env.action_space.shape)\n"
    )
    loaded, shape = out.splitlines()
    assert loaded == "[]"
    assert shape == "(8,)"


@pytest.mark.parametrize(
    "module", ["ampc_agent", "ampc_agent.mpc", "ampc_agent.systems", "benchmarks.baselines.sysid"]
)
def test_importing_agent_modules_does_not_load_acados(module: str) -> None:
    out = run(
        f"import sys, {module}\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'acados'))\n"
    )
    assert out == "[]"


def test_system_names_appear_only_in_their_folders_and_the_registry() -> None:
    from ampc_agent.systems import SYSTEMS

    # The registries (systems, envs) and the tests may name systems.
    allowed_roots = [
        ROOT / "tests",
        ROOT / "ampc_agent/systems/__init__.py",
        ROOT / "ampc_envs/__init__.py",
    ]
    for name in SYSTEMS:
        allowed_roots += [ROOT / "ampc_envs" / name, ROOT / "ampc_agent" / "systems" / name]
    pattern = re.compile("|".join(rf"[\"']{name}[\"']" for name in SYSTEMS))
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or any(path.is_relative_to(a) for a in allowed_roots):
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert offenders == []
