"""The report's numbers are the records' numbers; TensorBoard gets one run per trial."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.report import write_report, write_tensorboard
from benchmarks.report.curves import best_so_far
from benchmarks.sweep import ResultStore, SweepConfig, run_sweep


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    config = SweepConfig(
        systems=["cartpole-pump"],
        tuners=["random", "cmaes", "nominal", "oracle"],
        instances=["hardware-like"],
        seeds=[0, 1, 2],
        budgets=[10],
        options={"oracle": {"episodes": 15}},
    )
    summary = run_sweep(config.trials(), ResultStore(root), workers=2, progress=False)
    assert summary.done == 12, summary.errors
    return root


def by_method(root, method):
    return sorted(
        (r for r in ResultStore(root).records() if r["config"]["tuner"] == method),
        key=lambda r: r["config"]["seed"],
    )


def test_best_so_far_ignores_crashes_and_holds_short_records():
    eps = [
        {"return": 5.0, "crashed": True},
        {"return": 3.0, "crashed": False},
        {"return": 9.0, "crashed": True},
        {"return": 4.0, "crashed": False},
    ]
    np.testing.assert_array_equal(best_so_far(eps, 6), [5.0, 3.0, 3.0, 4.0, 4.0, 4.0])


def test_report_numbers_match_the_records(results):
    path = write_report(results)
    summary = json.loads((results / "report.json").read_text())["groups"][
        "cartpole-pump / hardware-like"
    ]
    nominal = [r["episodes"][0]["return"] for r in by_method(results, "nominal")]
    oracle = [
        max(e["return"] for e in r["episodes"] if not e["crashed"])
        for r in by_method(results, "oracle")
    ]
    for method in ("random", "cmaes"):
        records = by_method(results, method)
        for budget in (5, 10):
            best = []
            for r in records:
                first = r["episodes"][:budget]
                best.append(max(e["return"] for e in first if not e["crashed"]))
            score = (np.array(best) - nominal) / (np.array(oracle) - nominal)
            row = summary["methods"][method]
            for key, values in (("best", best), ("score", score)):
                q = row[key][str(budget)]
                np.testing.assert_allclose(
                    [q["q25"], q["median"], q["q75"]], np.percentile(values, [25, 50, 75])
                )
                assert q["n"] == 3
            crashes = [e["crashed"] for r in records for e in r["episodes"][:budget]]
            assert row["crash_rate"][str(budget)] == pytest.approx(np.mean(crashes))
        assert row["wall_time_total"] == pytest.approx(sum(r["wall_time"] for r in records))
    # Paired table: the best tuner at the largest budget against the other, seed by seed.
    scores = {}
    for method in ("random", "cmaes"):
        best = [
            max(e["return"] for e in r["episodes"][:10] if not e["crashed"])
            for r in by_method(results, method)
        ]
        scores[method] = (np.array(best) - nominal) / (np.array(oracle) - nominal)
    ref = summary["best_tuner"]
    other = "cmaes" if ref == "random" else "random"
    d = scores[ref] - scores[other]
    cell = summary["paired"][other]["10"]
    assert cell["median"] == pytest.approx(np.median(d)) and cell["n"] == 3
    assert cell["wins"] == int(np.sum(d > 0))
    assert summary["methods"]["nominal"]["score"]["10"]["median"] == 0.0
    assert summary["methods"]["oracle"]["score"]["10"]["median"] == 1.0
    assert summary["budgets"] == [5, 10]
    text = path.read_text()
    q = summary["methods"]["random"]["best"]["10"]
    assert "| random | 3 | " in text
    assert f"{q['median']:.1f} [{q['q25']:.1f}, {q['q75']:.1f}]" in text
    assert (results / "cartpole-pump--hardware-like.png").stat().st_size > 10_000


def test_tensorboard_has_one_run_per_trial_with_hparams(results):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    logdir = write_tensorboard(results)
    runs = sorted(p.name for p in logdir.iterdir())
    assert runs == sorted(r["name"] for r in ResultStore(results).records())
    record = by_method(results, "random")[0]
    acc = EventAccumulator(str(logdir / record["name"]))
    acc.Reload()
    returns = [s.value for s in acc.Scalars("episode/return")]
    np.testing.assert_allclose(returns, [e["return"] for e in record["episodes"]], rtol=1e-6)
    assert "summary/best_at_10" in acc.Tags()["scalars"]
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["tuner"].string_value == "random" and hparams["seed"].number_value == 0
    assert hparams["budget"].number_value == 10
    write_tensorboard(results)  # rebuilt, not appended: still one value per episode
    acc = EventAccumulator(str(logdir / record["name"]))
    acc.Reload()
    assert len(acc.Scalars("episode/return")) == len(record["episodes"])


def test_an_archived_results_folder_reads_like_the_original(results, tmp_path):
    import tarfile

    with tarfile.open(tmp_path / "trials.tar.gz", "w:gz") as tar:
        tar.add(results / "trials", arcname="trials")
    assert ResultStore(tmp_path).records() == ResultStore(results).records()
    write_report(tmp_path)
    a = json.loads((tmp_path / "report.json").read_text())
    b = json.loads((results / "report.json").read_text())
    assert a == b
