r"""The GP posterior of the gradient, in closed form.

For a GP :math:`f \sim \mathcal{GP}(m, k)` observed as :math:`y = f(X) + \varepsilon`
with :math:`\varepsilon \sim \mathcal{N}(0, \sigma_n^2 I)`, the gradient at
:math:`x` is jointly Gaussian with :math:`y`, and

.. math::

    \mathbb{E}[\nabla f(x) \mid y] = \nabla_x k(x, X)\, (K + \sigma_n^2 I)^{-1} (y - m),

    \operatorname{Cov}[\nabla f(x) \mid y] = \nabla_x \nabla_{x'} k(x, x')\big|_{x'=x}
        - \nabla_x k(x, X)\, (K + \sigma_n^2 I)^{-1} \nabla_x k(x, X)^\top.

For the stationary kernels used here, with :math:`r^2 = \sum_i (x_i - x'_i)^2 / \ell_i^2`:

- RBF :math:`k = s\, e^{-r^2/2}`: :math:`\partial k / \partial x_i = -k\, (x_i - x'_i)/\ell_i^2`
  and :math:`\nabla \nabla' k(x, x) = s\, \mathrm{diag}(1/\ell^2)`.
- Matern-5/2 :math:`k = s (1 + \sqrt5 r + \tfrac53 r^2) e^{-\sqrt5 r}`:
  :math:`\partial k/\partial x_i = -\tfrac53 s (1 + \sqrt5 r) e^{-\sqrt5 r} (x_i - x'_i)/\ell_i^2`
  and :math:`\nabla \nabla' k(x, x) = \tfrac53 s\, \mathrm{diag}(1/\ell^2)`.

Everything here is a pure function of tensors; :func:`posterior_gradient` reads
the hyperparameters and (standardised) training data of a botorch
``SingleTaskGP`` and returns the gradient posterior in raw return units.

Example:
    >>> mean, cov = posterior_gradient(model, x)  # model from models.fixed_gp
    >>> direction = mean / mean.norm()
"""

from __future__ import annotations

import math

import numpy as np
import torch
from botorch.models import SingleTaskGP
from gpytorch.kernels import MaternKernel, RBFKernel
from torch import Tensor

_SQRT5 = math.sqrt(5.0)


def kernel_kind(model: SingleTaskGP) -> str:
    r"""``"rbf"`` or ``"matern52"`` for the base kernel of ``model``."""
    base = model.covar_module.base_kernel
    if isinstance(base, RBFKernel):
        return "rbf"
    if isinstance(base, MaternKernel) and base.nu == 2.5:
        return "matern52"
    raise TypeError(f"unsupported kernel {type(base).__name__} for the gradient posterior")


def kernel_matrix(
    x1: Tensor, x2: Tensor, lengthscale: Tensor, outputscale: Tensor | float, kind: str
) -> Tensor:
    r"""Kernel matrix :math:`k(x1_i, x2_j)`.

    Args:
        x1: ``(..., n, d)``.
        x2: ``(..., m, d)``.
        lengthscale: ``(d,)``.
        outputscale: Signal variance :math:`s`.
        kind: ``"rbf"`` or ``"matern52"``.

    Returns:
        ``(..., n, m)``.
    """
    diff = (x1.unsqueeze(-2) - x2.unsqueeze(-3)) / lengthscale
    r2 = diff.pow(2).sum(-1)
    if kind == "rbf":
        return outputscale * torch.exp(-0.5 * r2)
    r = r2.clamp_min(1e-30).sqrt()
    return outputscale * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r2) * torch.exp(-_SQRT5 * r)


def kernel_gradient(
    x1: Tensor, x2: Tensor, lengthscale: Tensor, outputscale: Tensor | float, kind: str
) -> Tensor:
    r"""Gradient of :math:`k(x1_i, x2_j)` with respect to its first argument.

    Args:
        x1: ``(..., n, d)``.
        x2: ``(..., m, d)``.
        lengthscale: ``(d,)``.
        outputscale: Signal variance :math:`s`.
        kind: ``"rbf"`` or ``"matern52"``.

    Returns:
        ``(..., n, m, d)`` with entry :math:`\partial k(x1_i, x2_j) / \partial x1_{i,l}`.
    """
    delta = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    scaled = delta / lengthscale.pow(2)
    r2 = (delta / lengthscale).pow(2).sum(-1)
    if kind == "rbf":
        factor = outputscale * torch.exp(-0.5 * r2)
    else:
        # Written without 1/r so that it is smooth (and zero) at r = 0.
        r = r2.clamp_min(1e-30).sqrt()
        factor = outputscale * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * torch.exp(-_SQRT5 * r)
    return -factor.unsqueeze(-1) * scaled


def gradient_prior_covariance(
    lengthscale: Tensor, outputscale: Tensor | float, kind: str
) -> Tensor:
    r"""Prior covariance of the gradient, :math:`\nabla_x \nabla_{x'} k(x, x')` at :math:`x = x'`.

    Returns:
        ``(d, d)`` diagonal matrix.
    """
    c = 1.0 if kind == "rbf" else 5.0 / 3.0
    return torch.diag(c * outputscale / lengthscale.pow(2))


def model_hyperparameters(model: SingleTaskGP) -> dict[str, Tensor | str]:
    r"""Hyperparameters of ``model`` needed for the closed-form gradient posterior."""
    return {
        "lengthscale": model.covar_module.base_kernel.lengthscale.detach().reshape(-1),
        "outputscale": model.covar_module.outputscale.detach().reshape(()),
        "noise": model.likelihood.noise.detach().reshape(-1)[0],
        "mean": model.mean_module.constant.detach().reshape(()),
        "kind": kernel_kind(model),
    }


def posterior_gradient(model: SingleTaskGP, x: Tensor) -> tuple[Tensor, Tensor]:
    r"""Posterior mean and covariance of :math:`\nabla f(x)` for a botorch ``SingleTaskGP``.

    The model may standardise its outcomes; the result is returned in raw
    return units (scaled by the outcome standard deviation).

    Args:
        model: A ``SingleTaskGP`` with a ``ScaleKernel`` over an RBF or Matern-5/2
            kernel and a constant mean.
        x: The point in the unit cube, ``(d,)``.

    Returns:
        ``(mean (d,), cov (d, d))``.
    """
    hp = model_hyperparameters(model)
    X = model.train_inputs[0].detach()
    y = model.train_targets.detach()
    x = torch.as_tensor(x, dtype=X.dtype).reshape(1, -1)
    ls, s, kind = hp["lengthscale"], hp["outputscale"], hp["kind"]
    K = kernel_matrix(X, X, ls, s, kind)
    K = K + hp["noise"] * torch.eye(X.shape[0], dtype=X.dtype)
    L = torch.linalg.cholesky(K)
    dk = kernel_gradient(x, X, ls, s, kind)[0]  # (n, d)
    alpha = torch.cholesky_solve((y - hp["mean"]).unsqueeze(-1), L).squeeze(-1)
    mean = dk.T @ alpha
    V = torch.linalg.solve_triangular(L, dk, upper=False)  # (n, d)
    cov = gradient_prior_covariance(ls, s, kind) - V.T @ V
    scale = _outcome_std(model)
    return mean * scale, cov * scale**2


def _outcome_std(model: SingleTaskGP) -> Tensor:
    tf = getattr(model, "outcome_transform", None)
    if tf is None:
        return torch.tensor(1.0, dtype=torch.float64)
    return tf.stdvs.detach().reshape(())


def cosine_step_size(step: int, start: float, end: float, horizon: int) -> float:
    r"""Step size after ``step`` updates: cosine decay from ``start`` to ``end``.

    Args:
        step: Number of update steps already taken (0 for the first step).
        start: Step size at step 0.
        end: Step size from step ``horizon`` on.
        horizon: Length of the decay in steps.

    Returns:
        :math:`\eta_t = \eta_{end} + \tfrac12 (\eta_{start} - \eta_{end})
        (1 + \cos(\pi \min(t, T) / T))`.
    """
    t = min(max(step, 0), horizon) / max(horizon, 1)
    return float(end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * t)))


def normalized_step(gradient: np.ndarray, lengthscale: np.ndarray, step_size: float) -> np.ndarray:
    r"""GIBO's update :math:`\eta\, \ell \odot g / \lVert g \rVert` (zero if :math:`g = 0`)."""
    norm = float(np.linalg.norm(gradient))
    if norm == 0.0 or not math.isfinite(norm):
        return np.zeros_like(gradient)
    return step_size * lengthscale * gradient / norm
