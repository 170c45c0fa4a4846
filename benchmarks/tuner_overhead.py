r"""Seconds per ask+tell of each tuner vs the number of observations it holds.

For every dimension ``d`` and history size ``n`` each tuner is pre-filled with
``n`` tells of scrambled-Sobol points, then timed over ``d + 2`` ask/evaluate/tell
cycles (one full GIBO cycle: the iterate, ``d + 1`` queries, and one more);
the evaluation (a cheap synthetic function) is excluded. The table reports the
mean seconds per ask+tell over those cycles, i.e. the cost per episode. The pre-fill
tells the points in increasing order of their value, so every tell is a TuRBO
success and no trust-region restart discards data: the GP really holds ``n``
points (the expensive case). All tuners run side by side in one process, one
torch thread.

Usage::

    python benchmarks/tuner_overhead.py            # full table, saved to results/
    python benchmarks/tuner_overhead.py --quick    # smaller grid, not saved

Writes ``benchmarks/results/tuner_overhead.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import botorch
import gpytorch
import nevergrad
import numpy as np
import torch
from tqdm import tqdm

from ampc_agent.tuners import make_tuner

RESULTS = Path(__file__).resolve().parent / "results"
TUNERS = ("turbo", "gibo", "random", "cmaes")


def machine_info() -> dict[str, Any]:
    r"""Processor, cores and library versions, to put next to every timing."""
    import os

    return {
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "botorch": botorch.__version__,
        "gpytorch": gpytorch.__version__,
        "nevergrad": nevergrad.__version__,
        "numpy": np.__version__,
    }


def objective(u: np.ndarray) -> float:
    r"""A smooth multimodal function on the unit cube (any dimension)."""
    return float(-np.sum((u - 0.3) ** 2) + 0.1 * np.sum(np.cos(8.0 * u)))


def prefilled(name: str, dim: int, n: int, seed: int = 0):
    tuner = make_tuner(name, np.zeros(dim), np.ones(dim), seed=seed, x0=np.full(dim, 0.5))
    X = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed).draw(n, dtype=torch.float64)
    X = X.numpy()
    values = np.array([objective(x) for x in X])
    for i in np.argsort(values):  # increasing: every tell improves, no TR restart
        tuner.tell(X[i], values[i])
    return tuner


def measure(dims: tuple[int, ...], sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for name in TUNERS:  # untimed warm-up: first-call costs (lazy imports, caches)
        warm = prefilled(name, dims[0], sizes[0])
        warm.tell(theta := warm.ask(), objective(theta))
    grid = [(d, n, name) for d in dims for n in sizes for name in TUNERS]
    for d, n, name in tqdm(grid, desc="overhead", unit="config"):
        tuner = prefilled(name, d, n)
        cycles = d + 2
        secs = []
        for _ in range(cycles):
            t0 = time.perf_counter()
            theta = tuner.ask()
            t_ask = time.perf_counter() - t0
            value = objective(theta)  # the box is the unit cube
            t0 = time.perf_counter()
            tuner.tell(theta, value)
            secs.append(t_ask + time.perf_counter() - t0)
        rows.append(
            {
                "dim": d,
                "n_observations": n,
                "tuner": name,
                "mean_s": float(np.mean(secs)),
                "max_s": float(np.max(secs)),
                "cycles": cycles,
            }
        )
    return rows


def autograd_fit(X: torch.Tensor, y: torch.Tensor, steps: int = 50):
    r"""TuRBO's fit by autograd through gpytorch's ``ExactMarginalLogLikelihood``.

    The same model, start values and Adam steps as
    :func:`~ampc_agent.tuners.models.fit_turbo_gp` (the unit test asserts equal results);
    timed beside it to show what the closed-form gradient saves.

    Returns:
        The model (in train mode) after ``steps`` steps.
    """
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from ampc_agent.tuners.models import TURBO_START, fit_turbo_gp

    model = fit_turbo_gp(X, y, steps=0)
    d = X.shape[-1]
    model.covar_module.base_kernel.lengthscale = torch.full((1, d), TURBO_START["lengthscale"])
    model.covar_module.outputscale = torch.tensor(TURBO_START["outputscale"])
    model.likelihood.noise = torch.tensor([TURBO_START["noise"]])
    model.mean_module.constant = torch.tensor(0.0)
    model.train()
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    with gpytorch.settings.max_cholesky_size(float("inf")):
        for _ in range(steps):
            optimizer.zero_grad()
            (-mll(model(model.train_inputs[0]), model.train_targets)).backward()
            optimizer.step()
    return model


def measure_fit(dims: tuple[int, ...], sizes: tuple[int, ...], repeats: int = 5) -> list[dict]:
    r"""Seconds per TuRBO GP fit: closed-form gradient against autograd, interleaved."""
    from ampc_agent.tuners.models import fit_turbo_gp

    rows = []
    for d in dims:
        for n in sizes:
            X = torch.quasirandom.SobolEngine(d, scramble=True, seed=0).draw(n, dtype=torch.float64)
            y = torch.tensor([objective(x) for x in X.numpy()], dtype=torch.float64)
            secs: dict[str, list[float]] = {"closed_form": [], "autograd": []}
            for _ in range(repeats):  # interleaved, so both see the same machine load
                for key, fit in (("closed_form", fit_turbo_gp), ("autograd", autograd_fit)):
                    t0 = time.perf_counter()
                    fit(X, y)
                    secs[key].append(time.perf_counter() - t0)
            med = {k: float(np.median(v)) for k, v in secs.items()}
            rows.append(
                {
                    "dim": d,
                    "n_observations": n,
                    "closed_form_s": med["closed_form"],
                    "autograd_s": med["autograd"],
                    "speedup": med["autograd"] / med["closed_form"],
                }
            )
    return rows


def fit_markdown(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## TuRBO's GP fit, side by side",
        "",
        "Median seconds per fit (50 Adam steps) over 5 interleaved repeats: our closed-form "
        "gradient against autograd through gpytorch's `ExactMarginalLogLikelihood` "
        "(the same steps; asserted equal in the unit tests).",
        "",
        "| d | n | closed form | autograd | speed-up |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dim']} | {r['n_observations']} | {r['closed_form_s']:.4f} | "
            f"{r['autograd_s']:.4f} | {r['speedup']:.1f}x |"
        )
    return [*lines, ""]


def to_markdown(
    rows: list[dict[str, Any]], info: dict[str, Any], fit_rows: list[dict[str, Any]]
) -> str:
    dims = sorted({r["dim"] for r in rows})
    sizes = sorted({r["n_observations"] for r in rows})
    lines = [
        "# Tuner overhead: seconds per ask+tell",
        "",
        "Mean seconds per ask+tell over d + 2 cycles (one GIBO cycle) after pre-filling `n` "
        "observations, max in parentheses; evaluation time excluded; one torch thread. "
        "Generated by `python benchmarks/tuner_overhead.py`.",
        "",
    ]
    for d in dims:
        lines += [f"## d = {d}", "", "| n | " + " | ".join(TUNERS) + " |"]
        lines.append("|---:|" + "---:|" * len(TUNERS))
        for n in sizes:
            cells = []
            for name in TUNERS:
                r = next(
                    r
                    for r in rows
                    if r["dim"] == d and r["n_observations"] == n and r["tuner"] == name
                )
                cells.append(f"{r['mean_s']:.4f} ({r['max_s']:.4f})")
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += fit_markdown(fit_rows)
    lines += ["## Machine", ""] + [f"- {k}: {v}" for k, v in info.items()] + [""]
    return "\n".join(lines)


def print_table(rows: list[dict[str, Any]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text is enough
        for r in rows:
            print(r)
        return
    table = Table(title="seconds per ask+tell (mean over d + 2 cycles)")
    for col in ("d", "n", *TUNERS):
        table.add_column(col, justify="right")
    for d in sorted({r["dim"] for r in rows}):
        for n in sorted({r["n_observations"] for r in rows}):
            cells = [
                f"{r['mean_s']:.4f}"
                for name in TUNERS
                for r in rows
                if r["dim"] == d and r["n_observations"] == n and r["tuner"] == name
            ]
            table.add_row(str(d), str(n), *cells)
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grid, results not saved")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dims, sizes = ((6,), (10, 50)) if args.quick else ((6, 11), (10, 25, 50, 100, 200))
    info = machine_info()
    rows = measure(dims, sizes)
    print_table(rows)
    fit_rows = measure_fit(dims, sizes)
    print("\n".join(fit_markdown(fit_rows)))
    if args.quick:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tuner_overhead.md").write_text(to_markdown(rows, info, fit_rows))
    (RESULTS / "tuner_overhead.json").write_text(
        json.dumps({"machine": info, "rows": rows, "gp_fit": fit_rows}, indent=1)
    )
    print(f"saved {RESULTS / 'tuner_overhead.md'}")


if __name__ == "__main__":
    main()
