"""The results folder of a sweep: one JSON record per finished trial.

Layout::

    RESULTS/
      trials/<system>-<tuner>-<instance>-s<seed>-b<budget>-<trial id>.json
      trials.tar.gz                  (optional: the same, archived; read like trials/)
      tensorboard/<same name>/       (written from the records, see benchmarks.report)
      report.md, *.png, report.json  (ampc-bench report)

Every record is written atomically (temporary file + rename, see
:func:`ampc_agent.io.atomic_write_bytes`) by the process that drives the sweep, so a
killed sweep leaves whole records or none, and a rerun skips every trial whose record
says ``"status": "done"``. Trials that raised are stored with ``"status": "error"``
and are run again by a rerun (their record is then replaced). One sweep at a time
writes a results folder: the sweep holds its lock (:func:`ampc_agent.io.folder_lock`).

Names become file names only when they are safe (:func:`ampc_agent.io.check_name`):
a record's name, system, tuner and instance label are checked when it is written and
when it is read, from ``trials/`` or from an archive.
"""

from __future__ import annotations

import copy
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from ampc_agent.io import atomic_write_bytes, check_name

__all__ = ["ResultStore", "TIMING_KEYS", "code_versions", "without_timing"]

#: Keys that differ between two runs of the same trial (times, host, versions).
TIMING_KEYS = (
    "wall_time",
    "tuner_time",
    "recommend_time",
    "started",
    "finished",
    "host",
    "versions",
    "worker",
)


class ResultStore:
    """Read and write the trial records of one results folder.

    Args:
        root: The results folder (created on first write).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.trials_dir = self.root / "trials"

    def path(self, name: str) -> Path:
        """File of the trial named ``name`` (see :attr:`TrialConfig.name`)."""
        return self.trials_dir / f"{check_name(name, 'trial name')}.json"

    def write(self, record: dict[str, Any]) -> Path:
        """Write one record atomically (replacing an earlier record of the same trial)."""
        path = self.path(record["name"])
        # Compact: a 50-episode record is ~15 kB instead of ~40 kB indented.
        atomic_write_bytes(path, (json.dumps(record, separators=(",", ":")) + "\n").encode())
        return path

    def records(self, status: str | None = "done") -> list[dict[str, Any]]:
        """All records (with ``status`` if given), sorted by file name.

        Also reads ``trials.tar.gz`` (an archive of ``trials/``, as committed for the
        headline result); a file in ``trials/`` wins over the archived one.
        """
        texts: dict[str, tuple[str, str]] = {}
        archive = self.root / "trials.tar.gz"
        if archive.is_file():
            try:
                with tarfile.open(archive, "r:gz") as tar:
                    for member in tar.getmembers():
                        if member.isfile() and member.name.endswith(".json"):
                            text = tar.extractfile(member).read().decode()
                            texts[Path(member.name).name] = (f"{archive}:{member.name}", text)
            except (tarfile.TarError, OSError, EOFError) as err:
                raise ValueError(f"{archive} is not a readable archive ({err})") from None
        if self.trials_dir.is_dir():
            for path in self.trials_dir.glob("*.json"):
                texts[path.name] = (str(path), path.read_text())
        out = []
        for name in sorted(texts):
            where, text = texts[name]
            record = _checked(where, text)
            if status is None or record.get("status") == status:
                out.append(record)
        return out

    def status(self) -> dict[str, str]:
        """``{trial id: status}`` of every stored record."""
        return {r["trial_id"]: r["status"] for r in self.records(status=None)}


def _checked(where: str, text: str) -> dict[str, Any]:
    """A record read from ``where``, whose names are safe as file names."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where} is not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise ValueError(f"{where} is not a trial record")
    config = record["config"]
    try:
        check_name(record.get("name"), "name")
        check_name(config.get("system"), "system")
        check_name(config.get("tuner"), "tuner")
        if not isinstance(config.get("instance"), dict):
            check_name(config.get("instance"), "instance")
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    return record


def without_timing(record: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``record`` without the keys that vary between identical runs."""

    def strip(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return strip(copy.deepcopy(record))


def code_versions() -> dict[str, Any]:
    """Git commit of the code (and whether the tree had local changes) and the versions
    of Python and the main libraries, stored in every record of a sweep."""
    from benchmarks.machine import machine_info

    info = machine_info()
    versions = {k: v for k, v in info.items() if k not in ("date", "cores", "cpu", "os")}
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        versions["git_commit"] = commit or None
        versions["git_dirty"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        versions["git_commit"] = None
    return versions
