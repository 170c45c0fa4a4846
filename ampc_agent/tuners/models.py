r"""Gaussian-process surrogates of the episode return over the unit cube.

Two flavours:

- :func:`fit_turbo_gp`: TuRBO's model, a Matern-5/2 ARD kernel whose
  hyperparameters are fitted by maximising the marginal likelihood each time.
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


def fit_turbo_gp(X: Tensor, y: Tensor) -> SingleTaskGP:
    r"""Fit TuRBO's GP: Matern-5/2 ARD, learned outputscale and noise.

    The lengthscale constraint ``[0.005, 4]`` is the one of the TuRBO reference
    implementation; the noise is learned (botorch's default prior) because
    episode returns on hardware are noisy.

    Args:
        X: Inputs in the unit cube, ``(n, d)``.
        y: Returns (raw units), ``(n,)``.

    Returns:
        The fitted model in eval mode (its posterior is in raw return units).
    """
    X, y = _as_train(X, y)
    d = X.shape[-1]
    covar = ScaleKernel(
        MaternKernel(nu=2.5, ard_num_dims=d, lengthscale_constraint=Interval(0.005, 4.0))
    )
    model = SingleTaskGP(X, y, covar_module=covar, outcome_transform=Standardize(m=1))
    _fit(model)
    return model


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
