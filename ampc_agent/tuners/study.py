r"""The study folder: one JSON file with everything a tuner needs to resume.

A tuner given a ``study_dir`` writes ``tuner_state.json`` there after every
``tell``. The write is atomic (temporary file in the same folder, then
``os.replace``), so a crash or a power cut between ask and tell on the hardware
leaves either the old or the new state, never half a file.

Floats are written with ``repr`` precision by :mod:`json`, so they round-trip
bit for bit; non-finite numbers are stored as ``null``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.io import read_json, write_json

STATE_FILE = "tuner_state.json"
FORMAT_VERSION = 1


def state_path(study_dir: str | Path) -> Path:
    r"""Where the state of the study in ``study_dir`` lives."""
    return Path(study_dir) / STATE_FILE


def save_state(study_dir: str | Path, state: dict[str, Any]) -> Path:
    r"""Atomically write ``state`` as JSON into ``study_dir`` (created if missing).

    Args:
        study_dir: The study folder.
        state: JSON-serialisable dict (floats, ints, strings, lists, dicts, None).

    Returns:
        The path of the written file.
    """
    target = state_path(study_dir)
    write_json(target, state, indent=1)
    return target


def load_state(study_dir: str | Path) -> dict[str, Any] | None:
    r"""Read the state in ``study_dir``, or ``None`` if the folder holds none."""
    path = state_path(study_dir)
    if not path.exists():
        return None
    state = read_json(path)
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a tuner state")
    if state.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format_version={state.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    return state


def check_saved(saved: dict[str, Any], tuner: Any) -> None:
    r"""Refuse to resume ``tuner`` from a state saved by another tuner, dimension, box,
    seed, ``x0`` or options (``ValueError`` naming the item and both values)."""
    where = state_path(tuner.study_dir)  # type: ignore[arg-type]
    if saved.get("tuner") != tuner.name:
        raise ValueError(
            f"study {where} was made by tuner {saved.get('tuner')!r}, not {tuner.name!r}"
        )
    if saved.get("dim") != tuner.dim:
        raise ValueError(
            f"study {where} has dimension {saved.get('dim')}, but the bounds have "
            f"dimension {tuner.dim}"
        )
    for key in ("lower", "upper"):
        stored = np.array(saved[key], dtype=np.float64)
        if not np.array_equal(stored, getattr(tuner, key)):
            raise ValueError(
                f"study {where} has {key}={stored.tolist()}, "
                f"but the tuner was given {key}={getattr(tuner, key).tolist()}"
            )
    if saved.get("seed") != tuner.seed:
        raise ValueError(
            f"study {where} has seed={saved.get('seed')}, but the tuner was given seed={tuner.seed}"
        )
    x0 = None if tuner.x0 is None else tuner.x0.tolist()
    if saved.get("x0") != x0:
        raise ValueError(f"study {where} has x0={saved.get('x0')}, but the tuner was given x0={x0}")
    options = _json_roundtrip(tuner.options)
    if saved.get("options") != options:
        raise ValueError(
            f"study {where} has options={saved.get('options')}, but the tuner was "
            f"given options={options}"
        )


def _json_roundtrip(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(obj))
