"""Saving and loading an :class:`AMPCPolicy`: safetensors weights plus JSON metadata.

A policy folder holds two files:

``model.safetensors``
    The float32 layer weights, named ``pi.layers.{k}.weight`` / ``.bias`` and
    ``jacobian.layers.{k}.weight`` / ``.bias``.
``metadata.json``
    Everything else: parameter names, nominal values and bounds, recommended tuning
    bounds, input bounds, the feature map, each network's architecture and
    normalisation, the dataset fingerprint and the training settings.

Loading never unpickles: the weights are read with ``safetensors.numpy`` only, a
pickle or ``torch.save`` file is refused, and so is a weight file whose tensor names
or shapes differ from the architecture in the metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from ampc_agent.io import atomic_write_bytes, read_json
from ampc_agent.networks import MLP, NormalizedMLP, StateFeatures
from ampc_agent.policy.ampc_policy import AMPCPolicy

__all__ = ["save_policy", "load_policy", "WEIGHTS_FILE", "METADATA_FILE", "FORMAT"]

WEIGHTS_FILE = "model.safetensors"
METADATA_FILE = "metadata.json"
FORMAT = "ampc-policy/1"
NETWORKS = ("pi", "jacobian")


def _tensors(policy: AMPCPolicy) -> dict[str, np.ndarray]:
    out = {}
    for prefix, net in zip(NETWORKS, (policy.pi_net, policy.jacobian_net), strict=True):
        for name, param in net.mlp.named_parameters():
            out[f"{prefix}.{name}"] = param.detach().cpu().numpy().astype(np.float32)
    return out


def policy_metadata(policy: AMPCPolicy) -> dict[str, Any]:
    """The JSON metadata of ``policy`` (what ``metadata.json`` holds)."""
    return {
        "format": FORMAT,
        "system": policy.info.get("system"),
        "state_names": list(policy.state_names),
        "input_names": list(policy.input_names),
        **policy.theta_spec.to_metadata(),
        "input_lower": policy.input_lower.tolist(),
        "input_upper": policy.input_upper.tolist(),
        "features": policy.features.to_metadata(),
        "networks": {
            "pi": policy.pi_net.architecture(),
            "jacobian": policy.jacobian_net.architecture(),
        },
        "jacobian_layout": "output k = i * p + j is du_i / dtheta_j",
        "weights_file": WEIGHTS_FILE,
        "info": policy.info,
    }


def save_policy(policy: AMPCPolicy, folder: str | Path) -> Path:
    """Write ``policy`` to ``folder`` (created if needed), each file atomically.

    Args:
        policy: The policy to save.
        folder: Target folder.

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{WEIGHTS_FILE}.tmp"
    save_file(_tensors(policy), str(tmp))
    atomic_write_bytes(folder / WEIGHTS_FILE, tmp.read_bytes())
    tmp.unlink()
    text = json.dumps(policy_metadata(policy), indent=2)
    atomic_write_bytes(folder / METADATA_FILE, (text + "\n").encode())
    return folder


def _refuse_pickle(path: Path) -> None:
    """Raise if ``path`` is a pickle or a ``torch.save`` zip archive."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(b"PK\x03\x04"):
        raise ValueError(
            f"refusing to load {path}: it is a torch.save (zip/pickle) archive; AMPC weights "
            "are only loaded from safetensors files, which cannot execute code"
        )
    if head[:1] == b"\x80":
        raise ValueError(
            f"refusing to load {path}: it is a pickle file; AMPC weights are only loaded "
            "from safetensors files, which cannot execute code"
        )


def _read_tensors(path: Path) -> dict[str, np.ndarray]:
    if path.suffix in (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"):
        raise ValueError(
            f"refusing to load {path}: {path.suffix} files are pickles; AMPC weights are only "
            f"loaded from a safetensors file named {WEIGHTS_FILE}"
        )
    _refuse_pickle(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path} is not a valid safetensors file: {e}") from None


def _check_tensors(tensors: dict[str, np.ndarray], meta: dict[str, Any], path: Path) -> None:
    expected: dict[str, tuple[int, ...]] = {}
    for prefix in NETWORKS:
        spec = meta["networks"][prefix]
        for name, shape in MLP.expected_shapes(
            spec["in_dim"], spec["out_dim"], spec["hidden"]
        ).items():
            expected[f"{prefix}.{name}"] = shape
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ValueError(
            f"weights in {path} do not match metadata.json: missing tensors {missing}, "
            f"unexpected tensors {extra}"
        )
    for name, shape in expected.items():
        t = tensors[name]
        if tuple(t.shape) != shape:
            raise ValueError(
                f"weights in {path} do not match metadata.json: tensor {name} has shape "
                f"{tuple(t.shape)}, expected {shape}"
            )
        if t.dtype != np.float32:
            raise ValueError(f"tensor {name} in {path} has dtype {t.dtype}, expected float32")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"tensor {name} in {path} has non-finite entries")


def load_policy(path: str | Path) -> AMPCPolicy:
    """Load a policy saved by :func:`save_policy`.

    Args:
        path: The policy folder, or its ``model.safetensors`` file (``metadata.json``
            must be beside it).

    Returns:
        The policy, at ``theta = theta_nominal``.

    Raises:
        FileNotFoundError: A file is missing.
        ValueError: The weight file is a pickle, not a safetensors file, or does not
            match the metadata (tensor names, shapes, dtype).
    """
    path = Path(path)
    if path.is_dir():
        folder, weights = path, path / WEIGHTS_FILE
    else:
        folder, weights = path.parent, path
    if not weights.is_file():
        raise FileNotFoundError(f"no AMPC weights at {weights}")
    tensors = _read_tensors(weights)
    meta_path = folder / METADATA_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(f"no {METADATA_FILE} beside {weights}")
    meta = read_json(meta_path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{meta_path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    _check_tensors(tensors, meta, weights)

    nets = {}
    for prefix in NETWORKS:
        net = NormalizedMLP.from_architecture(meta["networks"][prefix])
        state = {
            name: torch.from_numpy(tensors[f"{prefix}.{name}"].copy())
            for name in net.mlp.tensor_shapes()
        }
        net.mlp.load_state_dict(state, strict=True)
        net.mlp.eval()
        nets[prefix] = net
    return AMPCPolicy(
        pi=nets["pi"],
        jacobian=nets["jacobian"],
        features=StateFeatures.from_metadata(meta["features"]),
        theta_names=meta["theta_names"],
        theta_nominal=meta["theta_nominal"],
        theta_lower=meta["theta_lower"],
        theta_upper=meta["theta_upper"],
        input_lower=meta["input_lower"],
        input_upper=meta["input_upper"],
        tuning_lower=meta.get("tuning_lower"),
        tuning_upper=meta.get("tuning_upper"),
        theta_units=meta.get("theta_units"),
        state_names=meta.get("state_names"),
        input_names=meta.get("input_names"),
        info=meta.get("info", {}),
    )
