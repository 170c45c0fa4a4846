"""theta of the Mini Wheelbot MPC: the 11 adaptable physical parameters of its model.

Nominal values come from :class:`~ampc_envs.wheelbot.params.WheelbotParams` (the one
source of truth shared with the MuJoCo model and the analytic model). The bounds are
wide on purpose: a theta tuned on the real robot moved the masses by about +15 %, the
inertias by up to 35-50 % and the friction slope from 50 to about 7.
"""

from __future__ import annotations

from ampc_agent.theta import ThetaSpec
from ampc_envs.wheelbot.params import ADAPTABLE, WheelbotParams

__all__ = ["WHEELBOT_THETA"]

_NOMINAL = WheelbotParams()
_UNITS = {n: WheelbotParams.field_info(n)["unit"] for n in ADAPTABLE}
_DOCS = {n: WheelbotParams.field_info(n)["doc"] for n in ADAPTABLE}
#: Bounds as factors of the nominal value (friction: absolute, below).
_FACTORS = {
    "m_WR": (0.7, 1.5),
    "m_B": (0.7, 1.5),
    "I_Wxz_Ryz": (0.5, 2.0),
    "I_Wy_Rx": (0.5, 2.0),
    "I_Bx": (0.5, 2.0),
    "I_By": (0.5, 2.0),
    "I_Bz": (0.5, 2.0),
    "r_W": (0.9, 1.1),
    "l_WB": (0.8, 1.3),
}
_ABSOLUTE = {"fric_magn": (0.0, 0.02), "fric_slope": (1.0, 100.0)}


def _bounds(name: str) -> tuple[float, float]:
    if name in _ABSOLUTE:
        return _ABSOLUTE[name]
    lo, hi = _FACTORS[name]
    nominal = getattr(_NOMINAL, name)
    return lo * nominal, hi * nominal


WHEELBOT_THETA = ThetaSpec(
    names=ADAPTABLE,
    nominal=tuple(getattr(_NOMINAL, n) for n in ADAPTABLE),
    lower=tuple(_bounds(n)[0] for n in ADAPTABLE),
    upper=tuple(_bounds(n)[1] for n in ADAPTABLE),
    units=tuple(_UNITS[n] for n in ADAPTABLE),
    descriptions=tuple(f"{_DOCS[n]} in the MPC model" for n in ADAPTABLE),
)
