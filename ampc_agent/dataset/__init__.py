"""MPC datasets: states, first actions and their parameter sensitivities."""

from ampc_agent.dataset.storage import Dataset, concatenate_datasets, load_dataset

__all__ = ["Dataset", "concatenate_datasets", "load_dataset"]
