"""A small synthetic dataset with analytic labels, for tests and examples.

The "MPC" is a saturated linear state feedback whose gains are the parameters:
``u = clip(-(k_x x + k_theta sin(theta) + k_v x_dot + k_w theta_dot), -10, 10)`` with
``theta = (k_x, k_theta, k_v, k_w)``, so ``du/dtheta`` is known in closed form and
a trained network can be checked against it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ampc_agent.dataset.storage import write_metadata, write_shard

__all__ = ["synthetic_labels", "write_synthetic_dataset", "SYNTHETIC_THETA_NOMINAL"]

SYNTHETIC_THETA_NOMINAL = np.array([1.0, 8.0, 1.5, 1.0])
_THETA_NAMES = ["k_x", "k_theta", "k_v", "k_w"]
_U_MAX = 10.0


def synthetic_labels(x: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Action ``(n, 1)`` and sensitivity ``(n, 1, 4)`` of the synthetic feedback law."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    phi = np.stack([x[:, 0], np.sin(x[:, 1]), x[:, 2], x[:, 3]], axis=1)
    raw = -phi @ np.asarray(theta, dtype=np.float64)
    u = np.clip(raw, -_U_MAX, _U_MAX)[:, None]
    active = (np.abs(raw) < _U_MAX)[:, None]
    return u, (-phi * active)[:, None, :]


def write_synthetic_dataset(
    folder: str | Path, n: int, seed: int = 0, shards: int = 2, secant_perturbations: int = 0
) -> Path:
    """Write a dataset folder in the storage format with analytic labels.

    Args:
        folder: Target folder.
        n: Number of samples.
        seed: Seed of the sampled states.
        shards: Number of shard files.
        secant_perturbations: With ``k > 0``, also the secant arrays: ``k`` changes of
            theta per sample within the bounds (+-50 % of nominal), the exact changes of
            the action and their least-squares slope.

    Returns:
        The folder.
    """
    rng = np.random.default_rng(seed)
    # Angles beyond [-pi, pi] on purpose: the features must make theta and theta + 2 pi equal.
    x = rng.uniform([-0.8, -2 * np.pi, -2.0, -3.0], [0.8, 2 * np.pi, 2.0, 3.0], size=(n, 4))
    u, du = synthetic_labels(x, SYNTHETIC_THETA_NOMINAL)
    secant = {}
    if secant_perturbations:
        k, p = secant_perturbations, len(SYNTHETIC_THETA_NOMINAL)
        dtheta = rng.uniform(-0.5, 0.5, size=(n, k, p)) * SYNTHETIC_THETA_NOMINAL
        phi = np.stack([x[:, 0], np.sin(x[:, 1]), x[:, 2], x[:, 3]], axis=1)
        moved = -np.einsum("np,nkp->nk", phi, SYNTHETIC_THETA_NOMINAL + dtheta)
        changes = np.clip(moved, -_U_MAX, _U_MAX)[:, :, None] - u[:, None, :]
        slopes = np.stack(
            [np.linalg.lstsq(dtheta[i], changes[i], rcond=None)[0].T for i in range(n)]
        )
        secant = {"secant_dtheta": dtheta, "secant_du": changes, "du_secant": slopes}
    folder = Path(folder)
    for k, idx in enumerate(np.array_split(np.arange(n), shards)):
        write_shard(
            folder,
            k,
            {
                **{name: a[idx] for name, a in secant.items()},
                "x": x[idx],
                "u": u[idx],
                "du_dtheta": du[idx],
                "cost": np.zeros(len(idx)),
                "sqp_iter": np.ones(len(idx), dtype=np.int64),
                "solve_time": np.zeros(len(idx)),
                "source": np.ones(len(idx), dtype=np.int64),
            },
        )
    write_metadata(
        folder,
        {
            "system": "synthetic",
            "state_names": ["x", "theta", "x_dot", "theta_dot"],
            "state_wrapping": {"theta": [-np.pi, np.pi]},
            "input_names": ["force"],
            "theta_names": _THETA_NAMES,
            "theta_nominal": SYNTHETIC_THETA_NOMINAL.tolist(),
            "theta_lower": (0.5 * SYNTHETIC_THETA_NOMINAL).tolist(),
            "theta_upper": (1.5 * SYNTHETIC_THETA_NOMINAL).tolist(),
            "input_lower": [-_U_MAX],
            "input_upper": [_U_MAX],
            "generator": {"kind": "synthetic", "seed": seed, "n": n},
        },
    )
    return folder
