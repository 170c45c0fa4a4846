r"""GIBO's acquisition: information about the gradient at the iterate.

Observing :math:`y = f(x) + \varepsilon` shrinks the posterior covariance of the
gradient at the iterate :math:`x_*` by a rank-one term,

.. math::

    \Sigma_\nabla^{+} = \Sigma_\nabla - \frac{c\, c^\top}{\sigma^2(x) + \sigma_n^2},
    \qquad c = \operatorname{Cov}[\nabla f(x_*), f(x) \mid \mathcal{D}],

so minimising :math:`\operatorname{tr} \Sigma_\nabla^{+}` over :math:`x` means
maximising :math:`\lVert c \rVert^2 / (\sigma^2(x) + \sigma_n^2)` (Müller et al.,
2021, "Local policy search with Bayesian optimization"). With fixed
hyperparameters this does not depend on the observed returns, only on where
the data are. Queries are chosen one at a time (each ask conditions on all
earlier tells), which is the greedy way of building GIBO's batch of ``d + 1``.

Example:
    >>> acq = GradientInformation(model, x_star)
    >>> x, _ = optimize_acqf(acq, bounds=box, q=1, num_restarts=4, raw_samples=64)
"""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.models import SingleTaskGP
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from ampc_agent.tuners.gradient import (
    gradient_prior_covariance,
    kernel_gradient,
    kernel_matrix,
    model_hyperparameters,
)


class GradientInformation(AcquisitionFunction):
    r"""Reduction of the trace of the gradient posterior covariance at ``x_star``.

    Values are in standardised-outcome units (the ranking is what matters).

    Args:
        model: A ``SingleTaskGP`` with RBF or Matern-5/2 ``ScaleKernel`` and
            constant mean (see :func:`ampc_agent.tuners.models.fixed_gp`).
        x_star: The iterate in the unit cube, ``(d,)``.
    """

    def __init__(self, model: SingleTaskGP, x_star: Tensor) -> None:
        super().__init__(model=model)
        hp = model_hyperparameters(model)
        X = model.train_inputs[0].detach()
        self._X = X
        self._ls = hp["lengthscale"]
        self._s = hp["outputscale"]
        self._noise = hp["noise"]
        self._kind = hp["kind"]
        self._x_star = torch.as_tensor(x_star, dtype=X.dtype).reshape(1, -1)
        K = kernel_matrix(X, X, self._ls, self._s, self._kind)
        self._L = torch.linalg.cholesky(K + self._noise * torch.eye(X.shape[0], dtype=X.dtype))
        G = kernel_gradient(self._x_star, X, self._ls, self._s, self._kind)[0]  # (n, d)
        self._KinvG = torch.cholesky_solve(G, self._L)  # (n, d)
        Vg = torch.linalg.solve_triangular(self._L, G, upper=False)
        self._trace = torch.trace(gradient_prior_covariance(self._ls, self._s, self._kind)) - (
            Vg.pow(2).sum()
        )

    @property
    def gradient_trace(self) -> Tensor:
        r"""Trace of the current gradient posterior covariance (standardised units)."""
        return self._trace

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        r"""Trace reduction for ``X`` of shape ``(b, 1, d)``; returns ``(b,)``."""
        x = X.squeeze(-2)  # (b, d)
        k_xX = kernel_matrix(x, self._X, self._ls, self._s, self._kind)  # (b, n)
        g_sx = kernel_gradient(self._x_star, x, self._ls, self._s, self._kind)[0]  # (b, d)
        c = g_sx - k_xX @ self._KinvG  # (b, d)
        V = torch.linalg.solve_triangular(self._L, k_xX.T, upper=False)  # (n, b)
        var = (self._s - V.pow(2).sum(0)).clamp_min(0.0)
        return c.pow(2).sum(-1) / (var + self._noise)
