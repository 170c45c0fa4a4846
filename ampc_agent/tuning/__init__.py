"""Tuning theta on a system: the tuning env, the one ask -> run -> tell loop, the run log."""

from ampc_agent.tuning.env import EpisodeTuningEnv, make_tuning_env
from ampc_agent.tuning.loop import TuningStep, tuning_loop

__all__ = ["EpisodeTuningEnv", "TuningStep", "make_tuning_env", "tuning_loop"]
