"""The pretrained policies that ship inside the package (each system's ``weights/`` folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ampc_agent.policy.ampc_policy import AMPCPolicy

__all__ = ["load_shipped_policy", "shipped_policy_folder", "load_test_set", "TEST_SET_FILE"]

#: Held-out test set written beside the weights by ``ampc train``.
TEST_SET_FILE = "test_set.npz"


def shipped_policy_folder(system: str) -> Path:
    """Folder of the shipped weights of ``system`` (its registry entry's ``weights``).

    Raises:
        ValueError: ``system`` is not registered.
        FileNotFoundError: No weights ship for ``system``; the message lists those that do.
    """
    from ampc_agent.systems import get_system, systems_with

    spec = get_system(system)
    if not spec.has_weights:
        raise FileNotFoundError(
            f"no shipped AMPC weights for system {system!r}; available: {systems_with('weights')}"
        )
    return spec.weights


def load_shipped_policy(system: str) -> AMPCPolicy:
    """The pretrained AMPC of ``system`` (for example ``cartpole``), at ``theta_nom``."""
    return AMPCPolicy.load(shipped_policy_folder(system))


def load_test_set(folder: str | Path) -> dict[str, np.ndarray]:
    """Held-out samples saved beside a policy: ``x`` (n, nx), ``u`` (n, nu),
    ``du_dtheta`` (n, nu, p) (no pickle)."""
    path = Path(folder) / TEST_SET_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no held-out test set at {path}")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
