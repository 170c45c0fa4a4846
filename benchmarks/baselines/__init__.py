"""Baselines beside the tuners: nominal AMPC, system identification, oracle.

Each baseline is a function ``run(trial, experiment) -> extra`` that runs its
episodes through :class:`benchmarks.sweep.experiment.Experiment`, like a tuner, so
its record has the same shape and the report treats it the same way.
"""
