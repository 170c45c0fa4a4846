r"""Gaussian-process surrogates of the episode return over the unit cube.

Two flavours:

- :func:`fit_turbo_gp`: TuRBO's model, a Matern-5/2 ARD kernel whose
  hyperparameters are fitted by maximising the marginal likelihood each time (the
  reference's boxes, start values and 50 Adam steps).
- :func:`fixed_gp`: GIBO's model, constant mean and an RBF (or Matern-5/2) kernel
  with fixed, published hyperparameters (lengthscale 0.25, signal variance 0.5
  in standardised units), optionally refitted under priors.

Both standardise the outcomes (botorch's ``Standardize``), so hyperparameters are
unit-free, and both work in float64: the gradient posterior of GIBO and the
virtual data points are differences of nearly equal numbers.

Example:
    >>> X = torch.rand(8, 2, dtype=torch.float64)
    >>> y = torch.sin(6 * X).sum(-1)
    >>> model = fixed_gp(X, y)
    >>> mean, std = posterior_mean_std(model, X[:2])
"""

from __future__ import annotations

import math
import warnings

import gpytorch
import torch
from botorch.exceptions.warnings import OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms import Standardize
from gpytorch.constraints import GreaterThan, Interval
from gpytorch.kernels import MaternKernel, RBFKernel, ScaleKernel
from gpytorch.likelihoods import GaussianLikelihood
from gpytorch.means import ConstantMean
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import GammaPrior
from torch import Tensor

DTYPE = torch.float64
KERNELS = ("rbf", "matern52")
_SQRT5 = math.sqrt(5.0)


def _as_train(X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    X = torch.as_tensor(X, dtype=DTYPE)
    y = torch.as_tensor(y, dtype=DTYPE).reshape(-1, 1)
    return X, y


def _fit(model: SingleTaskGP) -> None:
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    # Dense Cholesky is exact and fast for the few hundred episodes a tuner sees.
    with gpytorch.settings.max_cholesky_size(float("inf")), warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizationWarning)
        warnings.simplefilter("ignore", gpytorch.utils.warnings.NumericalWarning)
        fit_gpytorch_mll(mll)
    model.eval()


#: TuRBO's hyperparameter box (standardised returns, unit cube) and start values, those
#: of the reference implementation (uber-research/TuRBO, ``turbo/gp.py``).
TURBO_LENGTHSCALE = (0.005, 2.0)
TURBO_OUTPUTSCALE = (0.05, 20.0)
TURBO_NOISE = (5e-4, 0.2)
TURBO_START = {"lengthscale": 0.5, "outputscale": 1.0, "noise": 0.005}


def fit_turbo_gp(X: Tensor, y: Tensor, *, steps: int = 50, lr: float = 0.1) -> SingleTaskGP:
    r"""Fit TuRBO's GP: Matern-5/2 ARD, outputscale and noise learned in boxes.

    As the reference implementation: constant mean, hyperparameters inside
    :data:`TURBO_LENGTHSCALE`, :data:`TURBO_OUTPUTSCALE`, :data:`TURBO_NOISE` (noise
    variance of the standardised return, so episodes that vary are modelled as noisy
    and a repeated theta is never interpolated exactly), started at
    :data:`TURBO_START` on every fit and moved by ``steps`` Adam steps of rate ``lr``
    on the exact marginal likelihood per data point, in the parametrisation of
    gpytorch's ``Interval`` constraints (a sigmoid of a raw value). The likelihood and
    its gradient are written in closed form (:func:`_nll_and_gradient`): the same steps
    as autograd through gpytorch's ``ExactMarginalLogLikelihood``, at a small fraction
    of the cost. Deterministic.

    Args:
        X: Inputs in the unit cube, ``(n, d)``.
        y: Returns (raw units), ``(n,)``; standardised inside (botorch ``Standardize``).
        steps: Adam steps.
        lr: Adam learning rate.

    Returns:
        The fitted model in eval mode (its posterior is in raw return units).
    """
    X, y = _as_train(X, y)
    d = X.shape[-1]
    covar = ScaleKernel(
        MaternKernel(nu=2.5, ard_num_dims=d, lengthscale_constraint=Interval(*TURBO_LENGTHSCALE)),
        outputscale_constraint=Interval(*TURBO_OUTPUTSCALE),
    )
    likelihood = GaussianLikelihood(noise_constraint=Interval(*TURBO_NOISE))
    model = SingleTaskGP(
        X,
        y,
        likelihood=likelihood,
        covar_module=covar,
        mean_module=ConstantMean(),
        outcome_transform=Standardize(m=1),
    )
    ls, outputscale, noise, mean = _adam_marginal_likelihood(
        model.train_inputs[0], model.train_targets, steps, lr
    )
    model.covar_module.base_kernel.lengthscale = ls.reshape(1, d)
    model.covar_module.outputscale = outputscale
    model.likelihood.noise = noise.reshape(1)
    model.mean_module.constant = mean
    model.eval()
    return model


def _adam_marginal_likelihood(
    X: Tensor, y: Tensor, steps: int, lr: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Adam on :math:`-\log p(y \mid X) / n` of the Matern-5/2 GP, from :data:`TURBO_START`.

    The gradient is the closed form (:func:`_nll_and_gradient`), handed to
    ``torch.optim.Adam`` as ``.grad``: the same steps as autograd through the
    likelihood, without building its graph (which cost most of TuRBO's ask).

    Args:
        X: ``(n, d)`` inputs.
        y: ``(n,)`` standardised targets.
        steps: Adam steps.
        lr: Adam learning rate.

    Returns:
        ``(lengthscale (d,), outputscale (), noise (), constant mean ())``, detached.
    """

    def raw(value: float, bounds: tuple[float, float]) -> float:
        p = (value - bounds[0]) / (bounds[1] - bounds[0])
        return float(torch.logit(torch.tensor(p, dtype=DTYPE)))

    d = X.shape[-1]
    params = [
        torch.full((d,), raw(TURBO_START["lengthscale"], TURBO_LENGTHSCALE), dtype=DTYPE),
        torch.tensor(raw(TURBO_START["outputscale"], TURBO_OUTPUTSCALE), dtype=DTYPE),
        torch.tensor(raw(TURBO_START["noise"], TURBO_NOISE), dtype=DTYPE),
        torch.tensor(0.0, dtype=DTYPE),
    ]
    optimizer = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        _, grads = _nll_and_gradient(X, y, params)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimizer.step()
    return (
        _box(params[0], TURBO_LENGTHSCALE),
        _box(params[1], TURBO_OUTPUTSCALE),
        _box(params[2], TURBO_NOISE),
        params[3].clone(),
    )


def _box(raw: Tensor, bounds: tuple[float, float]) -> Tensor:
    r"""gpytorch's ``Interval`` transform: ``lower + (upper - lower) sigmoid(raw)``."""
    return bounds[0] + (bounds[1] - bounds[0]) * torch.sigmoid(raw)


def _nll_and_gradient(X: Tensor, y: Tensor, params: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
    r"""Negative log marginal likelihood per point and its gradient in the raw parameters.

    With :math:`K = s\,k(R) + \sigma^2 I`, :math:`\alpha = K^{-1}(y - m)` and
    :math:`W = K^{-1} - \alpha\alpha^\top`, the derivative of
    :math:`\tfrac12 (y-m)^\top K^{-1} (y-m) + \tfrac12 \log|K|` in a kernel parameter
    :math:`p` is :math:`\tfrac12 \operatorname{tr}(W\,\partial K/\partial p)`. For the
    Matern-5/2 kernel :math:`\partial k/\partial \ell_k = \tfrac53 (1 + \sqrt5 r)
    e^{-\sqrt5 r} (x_{ik} - x_{jk})^2 / \ell_k^3`, which has no singularity at
    :math:`r = 0`. The chain rule through :func:`_box` gives the raw gradients.

    Args:
        X: ``(n, d)`` inputs.
        y: ``(n,)`` targets.
        params: Raw ``[lengthscale (d,), outputscale (), noise (), mean ()]``.

    Returns:
        ``(nll / n, [gradient of each raw parameter])``.
    """
    n = X.shape[0]
    bounds = (TURBO_LENGTHSCALE, TURBO_OUTPUTSCALE, TURBO_NOISE)
    ls, s, noise = (_box(p, b) for p, b in zip(params[:3], bounds, strict=True))
    Z = X / ls
    sq = Z.pow(2).sum(-1)
    r2 = (sq.unsqueeze(-1) + sq.unsqueeze(-2) - 2.0 * Z @ Z.T).clamp_min(0.0)
    r = r2.sqrt()
    decay = torch.exp(-_SQRT5 * r)
    base = (1.0 + _SQRT5 * r + 5.0 / 3.0 * r2) * decay
    K = s * base
    K.diagonal().add_(noise)
    L = torch.linalg.cholesky(K)
    resid = (y - params[3]).unsqueeze(-1)
    alpha = torch.cholesky_solve(resid, L)
    nll = (
        0.5 * (resid * alpha).sum()
        + torch.log(torch.diagonal(L)).sum()
        + 0.5 * n * math.log(2.0 * math.pi)
    )
    W = torch.cholesky_inverse(L) - alpha @ alpha.T
    # sum_ij M_ij (x_ik - x_jk)^2 = 2 sum_i x_ik^2 (M 1)_i - 2 x_k^T M x_k for symmetric M.
    M = W * (s * 5.0 / 3.0) * (1.0 + _SQRT5 * r) * decay
    spread = 2.0 * (X.pow(2) * M.sum(-1, keepdim=True)).sum(0) - 2.0 * ((M @ X) * X).sum(0)
    boxed = (0.5 * spread / ls.pow(3), 0.5 * (W * base).sum(), 0.5 * torch.diagonal(W).sum())
    grads = [
        g * (b[1] - b[0]) * torch.sigmoid(p) * (1.0 - torch.sigmoid(p)) / n
        for g, p, b in zip(boxed, params[:3], bounds, strict=True)
    ]
    return nll / n, [*grads, -alpha.sum() / n]


def thompson_argmax(model: SingleTaskGP, candidates: Tensor) -> int:
    r"""Index of the maximiser of one joint posterior sample of the latent return.

    An exact sample (Cholesky of the ``(m, m)`` posterior covariance), as the
    reference TuRBO draws it; use it with the global torch generator seeded.

    Args:
        model: A fitted model.
        candidates: ``(m, d)`` points in the unit cube.

    Returns:
        The index of the best candidate under the sample.
    """
    with (
        torch.no_grad(),
        gpytorch.settings.max_cholesky_size(float("inf")),
        gpytorch.settings.fast_pred_var(False),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", gpytorch.utils.warnings.NumericalWarning)
        post = model.posterior(torch.as_tensor(candidates, dtype=DTYPE))
        sample = post.rsample(torch.Size([1])).reshape(-1)
    return int(torch.argmax(sample))


def fixed_gp(
    X: Tensor,
    y: Tensor,
    *,
    lengthscale: float = 0.25,
    outputscale: float = 0.5,
    noise: float = 1e-2,
    kernel: str = "rbf",
    refit: bool = False,
) -> SingleTaskGP:
    r"""GIBO's GP: constant mean, stationary kernel with given hyperparameters.

    With ``refit=False`` (default) nothing is fitted: lengthscale, signal
    variance and noise are the given values (in unit-cube and standardised-return
    units) and the constant mean is 0, i.e. the mean of the observed returns.
    With ``refit=True`` the hyperparameters start at those values and are fitted
    by maximum a posteriori with Gamma priors whose modes are the defaults
    (lengthscale Gamma(2, 4): mode 0.25; outputscale Gamma(2, 2): mode 0.5;
    noise Gamma(1.1, 0.05)), which keeps them sane with a handful of episodes.

    Args:
        X: Inputs in the unit cube, ``(n, d)``.
        y: Returns (raw units), ``(n,)``.
        lengthscale: Kernel lengthscale (all dimensions).
        outputscale: Signal variance of the standardised return.
        noise: Noise variance of the standardised return.
        kernel: ``"rbf"`` or ``"matern52"``.
        refit: Fit hyperparameters under priors instead of fixing them.

    Returns:
        The model in eval mode.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    X, y = _as_train(X, y)
    d = X.shape[-1]
    base_cls = RBFKernel if kernel == "rbf" else MaternKernel
    base_kw = {} if kernel == "rbf" else {"nu": 2.5}
    if refit:
        base = base_cls(ard_num_dims=d, lengthscale_prior=GammaPrior(2.0, 4.0), **base_kw)
        covar = ScaleKernel(base, outputscale_prior=GammaPrior(2.0, 2.0))
        likelihood = GaussianLikelihood(
            noise_prior=GammaPrior(1.1, 0.05), noise_constraint=GreaterThan(1e-6)
        )
    else:
        covar = ScaleKernel(base_cls(ard_num_dims=d, **base_kw))
        likelihood = GaussianLikelihood(noise_constraint=GreaterThan(1e-8))
    model = SingleTaskGP(
        X,
        y,
        likelihood=likelihood,
        covar_module=covar,
        mean_module=ConstantMean(),
        outcome_transform=Standardize(m=1),
    )
    model.covar_module.base_kernel.lengthscale = torch.full((1, d), lengthscale, dtype=DTYPE)
    model.covar_module.outputscale = torch.tensor(outputscale, dtype=DTYPE)
    model.likelihood.noise = torch.tensor([noise], dtype=DTYPE)
    model.mean_module.constant = torch.tensor(0.0, dtype=DTYPE)
    if refit:
        _fit(model)
    model.eval()
    return model


def posterior_mean_std(model: SingleTaskGP, X: Tensor) -> tuple[Tensor, Tensor]:
    r"""Latent posterior mean and standard deviation in raw return units.

    Args:
        model: A fitted single-output model.
        X: Points in the unit cube, ``(m, d)``.

    Returns:
        ``(mean, std)``, each of shape ``(m,)``; ``std`` excludes observation noise.
    """
    with (
        torch.no_grad(),
        gpytorch.settings.max_cholesky_size(float("inf")),
        warnings.catch_warnings(),
    ):
        # Tiny negative variances at training points are rounding; clamped below.
        warnings.simplefilter("ignore", gpytorch.utils.warnings.NumericalWarning)
        post = model.posterior(torch.as_tensor(X, dtype=DTYPE))
        mean = post.mean.reshape(-1)
        std = post.variance.clamp_min(0.0).sqrt().reshape(-1)
    return mean, std


def hyperparameters(model: SingleTaskGP) -> dict[str, float]:
    r"""Kernel lengthscales, outputscale and noise of ``model`` as floats (for logging)."""
    ls = model.covar_module.base_kernel.lengthscale.detach().reshape(-1)
    out = {f"gp_lengthscale_{i}": float(v) for i, v in enumerate(ls)}
    out["gp_outputscale"] = float(model.covar_module.outputscale.detach())
    out["gp_noise"] = float(model.likelihood.noise.detach().reshape(-1)[0])
    return out
