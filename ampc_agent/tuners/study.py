r"""The study folder: one JSON file with everything a tuner needs to resume.

A tuner given a ``study_dir`` writes ``tuner_state.json`` there after every
``tell``. The write is atomic (temporary file in the same folder, then
``os.replace``), so a crash or a power cut between ask and tell on the hardware
leaves either the old or the new state, never half a file.

Floats are written with ``repr`` precision by :mod:`json`, so they round-trip
bit for bit; non-finite numbers are stored as ``null``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

STATE_FILE = "tuner_state.json"
FORMAT_VERSION = 1


def _sanitize(obj: Any) -> Any:
    # JSON has no NaN/inf; crashed episodes often carry a NaN return.
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_sanitize(v) for v in obj]
    return obj


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
    folder = Path(study_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / STATE_FILE
    text = json.dumps(_sanitize(state), indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=".tuner_state.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def load_state(study_dir: str | Path) -> dict[str, Any] | None:
    r"""Read the state in ``study_dir``, or ``None`` if the folder holds none."""
    path = state_path(study_dir)
    if not path.exists():
        return None
    with path.open() as f:
        state = json.load(f)
    if state.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format_version={state.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    return state
