"""Describe the machine a benchmark ran on, and save result tables beside it."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata
from pathlib import Path

from ampc_agent.io import atomic_write_bytes, write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"

_PACKAGES = ("numpy", "mujoco", "gymnasium", "torch", "botorch", "casadi", "comma-deps-acados")


def machine_info() -> dict[str, str]:
    """CPU, core count, OS, Python and the versions of the main libraries."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    for name in _PACKAGES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return info


def machine_markdown() -> str:
    """The machine description as a Markdown bullet list."""
    return "\n".join(f"- {k}: {v}" for k, v in machine_info().items())


def save_result(name: str, markdown: str, data: dict | None = None) -> Path:
    """Write ``results/<name>.md`` (table + machine) and optionally ``<name>.json``."""
    path = RESULTS_DIR / f"{name}.md"
    text = f"{markdown.rstrip()}\n\n## Machine\n{machine_markdown()}\n"
    atomic_write_bytes(path, text.encode())
    if data is not None:
        write_json(RESULTS_DIR / f"{name}.json", {"machine": machine_info(), **data})
    return path
