"""Neural-network building blocks of the AMPC: feature map, normalisation, MLPs.

* :class:`StateFeatures` turns a state into network inputs (``sin``/``cos`` of angles),
* :class:`Normalization` is a per-entry affine scaling ``(v - mean) / std``,
* :class:`MLP` is a plain multilayer perceptron on normalised inputs and outputs,
* :class:`NormalizedMLP` is an MLP with its two normalisations (a trained network),
* :class:`AsinhScaling` is an output transform for heavy-tailed targets,
* :func:`mlp_forward` evaluates the same network with numpy (the control-loop path).
"""

from ampc_agent.networks.features import StateFeatures
from ampc_agent.networks.mlp import ACTIVATIONS, MLP, mlp_forward
from ampc_agent.networks.normalization import Normalization
from ampc_agent.networks.normalized import NormalizedMLP
from ampc_agent.networks.transform import AsinhScaling

__all__ = [
    "AsinhScaling",
    "ACTIVATIONS",
    "MLP",
    "NormalizedMLP",
    "Normalization",
    "StateFeatures",
    "mlp_forward",
]
