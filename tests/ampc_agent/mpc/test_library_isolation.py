"""acados' libraries must not leak symbols into the rest of the process."""

import subprocess
import sys

SCRIPT = """
from ampc_agent.mpc import acados_install
acados_install()  # loads blasfeo, hpipm, qpOASES, acados
import numpy as np
import torch
a = torch.arange(16.0).reshape(4, 4)
print(float((a @ a).sum()))
"""


def test_torch_matrix_products_work_after_loading_acados():
    # qpOASES exports its own sgemm_/dgemm_; loaded globally they replaced torch's BLAS
    # and the first matrix product segfaulted. Run in a fresh process: import order matters.
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    a = [[4 * i + j for j in range(4)] for i in range(4)]
    expected = sum(a[i][k] * a[k][j] for i in range(4) for j in range(4) for k in range(4))
    assert float(out.stdout.strip()) == expected
