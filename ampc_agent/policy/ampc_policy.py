"""The parameter-adaptive approximate MPC: two networks and the adaptation law."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.networks import NormalizedMLP, StateFeatures, mlp_forward
from ampc_agent.networks.mlp import numpy_activation
from ampc_agent.theta import ThetaSpec

__all__ = ["AMPCPolicy"]


def _vector(values: Sequence[float] | np.ndarray, n: int, what: str) -> np.ndarray:
    arr = np.array(values, dtype=np.float64).reshape(-1)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be {n} finite numbers, got {values!r}")
    arr.setflags(write=False)
    return arr


def _spec_vector(field: str, doc: str) -> property:
    """A read-only array property reading ``theta_spec.<field>``."""

    def get(self: AMPCPolicy) -> np.ndarray:
        arr = np.array(getattr(self.theta_spec, field), dtype=np.float64)
        arr.setflags(write=False)
        return arr

    return property(get, doc=doc)


class AMPCPolicy:
    """Parameter-adaptive AMPC ``u(x, theta) = clip(pi(x) + J(x) (theta - theta_nom))``.

    ``pi`` imitates the MPC's first action at the nominal parameters ``theta_nom`` and
    ``J`` its sensitivity ``du0*/dtheta``; changing :attr:`theta` adapts the controller
    without retraining. Calling the policy on one state runs a numpy-only forward
    pass with the normalisations folded into the weights and the last layer of ``J``
    pre-contracted with ``theta - theta_nom`` (the control-loop path).

    Args:
        pi: Nominal-action network, features -> ``nu`` outputs (input units).
        jacobian: Sensitivity network, features -> ``nu * p`` outputs, entry
            ``[i * p + j]`` is ``du_i / dtheta_j``.
        features: State feature map (angles as sin/cos).
        theta_names: Names of the ``p`` parameters.
        theta_nominal: ``theta_nom``, ``(p,)``.
        theta_lower: Lower bounds of ``theta`` ``(p,)``: the range the sensitivities
            were meant for; :attr:`theta` outside it is refused.
        theta_upper: Upper bounds ``(p,)``.
        input_lower: Lower input bounds ``(nu,)`` (N for the cart-pole).
        input_upper: Upper input bounds ``(nu,)``.
        tuning_lower: Recommended lower tuning bounds ``(p,)``; default ``theta_lower``.
        tuning_upper: Recommended upper tuning bounds ``(p,)``; default ``theta_upper``.
        theta_units: Unit of each parameter (default ``"-"``).
        state_names: Names of the ``nx`` states.
        input_names: Names of the ``nu`` inputs.
        info: Further JSON metadata (system, dataset fingerprint, training settings,
            evaluation summary), saved with the weights.

    Example:
        >>> policy = load_shipped_policy(name)                       # doctest: +SKIP
        >>> policy.theta = policy.theta_nominal * 1.05                # doctest: +SKIP
        >>> u = policy(np.array([0.0, np.pi, 0.0, 0.0]))              # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        pi: NormalizedMLP,
        jacobian: NormalizedMLP,
        features: StateFeatures,
        theta_names: Sequence[str],
        theta_nominal: Sequence[float] | np.ndarray,
        theta_lower: Sequence[float] | np.ndarray,
        theta_upper: Sequence[float] | np.ndarray,
        input_lower: Sequence[float] | np.ndarray,
        input_upper: Sequence[float] | np.ndarray,
        tuning_lower: Sequence[float] | np.ndarray | None = None,
        tuning_upper: Sequence[float] | np.ndarray | None = None,
        theta_units: Sequence[str] | None = None,
        state_names: Sequence[str] | None = None,
        input_names: Sequence[str] | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.theta_names: tuple[str, ...] = tuple(theta_names)
        p = len(self.theta_names)
        nu = pi.mlp.out_dim
        if jacobian.mlp.out_dim != nu * p:
            raise ValueError(
                f"the sensitivity network has {jacobian.mlp.out_dim} outputs, "
                f"expected nu * p = {nu} * {p}"
            )
        for net, name in ((pi, "pi"), (jacobian, "jacobian")):
            if net.mlp.in_dim != features.n_features:
                raise ValueError(
                    f"network {name} takes {net.mlp.in_dim} inputs, the feature map gives "
                    f"{features.n_features}"
                )
        self.pi_net, self.jacobian_net, self.features = pi, jacobian, features
        self.nx, self.nu, self.p = features.nx, nu, p
        theta_nominal = _vector(theta_nominal, p, "theta_nominal")
        theta_lower = _vector(theta_lower, p, "theta_lower")
        theta_upper = _vector(theta_upper, p, "theta_upper")
        if np.any(theta_lower > theta_nominal) or np.any(theta_nominal > theta_upper):
            raise ValueError("theta_nominal must lie within [theta_lower, theta_upper]")
        self.theta_spec = ThetaSpec(
            names=self.theta_names,
            nominal=tuple(theta_nominal),
            lower=tuple(theta_lower),
            upper=tuple(theta_upper),
            units=tuple(theta_units) if theta_units is not None else ("-",) * p,
        )
        self.input_lower = _vector(input_lower, nu, "input_lower")
        self.input_upper = _vector(input_upper, nu, "input_upper")
        self.set_tuning_bounds(
            theta_lower if tuning_lower is None else tuning_lower,
            theta_upper if tuning_upper is None else tuning_upper,
        )
        self.state_names = (
            tuple(state_names) if state_names else tuple(f"x{i}" for i in range(self.nx))
        )
        self.input_names = tuple(input_names) if input_names else tuple(f"u{i}" for i in range(nu))
        self.info: dict[str, Any] = copy.deepcopy(info or {})
        self._compile()
        self.theta = self.theta_nominal

    # ------------------------------------------------------------------ theta
    theta_nominal = _spec_vector(
        "nominal", "``theta_nom`` ``(p,)``: where the networks were trained."
    )
    theta_lower = _spec_vector("lower", "Lower bounds of theta ``(p,)``: the range of J.")
    theta_upper = _spec_vector("upper", "Upper bounds of theta ``(p,)``.")
    tuning_lower = _spec_vector("tuning_lower", "Lower end of the recommended tuning box ``(p,)``.")
    tuning_upper = _spec_vector("tuning_upper", "Upper end of the recommended tuning box ``(p,)``.")

    @property
    def theta(self) -> np.ndarray:
        """Current parameters ``(p,)`` (a copy); set it to adapt the controller.

        Raises:
            ValueError: On assignment of a wrong shape, a non-finite entry or an entry
                outside ``[theta_lower, theta_upper]``.
        """
        return self._theta.copy()

    @theta.setter
    def theta(self, value: np.ndarray | Sequence[float]) -> None:
        theta = self.theta_spec.check(value)
        self._theta = theta
        self._adapt = self._contract_jacobian(theta - self.theta_nominal)

    def set_tuning_bounds(
        self, lower: Sequence[float] | np.ndarray, upper: Sequence[float] | np.ndarray
    ) -> None:
        """Set the recommended tuning range; it must lie inside the theta bounds.

        Args:
            lower: Lower tuning bounds ``(p,)``.
            upper: Upper tuning bounds ``(p,)``.
        """
        lower = _vector(lower, self.p, "tuning_lower")
        upper = _vector(upper, self.p, "tuning_upper")
        self.theta_spec = self.theta_spec.with_tuning_bounds(lower, upper)

    # ---------------------------------------------------------------- actions
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Action for one state (numpy only: the control-loop path).

        Args:
            x: State ``(nx,)``.

        Returns:
            Action ``(nu,)`` in input units, clipped to the input bounds.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.nx,):
            raise ValueError(f"x must have shape ({self.nx},), got {x.shape}")
        # A NaN state gives a NaN command; the cheap sum test keeps the control loop fast.
        if not math.isfinite(x.sum()) and not np.isfinite(x).all():
            raise ValueError(f"x must be finite, got {x.tolist()}")
        f = self.features(x)
        act = self._act
        # First layers of both networks in one product: they read the same features.
        h = act(self._w0 @ f + self._b0)
        hp, hj = h[: self._split], h[self._split :]
        for w, b in self._pi_hidden:
            hp = act(w @ hp + b)
        for w, b in self._jac_hidden:
            hj = act(w @ hj + b)
        w_out, b_out, scaled_dtheta = self._adapt
        if scaled_dtheta is None:  # linear output: last layer of J contracted with dtheta
            du = w_out @ hj + b_out
        else:  # asinh output: J = scale * sinh(W h + b)
            du = (np.sinh(w_out @ hj + b_out).reshape(self.nu, self.p) * scaled_dtheta).sum(axis=1)
        u = self._pi_w_out @ hp + self._pi_b_out + du
        return np.minimum(np.maximum(u, self.input_lower), self.input_upper)

    def batch(self, X: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """Actions for a batch of states.

        Args:
            X: States ``(n, nx)``.
            theta: Parameters ``(p,)`` for this call only (checked like :attr:`theta`);
                default the current :attr:`theta`.

        Returns:
            Actions ``(n, nu)``, clipped to the input bounds.
        """
        X = self._check_batch(X)
        if theta is None:
            w_out, b_out, scaled_dtheta = self._adapt
        else:
            theta = self.theta_spec.check(theta)
            w_out, b_out, scaled_dtheta = self._contract_jacobian(theta - self.theta_nominal)
        f = self.features(X)
        act = self._act
        # Row-major transposed copies keep the matrix products contiguous.
        hp = act(f @ self._pi_t[0][0] + self._pi_t[0][1])
        hj = act(f @ self._jac_t[0][0] + self._jac_t[0][1])
        for w, b in self._pi_t[1:]:
            hp = act(hp @ w + b)
        for w, b in self._jac_t[1:]:
            hj = act(hj @ w + b)
        if scaled_dtheta is None:
            du = hj @ w_out.T + b_out
        else:
            jac = np.sinh(hj @ w_out.T + b_out).reshape(len(X), self.nu, self.p)
            du = (jac * scaled_dtheta).sum(axis=2)
        u = hp @ self._pi_w_out.T + self._pi_b_out + du
        return np.clip(u, self.input_lower, self.input_upper)

    def nominal_action(self, X: np.ndarray) -> np.ndarray:
        """Unclipped network output ``pi(x)`` for ``(nx,)`` or ``(n, nx)`` states."""
        X = np.asarray(X, dtype=np.float64)
        out = mlp_forward(*self._pi_layers, self.pi_net.mlp.activation, self.features(X))
        return self.pi_net.transform_output(out)

    def jacobian(self, X: np.ndarray) -> np.ndarray:
        """Sensitivity ``J(x)``: ``(nu, p)`` for one state, ``(n, nu, p)`` for a batch."""
        X = np.asarray(X, dtype=np.float64)
        flat = mlp_forward(*self._jac_layers, self.jacobian_net.mlp.activation, self.features(X))
        flat = self.jacobian_net.transform_output(flat)
        return flat.reshape(*flat.shape[:-1], self.nu, self.p)

    # ------------------------------------------------------------------- I/O
    def save(self, folder: str | Path) -> Path:
        """Write ``model.safetensors`` and ``metadata.json`` to ``folder``."""
        from ampc_agent.policy.serialization import save_policy

        return save_policy(self, folder)

    @classmethod
    def load(cls, path: str | Path) -> AMPCPolicy:
        """Load a policy from a folder (or its ``model.safetensors``); never unpickles."""
        from ampc_agent.policy.serialization import load_policy

        return load_policy(path)

    def __repr__(self) -> str:
        system = self.info.get("system", "?")
        return (
            f"AMPCPolicy(system={system!r}, nx={self.nx}, nu={self.nu}, "
            f"theta_names={list(self.theta_names)})"
        )

    # -------------------------------------------------------------- internals
    def _check_batch(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.nx:
            raise ValueError(f"X must have shape (n, {self.nx}), got {X.shape}")
        bad = ~np.isfinite(X).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"X must be finite, got row {i}: {X[i].tolist()}")
        return X

    def _compile(self) -> None:
        """Precompute the float64 numpy weights of the fast path."""
        self._pi_layers = self.pi_net.folded_layers()
        self._jac_layers = self.jacobian_net.folded_layers()
        pa, ja = self.pi_net.mlp.activation, self.jacobian_net.mlp.activation
        if pa != ja:
            raise ValueError(f"both networks must use one activation, got {pa!r} and {ja!r}")
        self._act = numpy_activation(pa)
        (pw, pb), (jw, jb) = self._pi_layers, self._jac_layers
        if len(pw) < 2 or len(jw) < 2:
            raise ValueError("both networks need at least one hidden layer")
        self._split = pw[0].shape[0]
        self._w0 = np.ascontiguousarray(np.vstack([pw[0], jw[0]]))
        self._b0 = np.concatenate([pb[0], jb[0]])
        self._pi_hidden = list(zip(pw[1:-1], pb[1:-1], strict=True))
        self._jac_hidden = list(zip(jw[1:-1], jb[1:-1], strict=True))
        self._pi_w_out, self._pi_b_out = pw[-1], pb[-1]
        self._pi_t = [(np.ascontiguousarray(w.T), b) for w, b in zip(pw[:-1], pb[:-1], strict=True)]
        self._jac_t = [
            (np.ascontiguousarray(w.T), b) for w, b in zip(jw[:-1], jb[:-1], strict=True)
        ]
        if self.pi_net.output_transform is not None:
            raise ValueError("the fast path needs a linear output of pi")
        self._jac_w_last, self._jac_b_last = jw[-1], jb[-1]
        transform = self.jacobian_net.output_transform
        self._jac_scale = None if transform is None else transform.scale.reshape(self.nu, self.p)

    def _contract_jacobian(
        self, dtheta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """What the adaptation term ``J(x) dtheta`` needs from the last layer of ``J``.

        With a linear output, ``J(x) dtheta = W' h + b'`` with the last layer contracted
        with ``dtheta`` once per theta: returns ``(W', b', None)``. With an asinh
        output, ``J(x) dtheta = sum_j sinh(W h + b)_ij scale_ij dtheta_j``: returns
        ``(W, b, scale * dtheta)``.
        """
        if self._jac_scale is not None:
            return self._jac_w_last, self._jac_b_last, self._jac_scale * dtheta
        hidden = self._jac_w_last.shape[1]
        w3 = self._jac_w_last.reshape(self.nu, self.p, hidden)
        w = np.ascontiguousarray(np.einsum("ijh,j->ih", w3, dtheta))
        return w, self._jac_b_last.reshape(self.nu, self.p) @ dtheta, None
