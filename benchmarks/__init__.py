"""Benchmarks: tuner sweeps, reports, and performance programs that print tables."""
