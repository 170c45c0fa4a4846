"""The one atomic-write helper of the project, JSON files that name themselves in errors,
the one folder lock and the one check of names that become file names.

Every file a long run writes (dataset shards, weights, tuner state, episode records,
sweep records) goes through :func:`atomic_write_bytes`: readers see the old file or
the whole new one, never half of it, whatever kills the writer. A folder that one run
owns (a study, a sweep's results) is held with :func:`folder_lock` for the whole run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "FolderLocked",
    "LOCK_FILE",
    "atomic_write_bytes",
    "check_name",
    "folder_lock",
    "read_json",
    "save_figure",
    "write_json",
]

#: The lock file a running writer holds in the folder it owns.
LOCK_FILE = ".lock"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (folders created) through a synced temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; a results folder is shared: the usual 0666 minus umask.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sanitize(obj: Any) -> Any:
    # JSON has no NaN or infinity (a crashed episode often carries a NaN return).
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    return obj


def write_json(path: str | Path, obj: Any, *, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON atomically; non-finite floats are stored as ``null``.

    Floats are written with ``repr`` precision, so they round-trip bit for bit.
    """
    text = json.dumps(_sanitize(obj), indent=indent, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a missing or broken file raises ``ValueError`` naming it."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist") from None
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err.msg} at line {err.lineno})") from None


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG atomically and close it; returns the path."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def check_name(name: Any, what: str = "name") -> str:
    """Return ``name`` if it is safe as one file or folder name, else raise ``ValueError``.

    Safe: letters, digits, ``_``, ``.`` and ``-``, starting with a letter or digit, and no
    ``..``; so a label that becomes part of a path (an instance, a tuner, a record's name)
    can never point outside the folder it is written into.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"{what} {name!r} is not a safe name (letters, digits, '_', '.', '-', "
            "starting with a letter or digit, no '..')"
        )
    return name


class FolderLocked(RuntimeError):
    """Another process holds the lock of a folder (the message names it)."""


@contextlib.contextmanager
def folder_lock(folder: str | Path, what: str = "folder") -> Iterator[Path]:
    """Hold an exclusive advisory lock on ``folder`` (created if missing) for the block.

    The lock is ``fcntl.flock`` on ``folder/.lock``: the kernel drops it when the holder
    ends, however it ends (even SIGKILL), so a crashed run never leaves a stale lock.
    The file holds the holder's PID and command line, for the message of the next one.

    Args:
        folder: The folder a run is about to own.
        what: What the folder is, for the message (``"study"``, ``"results folder"``).

    Raises:
        FolderLocked: another process holds the lock; the message names it.
    """
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
            raise FolderLocked(
                f"{what} {folder} is in use by {holder}; wait for it to end or use another {what}"
            ) from None
        command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} ({command})\n".encode(), 0)
        yield folder
    finally:
        os.close(fd)  # closing the descriptor releases the lock
