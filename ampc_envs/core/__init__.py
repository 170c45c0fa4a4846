"""Machinery shared by all systems: parameter sets, randomization, the MuJoCo env base."""

from ampc_envs.core.params import ParamRanges, PhysicalParams, param

__all__ = ["ParamRanges", "PhysicalParams", "param"]
