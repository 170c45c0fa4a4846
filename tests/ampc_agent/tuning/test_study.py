"""The study folder: records decide, the tuner is repaired from them, identities are checked.

Real tuners (botorch, nevergrad) on a two-parameter objective with a crash region, so
that the tuners' own state (trust region, GIBO step, CMA-ES) takes part.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ampc_agent.tuners import make_tuner
from ampc_agent.tuners.study import load_state
from ampc_agent.tuning.study import TuningStudy

FREE = np.array([True, True])
FAST = {"turbo": {"n_init": 3, "n_candidates": 256}, "gibo": {"num_restarts": 2, "raw_samples": 32}}
LOWER, UPPER = np.array([0.0, 0.0]), np.array([1.0, 2.0])


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    # GP fits of a few points: a second thread only contends on a shared machine.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def objective(theta):
    crashed = bool(theta[0] > 0.85)
    return -float((theta[0] - 0.3) ** 2 + (theta[1] - 1.2) ** 2), crashed


def make(name):
    def build(study_dir=None):
        return make_tuner(
            name, LOWER, UPPER, x0=[0.5, 1.0], seed=3, study_dir=study_dir, **FAST.get(name, {})
        )

    return build


def run(study, build, records, episodes):
    """``ampc tune``'s order: ask, run, tell, write the record, then the tuner state."""
    tuner, _ = study.open_tuner(build, records, FREE)
    for _ in range(episodes):
        theta = tuner.ask()
        value, crashed = objective(theta)
        tuner.tell(theta, value, crashed=crashed)
        records.append(
            {"episode": len(records), "theta": theta.tolist(), "return": value,
             "crashed": crashed, "length": 1, "episode_seed": 0}
        )  # fmt: skip
        study.save(records, tuner)
    return tuner


def state(study):
    return json.dumps(load_state(study.tuner_dir), sort_keys=True)


@pytest.mark.parametrize("name", ["turbo", "gibo", "random", "cmaes"])
def test_a_lost_record_or_a_lost_tuner_state_resumes_to_the_uninterrupted_study(tmp_path, name):
    build = make(name)
    straight = TuningStudy(tmp_path / "straight")
    run(straight, build, [], 8)

    # The last record was lost (the tuner leads): the tuner is rebuilt from the records.
    lost = TuningStudy(tmp_path / "lost")
    records = []
    run(lost, build, records, 6)
    tuner, note = lost.open_tuner(build, records[:5], FREE)
    assert note == (
        f"the tuner state held 6 episodes but {lost.records_path} 5: rebuilt the tuner "
        "from the records"
    )
    assert tuner.n_observations == 5 and load_state(lost.tuner_dir)["history"]["X"] == [
        r["theta"] for r in records[:5]
    ]
    run(lost, build, records[:5], 3)
    assert state(lost) == state(straight)

    # Killed after the record, before the tuner state (the tuner lags): it is told.
    lag = TuningStudy(tmp_path / "lag")
    records = []
    run(lag, build, records, 4)
    lag_tuner, _ = lag.open_tuner(build, records[:3], FREE)  # a tuner state of 3 tells...
    lag.save(records[:3], lag_tuner)
    lag.records_path.write_text(json.dumps(records))  # ...beside 4 records
    tuner, note = lag.open_tuner(build, records, FREE)
    assert note == "told the tuner the 1 recorded episode(s) it lacked"
    run(lag, build, records, 4)
    assert state(lag) == state(straight)


def test_records_that_contradict_the_tuner_state_are_refused(tmp_path):
    study = TuningStudy(tmp_path / "s")
    records = []
    run(study, make("random"), records, 3)
    records[1] = {**records[1], "return": records[1]["return"] + 1.0}
    with pytest.raises(ValueError) as err:
        study.open_tuner(make("random"), records, FREE)
    assert str(err.value) == (
        f"{study.records_path}: episode 1 differs from what {study.tuner_dir}/tuner_state.json "
        "was told: the study is damaged; pass another --study to start a new one"
    )


IDENTITY = {
    "system": "cartpole", "instance": "hardware-like", "tuner": "random", "seed": 0,
    "episode_seed": "fixed", "policy": "0123456789abcdef", "tuning_lower": [0.0],
    "tuning_upper": [1.0],
}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("episode_seed", "fresh", "episode_seed 'fixed', not 'fresh' (--episode-seed)"),
        ("policy", "fedcba9876543210", "policy '0123456789abcdef', not 'fedcba9876543210' (-p)"),
        ("tuning_upper", [2.0], "tuning_upper [1.0], not [2.0] (tuning_upper)"),
    ],
)
def test_a_study_resumes_only_under_its_own_identity(tmp_path, key, value, said):
    study = TuningStudy(tmp_path / "s")
    assert study.check_identity(IDENTITY, {}) is False  # a new study
    study.write_identity(IDENTITY)
    assert study.check_identity(IDENTITY, {}) is True
    with pytest.raises(ValueError) as err:
        study.check_identity(
            {**IDENTITY, key: value}, {"episode_seed": "--episode-seed", "policy": "-p"}
        )
    assert str(err.value) == (
        f"study {study.folder} was made with {said}: rerun with the study's own options to "
        "resume it, or pass another --study to start a new one"
    )


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"a": 1}, "does not hold a list of episode records"),
        ([{"episode": 0}], "episode 0 is not a record with keys ['episode', 'theta', "),
        ([{"episode": 1, "theta": [0, 0], "return": 1, "crashed": False, "length": 1,
           "episode_seed": 0}], "episode 0 is numbered 1"),
        ([{"episode": 0, "theta": [0], "return": 1, "crashed": False, "length": 1,
           "episode_seed": 0}], "episode 0 has a theta of the wrong size (expected 2)"),
        ([{"episode": 0, "theta": [0, 0], "return": 1, "crashed": False, "length": 1,
           "episode_seed": 5}],
         "episode 0 ran with episode seed 5, but this study's options give 0"),
    ],
)  # fmt: skip
def test_damaged_or_foreign_records_are_refused_naming_the_file(tmp_path, records, message):
    study = TuningStudy(tmp_path / "s")
    study.folder.mkdir()
    study.records_path.write_text(json.dumps(records))
    with pytest.raises(ValueError) as err:
        study.load_records(2, lambda episode: 0)
    assert str(err.value).startswith(f"{study.records_path}") and message in str(err.value)
