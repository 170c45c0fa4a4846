"""Connecting to Ray, the optional backend of the dataset generator and the sweeps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["ray_cluster"]


@contextmanager
def ray_cluster(address: str, workers: int) -> Iterator[Any]:
    """Yield the ``ray`` module connected to a cluster, for the duration of a run.

    Args:
        address: ``"local"`` starts a Ray instance on this machine with ``workers``
            CPUs; anything else (``"auto"``, ``"host:port"``) is passed to ``ray.init``.
        workers: CPUs of a local instance.

    A connection that already exists is used as it is and left open; one made here is
    shut down at the end.
    """
    try:
        import ray
    except ImportError:
        raise ImportError(
            "--ray-address needs Ray: pip install 'ampc-tuning[ray]' (or 'ray[default]')"
        ) from None
    started = False
    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()
