"""``ampc tune`` end to end: shipped AMPC, real tuner, MuJoCo episodes, TensorBoard."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ampc_agent.cli import main


def tune(tmp_path, study, episodes, tuner="random", seed=0, animation=False):
    argv = [
        "tune", "cartpole", "--tuner", tuner, "--episodes", str(episodes), "--seed", str(seed),
        "--study", str(tmp_path / study), "--logdir", str(tmp_path / "runs" / study),
        "--animation" if animation else "--no-animation",
    ]  # fmt: skip
    assert main(argv) == 0
    return json.loads((tmp_path / study / "episodes.json").read_text())


def scalars(logdir, tag):
    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_tune_writes_results_plot_and_tensorboard_logs(tmp_path, capsys):
    records = tune(tmp_path, "a", episodes=4)
    out = capsys.readouterr().out
    assert "nominal AMPC return" in out and "best tuned return" in out
    assert len(records) == 4
    best = json.loads((tmp_path / "a" / "best_theta.json").read_text())
    # The first episode runs the nominal theta; the best is the best non-crashed return.
    assert np.allclose(records[0]["theta"], best["theta_nominal"])
    assert best["nominal_return"] == records[0]["return"]
    feasible = [r["return"] for r in records if not r["crashed"]]
    assert best["best_return"] == max(feasible)
    assert (tmp_path / "a" / "returns.png").stat().st_size > 1000
    run_dir = tmp_path / "runs" / "a" / "a"  # the TensorBoard run is named after the study
    logged = scalars(run_dir, "episode/return")
    assert [s for s, _ in logged] == [0, 1, 2, 3]
    np.testing.assert_allclose([v for _, v in logged], [r["return"] for r in records], rtol=1e-6)
    names = best["theta_names"]
    theta_logged = scalars(run_dir, f"theta/{names[0]}")
    np.testing.assert_allclose(
        [v for _, v in theta_logged], [r["theta"][0] for r in records], rtol=1e-6
    )


def test_tune_animates_the_nominal_and_the_recommended_theta_on_the_same_episode(tmp_path):
    import imageio.v3 as iio

    from ampc_agent.tuning.animation import frame_stride

    records = tune(tmp_path, "anim", episodes=3, tuner="turbo", animation=True)
    best = json.loads((tmp_path / "anim" / "best_theta.json").read_text())
    assert best["recommendation_rule"] == "best posterior mean"
    rec = np.array(best["theta_recommended"])
    ran = [r["theta"] for r in records if not r["crashed"]]
    assert any(np.array_equal(rec, t) for t in ran)  # an evaluated, non-crashed theta
    video = iio.imread(tmp_path / "anim" / "episode.gif")
    assert video.shape[1:] == (240, 640, 3)  # two 320 x 240 panels side by side
    every = frame_stride(0.02)  # the cart-pole's 50 Hz: every 4th step, 12.5 frames/s
    assert every == 4
    assert len(video) == -(-300 // every) + 1  # both ran the whole episode here
    assert not records[0]["crashed"] and records[0]["return"] < 100  # nominal: no swing-up
    # The two panels show different motions (the nominal does not swing the pole up).
    left, right = video[:, :, :320].astype(float), video[:, :, 320:].astype(float)
    assert np.abs(left[-1] - right[-1]).mean() > 0.5


def test_a_crashed_panel_holds_its_last_frame(tmp_path):
    import imageio.v3 as iio

    from ampc_agent.tuning.animation import Panel, write_animation

    def panel(levels, crashed):
        frames = [np.full((24, 32, 3), v, dtype=np.uint8) for v in levels]
        return Panel(frames=frames, crashed=crashed, length=len(levels), **{"return": 1.0})

    path = write_animation(
        tmp_path / "a.gif", [panel([40, 120], True), panel([40, 80, 160, 240], False)],
        ["short", "long"], fps=10,
    )  # fmt: skip
    video = iio.imread(path).astype(float)
    assert video.shape == (4, 24, 64, 3)
    below_label = video[:, 20:, :, 0]  # under the 16-pixel title bar
    np.testing.assert_allclose(
        below_label[:, :, :32].mean(axis=(1, 2)), [40, 120, 120, 120], atol=3
    )
    np.testing.assert_allclose(below_label[:, :, 32:].mean(axis=(1, 2)), [40, 80, 160, 240], atol=3)


def test_interrupted_tuning_resumes_to_the_same_run(tmp_path):
    straight = tune(tmp_path, "straight", episodes=5, tuner="turbo")
    tune(tmp_path, "resumed", episodes=3, tuner="turbo")
    resumed = tune(tmp_path, "resumed", episodes=5, tuner="turbo")
    for a, b in zip(straight, resumed, strict=True):
        assert a["theta"] == b["theta"] and a["return"] == b["return"]


def test_bad_episode_count_is_refused(tmp_path, capsys):
    assert main(["tune", "cartpole", "--episodes", "0", "--study", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err == "ampc tune: error: --episodes must be >= 1, got 0\n"
    assert not (tmp_path / "s").exists()


def test_unknown_system_instance_is_a_one_line_error(tmp_path, capsys):
    assert main(["tune", "cartpole", "--instance", "lab", "--study", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "ampc tune: error: unknown CartpoleParams instance 'lab'; "
        "valid names: nominal, hardware-like"
    )


def test_tuning_on_an_instance_from_a_params_file(tmp_path, capsys):
    path = tmp_path / "my_cartpole.json"
    path.write_text(json.dumps({"cart_mass": 0.55, "pole_length": 0.62}))
    argv = [
        "tune", "cartpole", "--tuner", "random", "--episodes", "2", "--params", str(path),
        "--study", str(tmp_path / "p"), "--logdir", str(tmp_path / "runs"),
    ]  # fmt: skip
    assert main(argv) == 0
    best = json.loads((tmp_path / "p" / "best_theta.json").read_text())
    assert best["instance"]["cart_mass"] == 0.55 and best["instance"]["pole_length"] == 0.62
    assert best["instance"]["pole_mass"] == 0.15  # the rest nominal
    assert "cartpole on params-" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"cart_mas": 0.5}', "unknown CartpoleParams parameter(s) ['cart_mas']"),
        ('{"cart_mass": -1}', "CartpoleParams.cart_mass must be > 0 kg, got -1"),
        ('{"cart_mass": 0.5', "is not valid JSON"),
        ("[1, 2]", "expected a JSON object of parameters, got [1, 2]"),
    ],
)
def test_bad_params_file_is_a_one_line_error_naming_the_file(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["tune", "cartpole", "--params", str(path), "--study", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ampc tune: error: {path}") and message in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_help_lists_exactly_the_systems_with_weights(capsys):
    from ampc_agent.systems import systems_with

    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    out = capsys.readouterr().out
    assert "{" + ",".join(systems_with("weights")) + "}" in out
