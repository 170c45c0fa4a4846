"""GIBO's math: kernel gradients, the gradient posterior, and the acquisition."""

from __future__ import annotations

import pytest
import torch

from ampc_agent.tuners.acquisition import GradientInformation
from ampc_agent.tuners.gradient import (
    gradient_prior_covariance,
    kernel_gradient,
    kernel_matrix,
    model_hyperparameters,
    posterior_gradient,
)
from ampc_agent.tuners.models import fixed_gp, posterior_mean_std

KINDS = ["rbf", "matern52"]


def data(n: int = 15, d: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=gen, dtype=torch.float64)
    y = 40.0 * torch.sin(4.0 * X).sum(-1) + 7.0  # raw units far from standardised
    return X, y


def finite_difference_gradient(model, x: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    grads = []
    for i in range(x.numel()):
        e = torch.zeros_like(x)
        e[i] = h
        up = posterior_mean_std(model, (x + e)[None])[0]
        down = posterior_mean_std(model, (x - e)[None])[0]
        grads.append((up - down) / (2.0 * h))
    return torch.cat(grads)


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_matrix_matches_gpytorch(kind):
    X, y = data()
    model = fixed_gp(X, y, kernel=kind, lengthscale=0.3, outputscale=0.7)
    hp = model_hyperparameters(model)
    ours = kernel_matrix(X, X, hp["lengthscale"], hp["outputscale"], kind)
    theirs = model.covar_module(X).to_dense().detach()
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_gradient_matches_autograd(kind):
    X, _ = data(n=5)
    ls = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    x = torch.tensor([[0.4, 0.1, 0.7]], dtype=torch.float64, requires_grad=True)
    k = kernel_matrix(x, X, ls, 0.5, kind)[0]
    auto = torch.stack([torch.autograd.grad(k[j], x, retain_graph=True)[0][0] for j in range(5)])
    ours = kernel_gradient(x.detach(), X, ls, 0.5, kind)[0]
    torch.testing.assert_close(ours, auto, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_prior_covariance_matches_mixed_second_derivative(kind):
    ls = torch.tensor([0.2, 0.4], dtype=torch.float64)
    x = torch.tensor([[0.3, 0.6]], dtype=torch.float64)
    x2 = x.clone().requires_grad_(True)
    # d/dx' of dk(x, x')/dx at x' = x, by autograd through the analytic gradient.
    x2p = x2 + torch.tensor([[1e-8, -1e-8]], dtype=torch.float64)  # off r = 0
    g = kernel_gradient(x, x2p, ls, 0.5, kind)[0, 0]
    rows = [torch.autograd.grad(g[i], x2, retain_graph=True)[0][0] for i in range(2)]
    torch.testing.assert_close(
        torch.stack(rows), gradient_prior_covariance(ls, 0.5, kind), rtol=1e-3, atol=1e-6
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("refit", [False, True])
def test_posterior_gradient_matches_finite_difference_of_posterior_mean(kind, refit):
    X, y = data()
    model = fixed_gp(X, y, kernel=kind, refit=refit)
    for x in ([0.3, 0.6, 0.45], [0.9, 0.05, 0.5]):
        x = torch.tensor(x, dtype=torch.float64)
        mean, _ = posterior_gradient(model, x)
        fd = finite_difference_gradient(model, x)
        assert torch.linalg.norm(mean - fd) <= 1e-4 * torch.linalg.norm(fd)


@pytest.mark.parametrize("kind", KINDS)
def test_posterior_gradient_covariance_is_symmetric_psd_and_below_prior(kind):
    X, y = data()
    model = fixed_gp(X, y, kernel=kind)
    _, cov = posterior_gradient(model, torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64))
    torch.testing.assert_close(cov, cov.T)
    eig = torch.linalg.eigvalsh(cov)
    std2 = model.outcome_transform.stdvs.reshape(()) ** 2
    prior = gradient_prior_covariance(torch.full((3,), 0.25, dtype=torch.float64), 0.5, kind)
    assert eig.min() > 0.0
    assert torch.trace(cov) < torch.trace(prior) * std2


def test_posterior_mean_gradient_points_uphill_on_a_quadratic():
    center = torch.tensor([0.7, 0.3, 0.6], dtype=torch.float64)
    x_star = torch.tensor([0.45, 0.45, 0.45], dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    X = (x_star + 0.15 * (2 * torch.rand(12, 3, generator=gen, dtype=torch.float64) - 1)).clamp(
        0, 1
    )
    y = -((X - center) ** 2).sum(-1)
    model = fixed_gp(X, y)
    mean, _ = posterior_gradient(model, x_star)
    true = -2.0 * (x_star - center)
    cosine = torch.dot(mean, true) / (mean.norm() * true.norm())
    assert cosine > 0.95


@pytest.mark.parametrize("kind", KINDS)
def test_acquisition_is_the_trace_reduction_of_adding_one_query(kind):
    X, y = data(n=8)
    model = fixed_gp(X, y, kernel=kind)
    x_star = torch.tensor([0.5, 0.4, 0.6], dtype=torch.float64)
    acq = GradientInformation(model, x_star)
    hp = model_hyperparameters(model)
    ls, s, noise = hp["lengthscale"], hp["outputscale"], hp["noise"]

    def trace_with(Xd: torch.Tensor) -> torch.Tensor:
        K = kernel_matrix(Xd, Xd, ls, s, kind) + noise * torch.eye(len(Xd), dtype=Xd.dtype)
        G = kernel_gradient(x_star[None], Xd, ls, s, kind)[0]
        cov = gradient_prior_covariance(ls, s, kind) - G.T @ torch.linalg.solve(K, G)
        return torch.trace(cov)

    torch.testing.assert_close(acq.gradient_trace, trace_with(X))
    queries = torch.tensor([[0.55, 0.45, 0.6], [0.2, 0.9, 0.1]], dtype=torch.float64)
    values = acq(queries.unsqueeze(-2))
    for q, v in zip(queries, values, strict=True):
        reduction = trace_with(X) - trace_with(torch.cat([X, q[None]]))
        torch.testing.assert_close(v, reduction, rtol=1e-8, atol=1e-10)
    # A query near the iterate tells more about its gradient than a far one.
    assert values[0] > 10 * values[1]
