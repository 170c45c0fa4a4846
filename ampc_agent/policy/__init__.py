"""The parameter-adaptive AMPC policy: ``u = clip(pi(x) + J(x) (theta - theta_nom))``.

>>> from ampc_agent.policy import load_shipped_policy
>>> policy = load_shipped_policy(name)                         # doctest: +SKIP
>>> policy.theta = policy.theta_nominal                         # doctest: +SKIP
>>> u = policy(x)                                               # doctest: +SKIP
"""

from ampc_agent.policy.adaptation import adapted_action
from ampc_agent.policy.ampc_policy import AMPCPolicy
from ampc_agent.policy.serialization import load_policy, save_policy
from ampc_agent.policy.shipped import load_shipped_policy, load_test_set, shipped_policy_folder

__all__ = [
    "AMPCPolicy",
    "adapted_action",
    "load_policy",
    "load_shipped_policy",
    "load_test_set",
    "save_policy",
    "shipped_policy_folder",
]
