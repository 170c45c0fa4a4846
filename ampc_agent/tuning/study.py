"""The study folder of a tuning run: what it is, what it holds, one writer at a time.

    STUDY/
      study.json               identity: system, instance, tuner, seed, episode-seed mode,
                               policy (weights' fingerprint), tuning box
      episodes.json            one record per episode: the source of truth
      tuner/tuner_state.json   the tuner's state after the last recorded episode
      best_theta.json, returns.png
      .lock                    held by the run that owns the folder

Each episode is written in this order: the record (with the tuner's internals after
it learnt from the episode), then the tuner state. The tuner state is a function of
the records (every tuner's ``tell`` is deterministic), so on resume the records decide:
a tuner that lags is told the records it lacks, a tuner that leads (its record was
lost) is rebuilt from the records, and records that contradict it are refused.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.io import read_json, write_json
from ampc_agent.tuners.base import Tuner
from ampc_agent.tuners.study import save_state, state_path

__all__ = ["IDENTITY_KEYS", "TuningStudy", "weights_fingerprint"]

#: What makes a study: resuming under any other value would mix two experiments.
IDENTITY_KEYS = (
    "system",
    "instance",
    "tuner",
    "seed",
    "episode_seed",
    "policy",
    "tuning_lower",
    "tuning_upper",
)
_RECORD_KEYS = ("episode", "theta", "return", "crashed", "length", "episode_seed")


def weights_fingerprint(path: str | Path) -> str:
    """First 16 hex digits of the SHA-256 of an AMPC's ``model.safetensors``.

    Args:
        path: The policy folder, or its weight file.
    """
    path = Path(path)
    weights = path / "model.safetensors" if path.is_dir() else path
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:16]


class TuningStudy:
    """The files of one study folder (see the module docstring).

    Args:
        folder: The study folder.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.identity_path = self.folder / "study.json"
        self.records_path = self.folder / "episodes.json"
        self.tuner_dir = self.folder / "tuner"

    # ---------------------------------------------------------------- identity
    def check_identity(self, identity: Mapping[str, Any], flags: Mapping[str, str]) -> bool:
        """Refuse to resume under other conditions than the study's own.

        Reads only; :meth:`write_identity` stores the identity of a new study.

        Args:
            identity: The value of each of :data:`IDENTITY_KEYS` for this run.
            flags: For each key, the option that sets it (named in the message).

        Returns:
            Whether the folder already holds a study with this identity.

        Raises:
            ValueError: one line naming the item that differs and how to go on.
        """
        if not self.identity_path.is_file():
            return False
        stored = read_json(self.identity_path)
        if not isinstance(stored, dict):
            raise ValueError(f"{self.identity_path} does not hold a study identity")
        for key in IDENTITY_KEYS:
            theirs, ours = repr(stored.get(key)), repr(identity.get(key))
            if theirs != ours:
                raise ValueError(
                    f"study {self.folder} was made with {key} {theirs}, not {ours} "
                    f"({flags.get(key, key)}): rerun with the study's own options to resume "
                    f"it, or pass another --study to start a new one"
                )
        return True

    def write_identity(self, identity: Mapping[str, Any]) -> None:
        """Store the identity (once the folder is locked)."""
        write_json(self.identity_path, dict(identity))

    # ----------------------------------------------------------------- records
    def load_records(self, dim: int, seed_for: Callable[[int], int]) -> list[dict[str, Any]]:
        """The episode records, each checked (keys, index, theta size, episode seed).

        Args:
            dim: Length of theta.
            seed_for: Episode index -> episode seed under this run's options; a record
                with another seed was run under other options (or by hand).
        """
        if not self.records_path.is_file():
            return []
        records = read_json(self.records_path)
        if not isinstance(records, list):
            raise ValueError(f"{self.records_path} does not hold a list of episode records")
        for i, r in enumerate(records):
            where = f"{self.records_path}: episode {i}"
            if not isinstance(r, dict) or any(k not in r for k in _RECORD_KEYS):
                raise ValueError(f"{where} is not a record with keys {list(_RECORD_KEYS)}")
            if r["episode"] != i:
                raise ValueError(f"{where} is numbered {r['episode']!r}")
            if not isinstance(r["theta"], list) or len(r["theta"]) != dim:
                raise ValueError(f"{where} has a theta of the wrong size (expected {dim})")
            if r["episode_seed"] != seed_for(i):
                raise ValueError(
                    f"{where} ran with episode seed {r['episode_seed']!r}, but this study's "
                    f"options give {seed_for(i)}"
                )
        return records

    def save(self, records: Sequence[dict[str, Any]], tuner: Tuner) -> None:
        """Write the records, then the tuner state (this order: see the module docstring)."""
        write_json(self.records_path, list(records))
        save_state(self.tuner_dir, tuner.state_dict())

    # ------------------------------------------------------------------ tuner
    def open_tuner(
        self,
        make: Callable[..., Tuner],
        records: Sequence[dict[str, Any]],
        free: np.ndarray,
    ) -> tuple[Tuner, str | None]:
        """The tuner, restored from its state and brought in line with the records.

        Args:
            make: ``make(study_dir=...)`` builds the tuner (it restores and checks a
                saved state in ``study_dir``; ``None``: a fresh one).
            records: The checked episode records.
            free: Mask of the entries of theta the tuner searches.

        Returns:
            The tuner (it does not save itself: :meth:`save` does, after the record)
            and a note of what was repaired, or ``None``.
        """
        tuner = make(study_dir=self.tuner_dir)
        tuner.study_dir = None  # saved by save(), after the record it learnt from
        X, values, crashed = tuner.history
        for i in range(min(len(X), len(records))):
            r = records[i]
            same = (
                np.array_equal(np.asarray(r["theta"], dtype=float)[free], X[i])
                and bool(r["crashed"]) == bool(crashed[i])
                and (bool(crashed[i]) or _same_value(r["return"], values[i]))
            )
            if not same:
                raise ValueError(
                    f"{self.records_path}: episode {i} differs from what "
                    f"{state_path(self.tuner_dir)} was told: the study is damaged; pass "
                    f"another --study to start a new one"
                )
        note = None
        if len(X) > len(records):  # a record was lost: the records decide
            tuner = make(study_dir=None)
            note = (
                f"the tuner state held {len(X)} episodes but {self.records_path} "
                f"{len(records)}: rebuilt the tuner from the records"
            )
            _tell(tuner, records, free)
        elif len(X) < len(records):  # killed after the record, before the tuner state
            _tell(tuner, records[len(X) :], free)
            note = f"told the tuner the {len(records) - len(X)} recorded episode(s) it lacked"
        if note is not None:
            save_state(self.tuner_dir, tuner.state_dict())
        return tuner, note


def _tell(tuner: Tuner, records: Sequence[dict[str, Any]], free: np.ndarray) -> None:
    for r in records:
        theta = np.asarray(r["theta"], dtype=float)[free]
        tuner.tell(theta, math.nan if r["return"] is None else r["return"], crashed=r["crashed"])


def _same_value(recorded: Any, told: float) -> bool:
    return recorded is not None and float(recorded) == float(told)
