r"""Deterministic randomness for ask/tell tuners.

A tuner's ``ask`` must be a function of its seed and its saved state only: called
twice without a ``tell`` it returns the same point, and a study resumed from its
folder continues exactly like an uninterrupted one. So no tuner keeps a random
generator alive between calls; each random draw comes from a generator derived
from ``(seed, number of tells, purpose)``.

Example:
    >>> with seeded_torch(derive_seed(0, 12, "candidates")):
    ...     z = torch.rand(3)
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator

import numpy as np
import torch


def derive_seed(seed: int, n_tells: int, purpose: str) -> int:
    r"""A 31-bit seed that depends on the tuner seed, the tell count and a purpose tag.

    Args:
        seed: The tuner's seed.
        n_tells: How many observations the tuner has (the "time" of the draw).
        purpose: A short tag so that two draws at the same time are independent.

    Returns:
        A non-negative int below ``2**31`` (valid for torch, numpy and nevergrad).
    """
    # crc32 instead of hash(): Python salts str hashes per process.
    tag = zlib.crc32(purpose.encode())
    seq = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(n_tells), tag])
    return int(seq.generate_state(1, dtype=np.uint32)[0] >> 1)


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    r"""Run a block with torch's global CPU generator seeded, then restore it.

    botorch draws from the global generator (initial conditions in
    ``optimize_acqf``, retries in ``fit_gpytorch_mll``, random features of path
    samples), so forking it is how those calls become reproducible without
    disturbing the caller's random stream.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
