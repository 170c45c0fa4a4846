"""Reproducible PyTorch runs: seeds, deterministic kernels and a fixed thread count."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

__all__ = ["deterministic"]


@contextlib.contextmanager
def deterministic(seed: int, num_threads: int) -> Iterator[torch.Generator]:
    """Run the body deterministically; restore the global PyTorch settings afterwards.

    Seeds PyTorch, enables ``torch.use_deterministic_algorithms`` and fixes the number
    of CPU threads (the summation order of a matrix product depends on it, so the
    same seed gives bit-identical weights only with the same thread count).

    Args:
        seed: Seed of the global generator and of the returned one.
        num_threads: PyTorch intra-op threads.

    Yields:
        A generator seeded with ``seed`` for minibatch shuffling.
    """
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        torch.set_num_threads(int(num_threads))
        torch.use_deterministic_algorithms(True)
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        yield gen
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(threads)
