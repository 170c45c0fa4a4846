"""``ampc-bench report``: the Markdown report with tables and plots, from a results folder."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.report import curves as curves_module
from benchmarks.report.curves import Baselines
from benchmarks.report.plots import plot_group
from benchmarks.report.summary import BUDGETS, methods_of, report_groups, summarise
from benchmarks.sweep.storage import ResultStore

__all__ = ["write_report", "format_quartiles", "headline"]


def format_quartiles(q: dict[str, float], digits: int = 1) -> str:
    """``median [q25, q75]`` or ``n/a``."""
    if q["n"] == 0 or not math.isfinite(q["median"]):
        return "n/a"
    return f"{q['median']:.{digits}f} [{q['q25']:.{digits}f}, {q['q75']:.{digits}f}]"


def headline(group_summary: dict[str, Any], budget: int = 20, metric: str = "deployed") -> str:
    """One sentence: which method has the best median ``metric`` (``"deployed"``: the
    deployed score; ``"score"``: the best-so-far score) at ``budget``."""
    rows = group_summary["methods"]
    scored = [
        (m, r[metric][budget]["median"])
        for m, r in rows.items()
        if m not in ("nominal", "oracle", "true-theta", "mpc-true")
        and budget in r[metric]
        and math.isfinite(r[metric][budget]["median"])
    ]
    what = "deployed score" if metric == "deployed" else "best-so-far score"
    if not scored and metric == "deployed":
        return headline(group_summary, budget, "score")
    if len(scored) < 1:
        return f"No {what} at {budget} episodes (needs nominal and oracle records)."
    scored.sort(key=lambda x: -x[1])
    best = scored[0][0]
    text = f"At {budget} episodes the best median {what} is {best} ({scored[0][1]:.2f}"
    if metric == "deployed":
        crash = rows[best]["deployed_crash_rate"][budget]
        text += f"; its recommended theta crashed in {crash:.0%} of the held-out episodes"
    text += ")"
    if len(scored) > 1:
        others = ", ".join(f"{m} {v:.2f}" for m, v in scored[1:])
        text += f", ahead of {others}"
    return text + "."


def _signed(x: float) -> str:
    return f"{x:+.3f}" if math.isfinite(x) else "n/a"


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "n/a"


def _paired_lines(title: str, intro: str, table: dict[str, Any], budgets: list[int]) -> list[str]:
    lines = [
        "",
        f"### {title}",
        "",
        intro,
        "",
        "| pair | " + " | ".join(f"{b} episodes" for b in budgets) + " |",
        "|---|" + "---:|" * len(budgets),
    ]
    for pair, by_budget in table.items():
        cells = []
        for b in budgets:
            c = by_budget[b]
            p = f"p={c['p']:.2g}" if math.isfinite(c["p"]) else "p=n/a"
            cells.append(f"{_signed(c['median'])}; {c['wins']}/{c['n']}; {p}")
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    return lines


def _deployed_lines(s: dict[str, Any], head: str, sep: str) -> list[str]:
    budgets = s["budgets"]
    rows = {
        m: r for m, r in s["methods"].items() if any(r["deployed_return"][b]["n"] for b in budgets)
    }
    if not rows:
        return ["No deployed scores (a sweep with deploy_episodes: 0, or older records).", ""]
    lines = [
        "### Deployed score (0 = nominal AMPC, 1 = oracle, both deployed): median [25 %, 75 %]",
        "",
        head,
        sep,
    ]
    for m, r in rows.items():
        cells = [format_quartiles(r["deployed"][b], 2) for b in budgets]
        lines.append(f"| {m} | {r['trials']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Deployed return; regret (oracle's deployed return - deployed return); crash "
        "rate of the recommended theta on the held-out episodes",
        "",
        "Cells: median deployed return; median regret; held-out crash rate.",
        "",
        head,
        sep,
    ]
    for m, r in rows.items():
        cells = [
            f"{_fmt(r['deployed_return'][b]['median'], 1)}; {_fmt(r['regret'][b]['median'], 1)}; "
            f"{_fmt(r['deployed_crash_rate'][b] * 100, 0)} %"
            for b in budgets
        ]
        lines.append(f"| {m} | {r['trials']} | " + " | ".join(cells) + " |")
    if s.get("bo_vs_random"):
        lines += _paired_lines(
            "Does BO beat random search? (deployed score, paired)",
            "Pairs share the instance, the tuning episode seeds and the held-out episodes. "
            "Cells: median difference of the deployed score (BO - random); pairs where BO "
            "is better / pairs; two-sided Wilcoxon signed-rank p.",
            s["bo_vs_random"],
            budgets,
        )
    if s.get("paired_deployed"):
        lines += _paired_lines(
            f"Paired with {s['best_tuner']} (deployed score)",
            f"{s['best_tuner']}: the best median deployed score at {s['best_tuner_at']} "
            "episodes. Cells as above.",
            s["paired_deployed"],
            budgets,
        )
    return [*lines, ""]


def _group_section(name: str, s: dict[str, Any], png: str) -> list[str]:
    budgets = s["budgets"]
    head = "| method | trials | " + " | ".join(f"{b} episodes" for b in budgets) + " |"
    sep = "|---|---:|" + "---:|" * len(budgets)
    lines = [
        f"## {name}",
        "",
        f"Instances: {', '.join(s['instances'])}; seeds: {len(s['seeds'])} "
        f"({min(s['seeds'])}-{max(s['seeds'])}); largest budget: {s['budget']} episodes.",
        "",
    ]
    if budgets:
        at = 20 if 20 in budgets else budgets[-1]
        lines += [f"**{headline(s, at)}**", ""]
    lines += _deployed_lines(s, head, sep)
    lines += [f"![{name}: deployed score and best-so-far curves]({png})", ""]
    lines += ["### Best-so-far return (secondary): median [25 %, 75 %]", "", head, sep]
    for m, r in s["methods"].items():
        cells = [format_quartiles(r["best"][b], 1) for b in budgets]
        lines.append(f"| {m} | {r['trials']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Best-so-far score (0 = nominal AMPC, 1 = oracle): median [25 %, 75 %]",
        "",
        head,
        sep,
    ]
    for m, r in s["methods"].items():
        cells = [format_quartiles(r["score"][b], 2) for b in budgets]
        lines.append(f"| {m} | {r['trials']} | " + " | ".join(cells) + " |")
    if s.get("paired"):
        ref = s["best_tuner"]
        lines += [
            "",
            f"### Paired with {ref} (best-so-far score)",
            "",
            f"Pairs share the instance and episode seed. Cells: median difference in normalised "
            f"score ({ref} - other); trials where {ref} is better / pairs; two-sided Wilcoxon "
            "signed-rank p.",
            "",
            "| other | " + " | ".join(f"{b} episodes" for b in budgets) + " |",
            "|---|" + "---:|" * len(budgets),
        ]
        for other, by_budget in s["paired"].items():
            cells = []
            for b in budgets:
                c = by_budget[b]
                cells.append(f"{_signed(c['median'])}; {c['wins']}/{c['n']}; p={c['p']:.2g}")
            lines.append(f"| {other} | " + " | ".join(cells) + " |")
    crash_head = " | ".join(f"crash rate {b}" for b in budgets)
    lines += [
        "",
        "### Crashes and time",
        "",
        f"| method | trials | errors | episodes | {crash_head} | wall time per trial (s, median) "
        "| per episode (s, median) | tuner per trial (s, median) | total (s) |",
        "|---|---:|---:|---:|" + "---:|" * len(budgets) + "---:|---:|---:|---:|",
    ]
    for m, r in s["methods"].items():
        crash = " | ".join(_fmt(r["crash_rate"][b]) for b in budgets)
        lines.append(
            f"| {m} | {r['trials']} | {r['errors']} | {r['episodes']} | {crash} | "
            f"{_fmt(r['wall_time_median'], 1)} | {_fmt(r['episode_time_median'], 3)} | "
            f"{_fmt(r['tuner_time_median'], 1)} | {_fmt(r['wall_time_total'], 0)} |"
        )
    return [*lines, ""]


def write_report(
    results: str | Path,
    out: str | Path | None = None,
    budgets: Sequence[int] = BUDGETS,
    animations: bool = False,
) -> Path:
    """Write ``report.md``, ``report.json`` and one PNG per report group
    (``<system>--<instance>.png``) for a results folder.

    Args:
        results: Results folder of a sweep (with ``trials/``).
        out: Output folder (default: ``results``).
        budgets: Budgets of the table columns (those above the sweep's budget are left out).
        animations: Also render ``<system>.gif`` per system
            (:mod:`benchmarks.report.animation`, about 15 s each) and embed it.

    Returns:
        Path of ``report.md``.
    """
    store = ResultStore(results)
    out = Path(out or results)
    out.mkdir(parents=True, exist_ok=True)
    records = store.records("done")
    errors = store.records("error")
    summary = summarise(records, errors, budgets)
    baselines = Baselines(records)
    groups = report_groups(records)
    lines = [
        "# Benchmark report",
        "",
        f"{len(records)} finished trials, {len(errors)} failed trials, from `{results}`.",
        "",
    ]
    gifs = {}
    if animations:
        from benchmarks.report.animation import animate_systems

        gifs = animate_systems(summary, records, out)
    for name, s in summary["groups"].items():
        gif = gifs.pop(s["system"], None)
        if gif is not None:
            lines += [
                f"![{s['system']}: nominal and deployed theta]({gif[0]})",
                "",
                f"*{gif[1]}.*",
                "",
            ]
        png = name.replace(" / ", "--").replace(" ", "-") + ".png"
        plot_group(
            name, methods_of(groups[name]), baselines, max(s["budget"], 1), out / png, s["budgets"]
        )
        lines += _group_section(name, s, png)
    if errors:
        lines += ["## Failed trials", ""]
        lines += [f"- `{r['name']}`: {r['error']}" for r in errors]
        lines.append("")
    lines += [
        "## Definitions",
        "",
        curves_module.__doc__.split("Definitions", 1)[1].split("\n", 1)[1].strip(),
        "",
    ]
    versions = next((r.get("versions") for r in records if r.get("versions")), None)
    if versions:
        lines += ["## Versions", "", *[f"- {k}: {v}" for k, v in versions.items()], ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    (out / "report.json").write_text(json.dumps(summary, indent=1, default=_json_default) + "\n")
    return path


def _json_default(obj: Any) -> Any:
    return float(obj)
