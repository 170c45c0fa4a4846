"""MPC datasets: states, first actions and their parameter sensitivities."""

from ampc_agent.dataset.storage import Dataset, load_dataset

__all__ = ["Dataset", "load_dataset"]
