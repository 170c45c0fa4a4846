"""Fixtures for the tuner tests."""

from __future__ import annotations

import pytest
import torch

# Two shared cores: one thread per process keeps the suite fast and timings stable.
torch.set_num_threads(1)


@pytest.fixture(params=["turbo", "gibo", "random", "cmaes"])
def tuner_name(request) -> str:
    return request.param
