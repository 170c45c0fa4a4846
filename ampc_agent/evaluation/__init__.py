"""Evaluation of the AMPC beside the MPC: accuracy, closed loop, adaptation.

Submodules are imported when used: :mod:`~ampc_agent.evaluation.accuracy` is pure
numpy; the closed-loop and adaptation studies need MuJoCo and acados.
"""
