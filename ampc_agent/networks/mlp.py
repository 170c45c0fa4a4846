"""Multilayer perceptron in PyTorch, and the same forward pass in numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["ACTIVATIONS", "MLP", "mlp_forward", "numpy_activation"]

#: Hidden-layer activations by name (the name is stored in the weights' metadata).
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "silu": nn.SiLU}


class MLP(nn.Module):
    """Fully connected network ``in_dim -> hidden... -> out_dim`` with a linear output.

    Parameters are named ``layers.{k}.weight`` with shape ``(out, in)`` and
    ``layers.{k}.bias`` with shape ``(out,)``, ``k = 0 .. len(hidden)``.

    Args:
        in_dim: Input dimension.
        out_dim: Output dimension.
        hidden: Widths of the hidden layers.
        activation: Name of the hidden activation, a key of :data:`ACTIVATIONS`.

    Example:
        >>> net = MLP(5, 1, hidden=(64, 64))
        >>> net(torch.zeros(3, 5)).shape
        torch.Size([3, 1])
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: Sequence[int] = (128, 128),
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {sorted(ACTIVATIONS)}")
        self.in_dim, self.out_dim = int(in_dim), int(out_dim)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        sizes = (self.in_dim, *self.hidden, self.out_dim)
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self._act = ACTIVATIONS[activation]()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Network output for inputs ``z`` of shape ``(..., in_dim)``."""
        for layer in self.layers[:-1]:
            z = self._act(layer(z))
        return self.layers[-1](z)

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Expected ``{name: shape}`` of the parameters (used to validate weight files)."""
        return {name: tuple(p.shape) for name, p in self.named_parameters()}

    @staticmethod
    def expected_shapes(
        in_dim: int, out_dim: int, hidden: Sequence[int]
    ) -> dict[str, tuple[int, ...]]:
        """``{name: shape}`` of the parameters of an MLP with this architecture."""
        sizes = (int(in_dim), *(int(h) for h in hidden), int(out_dim))
        shapes: dict[str, tuple[int, ...]] = {}
        for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            shapes[f"layers.{k}.weight"] = (b, a)
            shapes[f"layers.{k}.bias"] = (b,)
        return shapes


def numpy_activation(name: str):
    """The numpy function of activation ``name`` (elementwise)."""
    if name == "tanh":
        return np.tanh
    if name == "silu":
        return lambda v: v / (1.0 + np.exp(-v))
    raise ValueError(f"unknown activation {name!r}; valid: {sorted(ACTIVATIONS)}")


def mlp_forward(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], activation: str, z: np.ndarray
) -> np.ndarray:
    """Forward pass of an :class:`MLP` in numpy.

    Args:
        weights: Layer matrices, each ``(out, in)``.
        biases: Layer offsets, each ``(out,)``.
        activation: Hidden activation name.
        z: Input ``(in,)`` or ``(n, in)``.

    Returns:
        Output ``(out,)`` or ``(n, out)``.
    """
    act = numpy_activation(activation)
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        z = act(z @ w.T + b)
    return z @ weights[-1].T + biases[-1]
