"""Report of a sweep: tables, best-so-far plots and TensorBoard logs from the records."""

from benchmarks.report.markdown import write_report
from benchmarks.report.summary import BUDGETS, summarise
from benchmarks.report.tensorboard import write_tensorboard

__all__ = ["BUDGETS", "summarise", "write_report", "write_tensorboard"]
