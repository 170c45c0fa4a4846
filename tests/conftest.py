"""Shared fixtures: one cart-pole MPC per test session (solvers come from the cache)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mpc():
    from ampc_agent.systems import get_system

    return get_system("cartpole").make_mpc()
