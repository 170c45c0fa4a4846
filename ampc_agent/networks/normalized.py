"""An MLP between an input and an output normalisation: the unit of a trained network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ampc_agent.networks.mlp import MLP
from ampc_agent.networks.normalization import Normalization
from ampc_agent.networks.transform import AsinhScaling

__all__ = ["NormalizedMLP"]


@dataclass
class NormalizedMLP:
    """``y = T(out.denormalize(mlp(in.normalize(features))))``.

    The MLP is trained on normalised inputs and targets; the two normalisations are
    part of the trained network and are saved with it.

    Args:
        mlp: The PyTorch network on normalised quantities.
        input_norm: Normalisation of the features, dimension ``mlp.in_dim``.
        output_norm: Normalisation of the outputs, dimension ``mlp.out_dim``.
        output_transform: ``T``, an optional :class:`AsinhScaling` of heavy-tailed
            outputs (``None``: identity).
    """

    mlp: MLP
    input_norm: Normalization
    output_norm: Normalization
    output_transform: AsinhScaling | None = None

    def __post_init__(self) -> None:
        if self.input_norm.dim != self.mlp.in_dim or self.output_norm.dim != self.mlp.out_dim:
            raise ValueError(
                f"normalisation dimensions ({self.input_norm.dim}, {self.output_norm.dim}) do "
                f"not match the MLP ({self.mlp.in_dim} -> {self.mlp.out_dim})"
            )
        t = self.output_transform
        if t is not None and len(t.scale) != self.mlp.out_dim:
            raise ValueError(
                f"output transform has {len(t.scale)} entries, expected {self.mlp.out_dim}"
            )

    @torch.no_grad()
    def torch_forward(self, features: np.ndarray) -> np.ndarray:
        """Reference evaluation through the PyTorch module (float32 inside).

        Args:
            features: ``(n, in_dim)`` or ``(in_dim,)``.

        Returns:
            Outputs in physical units, float64, ``(n, out_dim)`` or ``(out_dim,)``.
        """
        z = torch.as_tensor(self.input_norm.normalize(features), dtype=torch.float32)
        return self.transform_output(self.output_norm.denormalize(self.mlp(z).numpy()))

    def transform_output(self, y: np.ndarray) -> np.ndarray:
        """Apply the output transform (identity when there is none)."""
        return y if self.output_transform is None else self.output_transform.inverse(y)

    def folded_layers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Weights and biases in float64 with both normalisations folded in.

        The output transform, if any, is not folded: apply :meth:`transform_output`.

        The first layer absorbs the input scaling, ``W0 (f - m) / s + b0 =
        (W0 / s) f + (b0 - W0 (m / s))``, and the last layer the output scaling, so
        that the numpy forward pass on raw features needs no extra operations.

        Returns:
            ``(weights, biases)`` for :func:`~ampc_agent.networks.mlp.mlp_forward`.
        """
        weights = [layer.weight.detach().double().numpy().copy() for layer in self.mlp.layers]
        biases = [layer.bias.detach().double().numpy().copy() for layer in self.mlp.layers]
        m, s = self.input_norm.mean, self.input_norm.std
        biases[0] = biases[0] - weights[0] @ (m / s)
        weights[0] = weights[0] / s
        om, os_ = self.output_norm.mean, self.output_norm.std
        weights[-1] = os_[:, None] * weights[-1]
        biases[-1] = om + os_ * biases[-1]
        return weights, biases

    def architecture(self) -> dict[str, Any]:
        """JSON description: dimensions, hidden widths, activation, normalisations."""
        return {
            "in_dim": self.mlp.in_dim,
            "out_dim": self.mlp.out_dim,
            "hidden": list(self.mlp.hidden),
            "activation": self.mlp.activation,
            "input_normalization": self.input_norm.to_dict(),
            "output_normalization": self.output_norm.to_dict(),
            "output_transform": (
                None if self.output_transform is None else self.output_transform.to_dict()
            ),
        }

    @classmethod
    def from_architecture(cls, spec: dict[str, Any]) -> NormalizedMLP:
        """An untrained network (random weights) with the architecture of ``spec``."""
        mlp = MLP(spec["in_dim"], spec["out_dim"], spec["hidden"], spec["activation"])
        return cls(
            mlp=mlp,
            input_norm=Normalization.from_dict(spec["input_normalization"]),
            output_norm=Normalization.from_dict(spec["output_normalization"]),
            output_transform=AsinhScaling.from_dict(spec.get("output_transform")),
        )
