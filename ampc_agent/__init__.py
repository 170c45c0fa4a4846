"""Parametric MPC, its dataset, the parameter-adaptive AMPC policy, and the tuners."""
