"""On-disk format of MPC datasets: a folder of atomically written ``.npz`` shards.

Layout of a dataset folder::

    metadata.json        system, names, nominal theta and bounds, generator settings
    shard-00000.npz      one shard: arrays with the same first dimension
    shard-00001.npz      ...

Arrays of a shard (``n`` samples, ``nx`` states, ``nu`` inputs, ``p`` parameters):

==============  =============  ==================================================
name            shape          meaning
==============  =============  ==================================================
``x``           (n, nx)        state
``u``           (n, nu)        first MPC action u0*(x) at theta_nom
``du_dtheta``   (n, nu, p)     sensitivity du0*/dtheta at theta_nom
``cost``        (n,)           optimal cost of the best start
``sqp_iter``    (n,)           SQP iterations of the best start
``solve_time``  (n,)           wall time in s of all starts for this sample
``source``      (n,)           0: along closed-loop trajectories, 1: uniform samples
==============  =============  ==================================================

With secant labels (``secant_perturbations = k > 0`` in the generator settings), also:

=================  =============  ===============================================
``secant_dtheta``  (n, k, p)      parameter changes ``d_j = theta_j - theta_nom``
``secant_du``      (n, k, nu)     ``u0*(x, theta_j) - u0*(x, theta_nom)``, solved from
                                  the nominal solution (NaN: the re-solve failed)
``du_secant``      (n, nu, p)     least-squares slope of ``secant_du`` on ``secant_dtheta``
=================  =============  ===============================================

Shards are written to a temporary file and renamed, so a shard on disk is always
whole; shards are loaded without pickle.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.io import atomic_write_bytes, read_json

__all__ = [
    "Dataset",
    "concatenate_datasets",
    "load_dataset",
    "write_shard",
    "write_metadata",
    "read_metadata",
    "shard_path",
    "SECANT_ARRAYS",
    "SHARD_ARRAYS",
]

SHARD_ARRAYS = ("x", "u", "du_dtheta", "cost", "sqp_iter", "solve_time", "source")
#: Arrays of datasets with secant labels (all or none of them in every shard).
SECANT_ARRAYS = ("secant_dtheta", "secant_du", "du_secant")
METADATA_FILE = "metadata.json"


def shard_path(folder: str | Path, index: int) -> Path:
    """Path of shard number ``index`` in a dataset folder."""
    return Path(folder) / f"shard-{index:05d}.npz"


def write_shard(folder: str | Path, index: int, arrays: dict[str, np.ndarray]) -> Path:
    """Write one shard atomically; all arrays of :data:`SHARD_ARRAYS` are required, those
    of :data:`SECANT_ARRAYS` all or none."""
    missing = [k for k in SHARD_ARRAYS if k not in arrays]
    if missing:
        raise ValueError(f"shard is missing arrays {missing}")
    secant = [k for k in SECANT_ARRAYS if k in arrays]
    if secant and len(secant) != len(SECANT_ARRAYS):
        raise ValueError(f"shard has secant arrays {secant}, needs all of {list(SECANT_ARRAYS)}")
    names = SHARD_ARRAYS + (SECANT_ARRAYS if secant else ())
    n = {k: len(arrays[k]) for k in names}
    if len(set(n.values())) != 1:
        raise ValueError(f"shard arrays have different lengths: {n}")
    import io

    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(arrays[k]) for k in names})
    path = shard_path(folder, index)
    atomic_write_bytes(path, buf.getvalue())
    return path


def write_metadata(folder: str | Path, metadata: dict[str, Any]) -> None:
    """Write ``metadata.json`` atomically."""
    text = json.dumps(metadata, indent=2, sort_keys=True)
    atomic_write_bytes(Path(folder) / METADATA_FILE, text.encode())


def read_metadata(folder: str | Path) -> dict[str, Any]:
    """Read ``metadata.json`` of a dataset folder."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no dataset at {folder}: {path} does not exist")
    return read_json(path)


@dataclass
class Dataset:
    """All shards of a dataset folder concatenated, with the metadata."""

    x: np.ndarray
    u: np.ndarray
    du_dtheta: np.ndarray
    cost: np.ndarray
    sqp_iter: np.ndarray
    solve_time: np.ndarray
    source: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    secant_dtheta: np.ndarray | None = None
    secant_du: np.ndarray | None = None
    du_secant: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    @property
    def has_secant(self) -> bool:
        """The dataset holds secant labels (:data:`SECANT_ARRAYS`)."""
        return self.du_secant is not None

    @property
    def fingerprint(self) -> str:
        """SHA-256 over the sample arrays: identifies the data a network was trained on.

        ``solve_time`` is left out: it is a measurement of the machine, not data, so two
        runs of the generator with the same seed have the same fingerprint.
        """
        h = hashlib.sha256()
        for k in SHARD_ARRAYS + (SECANT_ARRAYS if self.has_secant else ()):
            if k == "solve_time":
                continue
            a = np.ascontiguousarray(getattr(self, k))
            h.update(k.encode())
            h.update(str(a.dtype).encode())
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
        return h.hexdigest()


def load_dataset(folder: str | Path) -> Dataset:
    """Load and concatenate all shards of ``folder`` in shard order (no pickle)."""
    folder = Path(folder)
    metadata = read_metadata(folder)
    shards = sorted(folder.glob("shard-*.npz"))
    if not shards:
        raise FileNotFoundError(f"dataset {folder} has no shards")
    with np.load(shards[0], allow_pickle=False) as z:
        names = SHARD_ARRAYS + (SECANT_ARRAYS if SECANT_ARRAYS[0] in z.files else ())
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for path in shards:
        with np.load(path, allow_pickle=False) as z:
            absent = [k for k in names if k not in z.files]
            if absent:
                raise ValueError(f"{path} lacks arrays {absent} that other shards have")
            for k in names:
                parts[k].append(z[k])
    return Dataset(**{k: np.concatenate(v) for k, v in parts.items()}, metadata=metadata)


def concatenate_datasets(datasets: list[Dataset], names: list[str] | None = None) -> Dataset:
    """One dataset of several of the same system and theta, in the order given.

    For example the shipped dataset and a DAgger dataset labelled along the AMPC's own
    closed loop (``ampc dataset --learner``). The secant arrays are kept only if every
    part has them. The metadata is the first part's, with ``complete`` true only if
    every part is complete and ``parts`` listing each part's name, fingerprint, size and
    generator settings.

    Args:
        datasets: The parts (at least one).
        names: A name per part (its folder) for the metadata and error messages.

    Raises:
        ValueError: no parts, or parts of another system, states or theta.
    """
    if not datasets:
        raise ValueError("concatenate_datasets needs at least one dataset")
    names = names or [f"part {i}" for i in range(len(datasets))]
    first = datasets[0].metadata
    for name, data in zip(names[1:], datasets[1:], strict=True):
        for key in ("system", "state_names", "theta_names"):
            if data.metadata.get(key) != first.get(key):
                raise ValueError(
                    f"dataset {name} has {key} {data.metadata.get(key)!r}, dataset "
                    f"{names[0]} {first.get(key)!r}: they cannot be trained on together"
                )
        if not np.allclose(data.metadata.get("theta_nominal"), first.get("theta_nominal")):
            raise ValueError(
                f"dataset {name} has theta_nominal {data.metadata.get('theta_nominal')}, "
                f"dataset {names[0]} {first.get('theta_nominal')}"
            )
    keys = SHARD_ARRAYS + (SECANT_ARRAYS if all(d.has_secant for d in datasets) else ())
    arrays = {k: np.concatenate([getattr(d, k) for d in datasets]) for k in keys}
    metadata = {
        **first,
        "complete": all(d.metadata.get("complete", True) for d in datasets),
        "parts": [
            {
                "name": name,
                "fingerprint": d.fingerprint,
                "n_samples": len(d),
                "generator": d.metadata.get("generator"),
            }
            for name, d in zip(names, datasets, strict=True)
        ],
    }
    return Dataset(**arrays, metadata=metadata)
