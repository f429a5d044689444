"""Figures of docs/supervision_turnover.md, "A supervisor covering 1, 5 and 8 teams", from the ips-sim CLI.

    .venv/bin/python benchmarks/supervision_figures.py                  # about 40 s on 2 cores
    .venv/bin/python benchmarks/supervision_figures.py --no-sweep       # the two tables only, about 30 s

Runs ``ips-sim run`` on scenarios/supervisor_{1_team,5_teams,8_teams}.yaml and on a copy of the
1-team scenario with turnover off (100 replications, seed 20261123, the scenarios' 15 years with
5 of warm-up, the shipped calibration), then prints, in the page's markdown format:

1. the model results (summary.csv means and 95% CIs; mean fidelity item scores from fidelity.csv);
2. the paired differences, replication by replication from replications.csv (the same replication
   index uses the same seeds in every run: common random numbers), mean +- 95% t half-width;
3. unless --no-sweep: ``ips-sim sweep`` over ``supervision.practice_effect`` (0, 0.25, 0.5, 0.75) at
   spans of 2 and 16 specialists, 30 replications: the 8-team vs 1-team paired difference.

Re-run after any recalibration to refresh the page. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ips_sim.core.intervals import mean_ci  # noqa: E402

SCENARIOS = REPO / "scenarios"
ROWS = (("supervisor_1_team", "1 team (2 specialists)"), ("supervisor_5_teams", "5 teams (10)"),
        ("supervisor_8_teams", "8 teams (16)"))
SUMMARY_COLUMNS = (("supervision_coverage_mean", "{:.3f}"), ("practice_quality_mean", "{:.3f}"),
                   ("ever_employed_rate", "{:.3f}"), ("quarterly_working_rate", "{:.3f}"),
                   ("mean_wait_days", "{:.1f}"), ("share_gave_up_waiting", "{:.3f}"), ("vacancy_days", "{:.0f}"))
OTHER_ITEMS = ("caseload_size", "rapid_job_search", "community_based_services", "time_unlimited_follow_along")
PAIRED_COLUMNS = (("ever_employed_rate", "{:.3f}"), ("quarterly_working_rate", "{:.3f}"), ("mean_wait_days", "{:.1f}"),
                  ("share_gave_up_waiting", "{:.3f}"))
NO_TURNOVER = "supervisor_1_team_no_turnover"


def ips_sim(*args: str) -> None:
    """Run one ips-sim command with this checkout's package first on the path."""
    exe = Path(sys.executable).with_name("ips-sim")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([str(exe), *args, "--quiet"], check=True, env=env)


def no_turnover_copy(folder: Path) -> Path:
    """The 1-team scenario with only ``turnover.enabled`` switched off (and its name)."""
    data = yaml.safe_load((SCENARIOS / "supervisor_1_team.yaml").read_text())
    data["name"] = NO_TURNOVER
    data["label"] = "Supervisor for 1 team, no turnover"
    data["turnover"]["enabled"] = False
    path = folder / f"{NO_TURNOVER}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_all(out: Path, replications: int, seed: int, workers: int) -> None:
    """``ips-sim run`` every scenario of the section into out/<name>/."""
    paths = [SCENARIOS / f"{name}.yaml" for name, _ in ROWS] + [no_turnover_copy(out)]
    for path in paths:
        ips_sim("run", str(path), "--replications", str(replications), "--seed", str(seed), "--workers",
                str(workers), "--out", str(out / path.stem), "--no-plots", "--overwrite")


def results_table(out: Path) -> None:
    print("| supervisor covers | supervision coverage | practice quality | ever employed within 18 months | "
          "quarterly working rate | mean wait (days) | gave up waiting | vacancy days (10 y, 2 posts) | "
          "fidelity: supervision | fidelity: job development | caseload, rapid search, community, follow-along |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, label in ROWS:
        summary = pd.read_csv(out / name / "summary.csv").set_index("metric")
        cells = [label]
        for metric, fmt in SUMMARY_COLUMNS:
            m, lo, hi = summary.loc[metric, ["mean", "ci_low", "ci_high"]]
            cells.append(f"{fmt.format(m)} ({fmt.format(lo)}-{fmt.format(hi)})")
        score = pd.read_csv(out / name / "fidelity.csv").groupby("item")["score"].mean()
        cells += [f"{score['supervision']:.2f}", f"{score['job_development_frequency']:.2f}",
                  ", ".join(f"{score[i]:.2f}" for i in OTHER_ITEMS)]
        print("| " + " | ".join(cells) + " |")


def paired(out: Path, variant: str, base: str, metric: str) -> tuple[float, float]:
    """Mean and 95% half-width of variant - base, replication by replication."""
    a = pd.read_csv(out / variant / "replications.csv").set_index("replication")[metric]
    b = pd.read_csv(out / base / "replications.csv").set_index("replication")[metric]
    if not a.index.equals(b.index):  # the same replication indices use the same seeds
        raise SystemExit(f"{variant} and {base} do not hold the same replications")
    mean, lo, hi = mean_ci((a - b).to_numpy())
    return mean, (hi - lo) / 2


def paired_table(out: Path) -> None:
    print("| comparison (paired, same seeds) | ever employed | quarterly working rate | mean wait (days) | "
          "gave up waiting |")
    print("|---|---|---|---|---|")
    for label, variant, base in (("5 teams vs 1 team", "supervisor_5_teams", "supervisor_1_team"),
                                 ("8 teams vs 1 team", "supervisor_8_teams", "supervisor_1_team"),
                                 ("1 team: turnover on vs off", "supervisor_1_team", NO_TURNOVER)):
        cells = [label]
        for metric, fmt in PAIRED_COLUMNS:
            m, half = paired(out, variant, base, metric)
            cells.append(f"{fmt.format(m)} +- {fmt.format(half)}")
        print("| " + " | ".join(cells) + " |")


def practice_effect_sweep(out: Path, replications: int, seed: int, workers: int) -> None:
    """``ips-sim sweep``: spans 2 and 16 x practice_effect; the paired 16 vs 2 difference per effect."""
    sweep = out / "practice_effect.yaml"
    sweep.write_text(
        "name: supervision_practice_effect\n"
        f"base: {SCENARIOS / 'supervisor_1_team.yaml'}\n"
        "grid:\n"
        "  supervision.specialists_per_supervisor: [2, 16]\n"
        "  supervision.practice_effect: [0.0, 0.25, 0.5, 0.75]\n")
    folder = out / "practice_effect"
    ips_sim("sweep", str(sweep), "--replications", str(replications), "--seed", str(seed), "--workers",
            str(workers), "--out", str(folder), "--no-plots", "--overwrite")
    runs: dict[tuple[float, int], dict[str, list[float]]] = {}
    for point in sorted((folder / "points").glob("p*.json")):
        saved = json.loads(point.read_text())   # per-replication metrics of one point, replication order
        v = saved["values"]
        runs[(v["supervision.practice_effect"], v["supervision.specialists_per_supervisor"])] = saved["metrics"]
    print(f"practice_effect sweep ({replications} replications, seed {seed}): 8 teams vs 1 team, paired\n")
    print("| practice_effect | ever employed, 1 team | ever employed, 8 teams | difference | "
          "quarterly working rate, difference |")
    print("|---|---|---|---|---|")
    for effect in sorted({e for e, _ in runs}):
        one, eight = runs[(effect, 2)], runs[(effect, 16)]
        cells = [f"{effect:.2f}", f"{mean_ci(one['ever_employed_rate'])[0]:.3f}",
                 f"{mean_ci(eight['ever_employed_rate'])[0]:.3f}"]
        for metric in ("ever_employed_rate", "quarterly_working_rate"):
            m, lo, hi = mean_ci([a - b for a, b in zip(eight[metric], one[metric], strict=True)])
            cells.append(f"{m:.3f} +- {(hi - lo) / 2:.3f}")
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the runs here [default: a temporary folder]")
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sweep-replications", type=int, default=30)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        run_all(out, args.replications, args.seed, args.workers)
        print(f"{args.replications} replications, seed {args.seed}: mean (95% CI); fidelity columns are mean "
              "item scores (1-5)\n")
        results_table(out)
        print("\nPaired differences, same seeds (mean +- 95% CI half-width):\n")
        paired_table(out)
        if not args.no_sweep:
            print()
            practice_effect_sweep(out, args.sweep_replications, args.seed, args.workers)


if __name__ == "__main__":
    main()
