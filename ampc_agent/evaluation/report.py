"""Write an evaluation report as JSON, Markdown and a PNG figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.io import atomic_write_bytes, save_figure, write_json

__all__ = ["write_report", "markdown_report", "plot_report"]


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


def _physical_sections(report: dict[str, Any]) -> list[str]:
    """The sections of the two physical studies (absent from older reports)."""
    if "physical" not in report:
        return []
    ph, pcl = report["physical"], report["physical_closed_loop"]
    pooled = ph["pooled"]
    lines = [
        "",
        "## Adaptation under physical changes",
        "",
        f"{ph['n_instances']} instances drawn from the env's randomization ranges, with "
        "what theta cannot express (delay, sensor noise) at nominal, at "
        f"{ph['n_states']} states of the MPC's closed loop. Change of action: the AMPC's "
        "clip(u* + J (theta_true - theta_nom)) - u* against the MPC's re-solved "
        "u*(theta_true) - u*(theta_nom) (from the nominal solution). Slope: least squares "
        "through the origin (1 = the right size); R^2 against the identity. Ceiling: per "
        "state, the least-squares linear map of the physical changes on the same "
        "instances, the best any first-order adaptation of this kind can do.",
        "",
        "| | slope | R^2 | pairs |",
        "|---|---|---|---|",
        f"| AMPC | {pooled['ampc']['slope']:.3f} | {pooled['ampc']['r2']:.3f} | "
        f"{pooled['ampc']['n']} |",
        f"| linear ceiling | {pooled['ceiling']['slope']:.3f} | {pooled['ceiling']['r2']:.3f} "
        f"| {pooled['ceiling']['n']} |",
    ]
    for name, r in ph["named"].items():
        lines.append(
            f"| AMPC, {name} | {r['ampc']['slope']:.3f} | {r['ampc']['r2']:.3f} | "
            f"{r['ampc']['n']} |"
        )
    share = pooled.get("share_of_ceiling")
    lines += [
        "",
        f"Share of the ceiling's R^2: **{_fmt(share)}**. Sign agreement of one-at-a-time "
        "changes to the ends of each randomization range: "
        + ", ".join(f"{k} {_fmt(v)}" for k, v in ph["sign_agreement"].items())
        + ".",
        "",
        "## Closed loop at the true theta",
        "",
        f"The same {len(pcl['instances'])} instances, one episode each (seeds from the "
        "report's seed).",
        "",
        "| controller | mean return | success rate | crash rate |",
        "|---|---|---|---|",
    ]
    for key, label in (
        ("ampc_nominal", "AMPC at theta_nom"),
        ("ampc_true", "AMPC at the true theta"),
        ("mpc_true", "MPC at the true theta"),
    ):
        r = pcl[key]
        lines.append(
            f"| {label} | {r['mean_return']:.1f} | {r['success_rate']:.2f} | "
            f"{r['crash_rate']:.2f} |"
        )
    lines += ["", f"Share of the gap the true theta closes: **{_fmt(pcl['gap_closed'])}**."]
    failed = [
        (i, p)
        for i, (p, ok) in enumerate(zip(pcl["instances"], pcl["ampc_true"]["success"], strict=True))
        if not ok
    ]
    if failed:
        lines += ["", "Instances where the AMPC at the true theta fails:", ""]
        names = report["theta_names"]
        for i, p in failed:
            lines.append(f"- {i}: " + ", ".join(f"{k} {_fmt(p[k])}" for k in names if k in p))
    return lines


def accuracy_sections(
    acc: dict[str, Any], unit: str, names: list[str], source: str | None = None
) -> list[str]:
    """Markdown of :func:`~ampc_agent.evaluation.accuracy.heldout_accuracy`: ``pi`` and
    ``J`` against the labels and, with secant labels, against the MPC's re-solved
    changes of action beside the per-state linear ceiling."""
    origin = f" ({source})" if source else ""
    lines = [
        "## Held-out accuracy",
        "",
        f"{acc['n']} test samples never seen in training{origin}.",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| pi RMSE (clipped) | {acc['pi_rmse']:.4f} {unit} |",
        f"| pi MAE (clipped) | {acc['pi_mae']:.4f} {unit} |",
        f"| pi R^2 | {acc['pi_r2']:.4f} |",
        f"| J R^2 (all entries) | {acc['jacobian_r2']:.4f} |",
    ]
    for n in names:
        lines.append(
            f"| J R^2 / RMSE, {n} | {acc['jacobian_r2_per_parameter'][n]:.3f} / "
            f"{acc['jacobian_rmse_per_parameter'][n]:.4g} |"
        )
    ch = acc.get("changes")
    if ch:
        k = ch["network"]["n"]
        lines += [
            "",
            "### Changes of action against the re-solved MPC",
            "",
            f"{k} pairs (state, change of theta): the step clip(u + J d) - u with u the "
            "MPC's nominal action, against u*(theta_nom + d) - u*(theta_nom). Ceiling: at "
            "each state, the least-squares linear map fitted on the other changes of that "
            "state, predicting the left-out one.",
            "",
            "| J | R^2 | slope |",
            "|---|---:|---:|",
        ]
        for key, label in (
            ("network", "the network"),
            ("kkt", "the MPC's exact sensitivities (Taylor step)"),
            ("ceiling", "ceiling: per-state linear map, left out"),
        ):
            lines.append(f"| {label} | {ch[key]['r2']:.3f} | {ch[key]['slope']:.3f} |")
        lines += ["", f"Network's share of the ceiling's R^2: **{_fmt(ch['share_of_ceiling'])}**."]
    return lines


def markdown_report(report: dict[str, Any], title: str | None = None) -> str:
    """Markdown tables of an :func:`~ampc_agent.evaluation.study.evaluate_ampc` report."""
    acc, cl, ad = report["accuracy"], report["closed_loop"], report["adaptation"]
    unit = report.get("input_unit", "N")
    names = report["theta_names"]
    system = report["system"]
    lines = [f"# {title or f'AMPC evaluation: {system}'}", ""]
    if "header" in report:
        lines += [report["header"], ""]
    lines += [
        f"## Closed loop, nominal MuJoCo {system}",
        "",
        f"{cl['n_starts']} start states from the env's start distribution (seeds "
        f"{cl['seed']}..{cl['seed'] + cl['n_starts'] - 1}); success: the system's rule"
        f"{': ' + report['success_rule'] if report.get('success_rule') else ''}.",
        "",
        "| controller | success rate | crash rate | return (mean ± std) | reward components "
        "per step | median step time |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("AMPC", "MPC"):
        r = cl[name]
        parts = ", ".join(f"{k} {v:.4f}" for k, v in r.get("components_per_step", {}).items())
        lines.append(
            f"| {name} | {r['success_rate']:.2f} | {r['crash_rate']:.2f} | "
            f"{r['mean_return']:.1f} ± {r['std_return']:.1f} | {parts or '-'} | "
            f"{1e3 * r['step_seconds_median']:.3f} ms |"
        )
    lines += [
        "",
        f"AMPC / MPC success ratio: **{cl['success_ratio']:.3f}** (goal >= 0.95). "
        f"Failed MPC solves in closed loop: {cl.get('mpc_failed_solves', 0)}.",
        "",
    ]
    lines += accuracy_sections(acc, unit, names, report.get("test_set"))
    lines += [
        "",
        "## Adaptation: action error against the MPC solved at theta",
        "",
        f"{ad['n_thetas']} thetas inside the bounds x {ad['n_states']} held-out states. "
        "Distance d = ||(theta - theta_nom) / (theta_upper - theta_lower)||_2. Errors are "
        f"mean |u - u_MPC(x, theta)| in {unit}; *adapted* = clip(pi + J (theta - theta_nom)), "
        "*unadapted* = clip(pi), *exact Taylor* = the same step with the MPC's own labels "
        "(linearisation error without network error). "
        f"AMPC error at theta_nom: {ad['nominal_error']:.3f} {unit}.",
        "",
        "| d | n theta | adapted | unadapted | exact Taylor | adapted (median) "
        "| unadapted (median) | MPC change | AMPC change error | MPC change, trimmed "
        "| AMPC change error, trimmed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ad["table"]:
        lines.append(
            f"| {r['lo']:.2f}-{r['hi']:.2f} | {r['n_theta']} | {r['adapted_mean']:.3f} | "
            f"{r['unadapted_mean']:.3f} | {r['taylor_mean']:.3f} | {r['adapted_median']:.3f} "
            f"| {r['unadapted_median']:.3f} | {r['mpc_change_mean']:.3f} | "
            f"{r['adapted_change_mean']:.3f} | {r.get('mpc_change_trimmed_mean', np.nan):.3f} | "
            f"{r.get('adapted_change_trimmed_mean', np.nan):.3f} |"
        )
    lines += [
        "",
        "*MPC change* = mean |u*(theta) - u*(theta_nom)|: how much the MPC's action moves, "
        "which is also the change error of not adapting; *AMPC change error* = mean "
        "|(u(theta) - u(theta_nom)) - (u*(theta) - u*(theta_nom))|: how well the AMPC's "
        "move follows it, free of the imitation error at theta_nom (the first columns "
        "contain that error at every theta). *Trimmed*: per theta without the 10 % of "
        "states where the MPC's action moved most (jumps to another local optimum of the "
        "nonconvex OCP, which no first-order step follows).",
    ]
    ins = ad.get("inside_tuning_box", {})
    if ins.get("n_theta"):
        lines += [
            "",
            f"Of the random thetas, {ins['n_theta']} fall inside the recommended tuning box: "
            f"mean error adapted {_fmt(ins['adapted_mean'])} {unit}, unadapted "
            f"{_fmt(ins['unadapted_mean'])} {unit}, exact Taylor "
            f"{_fmt(ins['taylor_mean'])} {unit}.",
        ]
    lines += _physical_sections(report)
    lines += [
        "",
        "## Recommended tuning range",
        "",
        f"Rule: {report['tuning_rule']}.",
        "",
        "| parameter | theta_lower | tuning_lower | nominal | tuning_upper | theta_upper |",
        "|---|---|---|---|---|---|",
    ]
    for j, n in enumerate(names):
        lines.append(
            f"| {n} | {_fmt(report['theta_lower'][j])} | **{_fmt(report['tuning_lower'][j])}** "
            f"| {_fmt(report['theta_nominal'][j])} | **{_fmt(report['tuning_upper'][j])}** | "
            f"{_fmt(report['theta_upper'][j])} |"
        )
    lines += [
        "",
        "### One-at-a-time sweeps",
        "",
        f"Per value: AMPC change error / MPC change ({unit}, mean over the states without "
        "the 10 % with the largest MPC change); the recommended range keeps the values "
        "where the first is at most 0.8 x the second or below 0.5 % of the input range. "
        "In brackets the plain means over all states.",
        "",
    ]
    for s in report["sweeps"]:
        lines.append(
            f"**{s['name']}**: "
            + "; ".join(
                f"{_fmt(v)}: {e:.3f} / {c:.3f} ({ea:.2f} / {ca:.2f})"
                for v, e, c, ea, ca in zip(
                    s["values"],
                    s["adapted_change_trimmed"],
                    s["mpc_change_trimmed"],
                    s["adapted_change"],
                    s["mpc_change"],
                    strict=True,
                )
            )
        )
        lines.append("")
    secs = report.get("seconds", {})
    if secs:
        lines += ["Wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in secs.items()), ""]
    return "\n".join(lines)


def plot_report(report: dict[str, Any], path: str | Path) -> Path:
    """PNG: error vs distance, and one panel per parameter sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ad, sweeps = report["adaptation"], report["sweeps"]
    n_panels = 1 + len(sweeps)
    cols = 4
    rows = int(np.ceil(n_panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    ax = axes[0, 0]
    d = np.asarray(ad["distance"])
    styles = {
        "adapted": ("C0", "adapted AMPC"),
        "unadapted": ("C3", "unadapted pi(x)"),
        "taylor": ("C2", "exact Taylor (MPC labels)"),
    }
    change_styles = {
        "mpc_change_trimmed": ("C3", "MPC change (= error of not adapting)"),
        "adapted_change_trimmed": ("C0", "AMPC change error"),
    }
    for k, (c, label) in styles.items():
        ax.scatter(d, ad[f"{k}_per_theta"], s=10, color=c, alpha=0.5, label=label)
        mids = [(r["lo"] + r["hi"]) / 2 for r in ad["table"]]
        ax.plot(mids, [r[f"{k}_mean"] for r in ad["table"]], color=c)
    ax.set_xlabel("||theta - theta_nom|| (range-normalised)")
    ax.set_ylabel(f"mean |u - u_MPC(theta)| ({report.get('input_unit', 'N')})")
    ax.set_title("action error vs distance")
    ax.legend(fontsize=7)
    lo, hi = np.asarray(report["tuning_lower"]), np.asarray(report["tuning_upper"])
    for j, s in enumerate(sweeps):
        ax = axes[(j + 1) // cols, (j + 1) % cols]
        v = np.asarray(s["values"])
        for k, (c, label) in change_styles.items():
            ax.plot(v, s[k], "o-", color=c, ms=3, label=label)
        ax.axvspan(lo[j], hi[j], color="0.9", zorder=0, label="tuning range")
        ax.axvline(report["theta_nominal"][j], color="k", lw=0.8, ls=":")
        ax.set_title(s["name"], fontsize=9)
        ax.set_ylabel("N", fontsize=8)
        if j == 0:
            ax.legend(fontsize=6)
    for k in range(n_panels, rows * cols):
        axes[k // cols, k % cols].axis("off")
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def write_report(report: dict[str, Any], out_dir: str | Path, name: str | None = None) -> dict:
    """Write ``{name}.json``, ``{name}.md`` and ``{name}.png`` under ``out_dir``
    (default name ``eval_<system>``), each file atomically."""
    out = Path(out_dir)
    name = name or f"eval_{report['system']}"
    paths = {"json": out / f"{name}.json", "md": out / f"{name}.md", "png": out / f"{name}.png"}
    write_json(paths["json"], report, indent=1)
    atomic_write_bytes(paths["md"], markdown_report(report).encode())
    plot_report(report, paths["png"])
    return paths
