"""Demo: one episode of each named cart-pole instance, printed as a table.

python -m ampc_envs
"""

import gymnasium as gym
import numpy as np

import ampc_envs  # noqa: F401
from ampc_envs.cartpole.params import CartpoleParams


def main() -> None:
    print(f"{'instance':<15}{'return':>8}{'steps':>7}{'crashed':>9}  params")
    for name in ["nominal", *CartpoleParams.instances]:
        env = gym.make("ampc_envs/CartpoleSwingUp-v0", params=name)
        obs, info = env.reset(seed=0)
        total, steps, done = 0.0, 0, False
        while not done:
            # A bang-bang pump: push along the pole's swing (no balancing).
            force = np.array(
                [-3.0 * np.sign(np.cos(obs[1]) * obs[3] + 1e-9) - 4.0 * obs[0]], np.float32
            )
            obs, reward, terminated, truncated, step_info = env.step(force)
            total, steps, done = total + reward, steps + 1, terminated or truncated
        print(f"{name:<15}{total:8.2f}{steps:7d}{step_info['crashed']!s:>9}  {info['params']}")


if __name__ == "__main__":
    main()
