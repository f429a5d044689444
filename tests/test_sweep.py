"""Staffing sweeps: validation, common random numbers, executors, resume."""

from __future__ import annotations

import json
import math
import os

import pytest
from conftest import require
from click.testing import CliRunner

from ips_sim.analysis.metrics import METRIC_NAMES, summarise
from ips_sim.runner.executors import InlineExecutor, LocalExecutor
from ips_sim.runner.experiment import run_replications
from ips_sim.studies.sweep import (
    SweepError,
    grid_values,
    load_sweep,
    parse_range,
    partial_dir,
    plot_axes,
    run_sweep,
)
from ips_sim.ui.cli import main

BASE = """\
name: small_team
team: {specialists: 2, caseload_cap: 20}
referrals: {rate_per_month: 3.0}
simulation: {horizon_years: 2.5, warmup_years: 0.5, replications: 4, seed: 777}
"""

SWEEP = """\
name: tiny
base: base.yaml
grid:
  team.specialists: 1..3
  referrals.rate_per_month: [2, 5]
"""


@pytest.fixture
def sweep_file(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    path = tmp_path / "tiny.yaml"
    path.write_text(SWEEP)
    return path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def read(path):
    return path.read_bytes()


# --------------------------------------------------------------------------- values and validation


def test_range_syntax():
    assert parse_range("1..5") == [1, 2, 3, 4, 5]
    assert parse_range("2..8:2") == [2, 4, 6, 8]
    assert parse_range("6..1:2") == [6, 4, 2]
    assert parse_range("0.5..1:0.1") == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert parse_range("15,20,25") == [15, 20, 25]
    assert grid_values({"from": 2, "to": 8, "step": 3}) == [2, 5, 8]
    assert grid_values([1, 3]) == [1, 3]
    for bad in ("1..x", "1..5:0", "five"):
        with pytest.raises(ValueError):
            parse_range(bad)


def test_grid_is_cartesian_product_in_order(sweep_file):
    sw = load_sweep(sweep_file)
    assert sw.fields == ["team.specialists", "referrals.rate_per_month"]
    assert sw.values == [{"team.specialists": s, "referrals.rate_per_month": r} for s in (1, 2, 3) for r in (2.0, 5.0)]
    assert [sc.team.specialists for sc in sw.scenarios] == [1, 1, 2, 2, 3, 3]
    assert sw.seed == 777 and sw.replications == 4
    # Staffing on x, referrals as lines.
    assert plot_axes(sw) == ("team.specialists", "referrals.rate_per_month", [])


def test_cli_overrides_replications_and_seed(sweep_file):
    sw = load_sweep(sweep_file, replications=7, seed=3)
    assert (sw.replications, sw.seed) == (7, 3)
    assert all(sc.simulation.seed == 3 for sc in sw.scenarios)


def test_bad_sweep_file_one_line_per_problem_exit_2(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    bad = tmp_path / "bad.yaml"
    bad.write_text("""\
base: base.yaml
colour: red
grid:
  team.specialsts: [1, 2]
  team.caseload_cap: [0, 20]
  referrals.rate_per_month: 2..x
  team: [1]
""")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["sweep", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert lines == [
        f"{bad}: colour: 'red': unknown field (allowed: name, description, base, seed, replications, overrides, "
        "grid, points, plot)",
        f"{bad}: grid.team.specialsts: [1, 2]: unknown scenario field; did you mean team.specialists?",
        f"{bad}: grid.team.caseload_cap: 0: Input should be greater than or equal to 1",
        f"{bad}: grid.referrals.rate_per_month: '2..x': expected FROM..TO or FROM..TO:STEP with numbers, "
        "e.g. 1..6 or 2..8:2",
        f"{bad}: grid.team: [1]: team is a section; give one of its fields, e.g. team.specialists",
    ]
    assert not out.exists() and not partial_dir(out).exists()  # nothing ran


def test_bad_points_reported_before_anything_runs(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    bad = tmp_path / "bad.yaml"
    bad.write_text("""\
base: base.yaml
points:
  - {team.specialists: 2}
  - {team.specialists: -1}
  - {simulation.warmup_years: 5}
  - {team.specialists: 2.0}
""")
    with pytest.raises(SweepError) as exc:
        load_sweep(bad)
    assert exc.value.messages == [
        f"{bad}: points[1].team.specialists: -1: Input should be greater than or equal to 1",
        f"{bad}: points[2].simulation: simulation.warmup_years=5: warmup_years (5.0) must be less than "
        "horizon_years (2.5)",
        f"{bad}: points[3]: team.specialists=2, simulation.warmup_years=0.5: same point as points[0]; "
        "each point must be distinct",
    ]


def test_missing_base_is_relative_to_sweep_file(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("base: ../nowhere.yaml\ngrid: {team.specialists: [1, 2]}\n")
    with pytest.raises(SweepError) as exc:
        load_sweep(bad)
    assert len(exc.value.messages) == 1
    assert exc.value.messages[0].startswith(f"{bad}: base: '../nowhere.yaml': no such scenario file")


# --------------------------------------------------------------------------- results


def test_sweep_outputs_equal_direct_runs_with_common_random_numbers(sweep_file, tmp_path):
    out = tmp_path / "out"
    res = invoke("sweep", sweep_file, "--out", out, "--workers", 1, "--quiet")
    assert res.exit_code == 0, res.output
    assert not partial_dir(out).exists()
    import pandas as pd
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns) == ["point", "team.specialists", "referrals.rate_per_month", "metric", "unit",
                                   "mean", "ci_low", "ci_high", "std", "replications"]
    assert len(table) == 6 * len(METRIC_NAMES)
    assert sorted(p.name for p in (out / "points").iterdir()) == [f"p{i:04d}.json" for i in range(6)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 777 and manifest["replications"] == 4 and manifest["status"] == "complete"
    assert manifest["base_scenario"]["team"]["caseload_cap"] == 20
    assert (out / "plots" / "mean_wait_days.png").stat().st_size > 0
    assert (out / "plots" / "heatmap_mean_wait_days.png").stat().st_size > 0

    # Every point is exactly the replications 0..n-1 of its scenario with the sweep's seed.
    sw = load_sweep(sweep_file)
    for i in (0, 5):
        direct = summarise(run_replications(sw.scenarios[i], 4, 777, keep_records=False)[0])
        rows = table[table["point"] == f"p{i:04d}"].set_index("metric")
        for r in direct:
            if math.isfinite(r["mean"]):
                assert rows.loc[r["metric"], "mean"] == pytest.approx(r["mean"], rel=1e-5)

    # Common random numbers: the referral stream does not depend on staffing, so at a
    # given referral rate every team size sees the very same referrals in every replication.
    ref = table[table["metric"] == "referrals"]
    for rate, grp in ref.groupby("referrals.rate_per_month"):
        assert grp["mean"].nunique() == 1 and grp["std"].nunique() == 1, rate
    assert ref.groupby("referrals.rate_per_month")["mean"].first().is_monotonic_increasing


def test_one_and_two_workers_byte_identical(sweep_file, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("sweep", sweep_file, "--out", a, "--workers", 1, "-q", "--no-plots").exit_code == 0
    # Two processes, chunks of one replication: units finish out of order.
    sw = load_sweep(sweep_file)
    ex = LocalExecutor(2)
    try:
        run_sweep(sw, b, ex, chunk=1, plots=False)
    finally:
        ex.close()
    assert read(a / "sweep.csv") == read(b / "sweep.csv")
    for i in range(6):
        assert read(a / "points" / f"p{i:04d}.json") == read(b / "points" / f"p{i:04d}.json")


def test_local_and_dask_cluster_byte_identical(sweep_file, tmp_path):
    distributed = require("distributed", "a test dependency (dask[distributed])")
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("sweep", sweep_file, "--out", a, "--workers", 1, "-q", "--no-plots").exit_code == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        res = invoke("sweep", sweep_file, "--out", b, "--scheduler", cluster.scheduler_address, "-q", "--no-plots")
    assert res.exit_code == 0, res.output
    assert read(a / "sweep.csv") == read(b / "sweep.csv")
    assert "Dask cluster at tcp://127.0.0.1" in json.loads((b / "manifest.json").read_text())["executor"]


def test_bad_scheduler_address_exit_2(sweep_file, tmp_path):
    res = CliRunner().invoke(main, ["sweep", str(sweep_file), "--scheduler", "localhost", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert res.output.strip() == "--scheduler: 'localhost': expected a scheduler address such as tcp://HOST:PORT"


# --------------------------------------------------------------------------- resume


class Interrupt:
    """A progress callback that raises KeyboardInterrupt after ``after`` replications (Ctrl-C)."""

    def __init__(self, after):
        self.after, self.done = after, 0

    def __call__(self, n):
        self.done += n
        if self.done >= self.after:
            raise KeyboardInterrupt


def test_interrupt_then_resume_equals_uninterrupted(sweep_file, tmp_path):
    sw = load_sweep(sweep_file)  # 6 points x 4 replications
    full, out = tmp_path / "full", tmp_path / "out"
    run_sweep(sw, full, InlineExecutor(), plots=False)

    # Ctrl-C after 2 whole points and half of the third (chunks of 2 replications).
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sw, out, InlineExecutor(), chunk=2, progress=Interrupt(2 * 4 + 2), plots=False)
    work = partial_dir(out)
    assert not out.exists()  # an unfinished sweep is never where a finished one is expected
    assert sorted(p.name for p in (work / "points").iterdir()) == ["p0000.json", "p0001.json"]  # p0002 is half done

    # Running again without --resume refuses to overwrite the work.
    res = CliRunner().invoke(main, ["sweep", str(sweep_file), "--out", str(out), "-w", "1", "-q", "--no-plots"])
    assert res.exit_code == 2 and "add --resume" in res.output

    started = []
    result = run_sweep(sw, out, InlineExecutor(), resume=True, plots=False,
                       on_start=lambda points, reps: started.append((points, reps)))
    assert started == [(4, 16)] and result.ran == 4  # only the 4 missing points ran
    assert not work.exists()
    assert read(out / "sweep.csv") == read(full / "sweep.csv")


def test_resume_through_cli_and_nothing_left(sweep_file, tmp_path):
    out = tmp_path / "out"
    full = tmp_path / "full"
    assert invoke("sweep", sweep_file, "--out", full, "-w", "1", "-q", "--no-plots").exit_code == 0
    sw = load_sweep(sweep_file)
    with pytest.raises(KeyboardInterrupt):  # one point per unit: 4 points written, the 5th interrupted
        run_sweep(sw, out, InlineExecutor(), chunk=4, progress=Interrupt(4 * 4 + 1), plots=False)
    res = invoke("sweep", sweep_file, "--out", out, "-w", "2", "--resume", "--no-plots")
    assert res.exit_code == 0, res.output
    assert "resuming: 4 of 6 points already finished" in res.output
    assert read(out / "sweep.csv") == read(full / "sweep.csv")
    again = invoke("sweep", sweep_file, "--out", out, "--resume", "-w", "1")
    assert again.exit_code == 0 and "already complete" in again.output


def test_partial_or_foreign_point_files_are_not_reported(sweep_file, tmp_path):
    sw = load_sweep(sweep_file)
    full, out = tmp_path / "full", tmp_path / "out"
    run_sweep(sw, full, InlineExecutor(), plots=False)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sw, out, InlineExecutor(), chunk=4, progress=Interrupt(3 * 4 + 1), plots=False)
    points = partial_dir(out) / "points"
    assert sorted(p.name for p in points.iterdir()) == ["p0000.json", "p0001.json", "p0002.json"]
    # A crash in the middle of writing leaves only a temp file; a point file with too few
    # replications (e.g. hand-edited, or from another run) must be run again, not reported.
    doc = json.loads((points / "p0001.json").read_text())
    doc["metrics"] = {k: v[:2] for k, v in doc["metrics"].items()}
    (points / "p0001.json").write_text(json.dumps(doc))
    (points / f".p0003.json.tmp-{os.getpid()}").write_text('{"point": "p0003", "metri')
    started = []
    run_sweep(sw, out, InlineExecutor(), resume=True, plots=False,
              on_start=lambda points_, reps: started.append(points_))
    assert started == [4]  # p0001 (incomplete) and p0003..p0005
    assert read(out / "sweep.csv") == read(full / "sweep.csv")
    assert not any(p.name.startswith(".") for p in (out / "points").iterdir())


def test_resume_with_different_settings_is_refused(sweep_file, tmp_path):
    sw = load_sweep(sweep_file)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sw, out, InlineExecutor(), progress=Interrupt(4), plots=False)
    res = CliRunner().invoke(main, ["sweep", str(sweep_file), "--out", str(out), "--resume", "-n", "5", "-q"])
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and "different base scenario" in res.output


def test_keep_records_writes_member_tables_only_when_asked(sweep_file, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("sweep", sweep_file, "--out", a, "-w", 1, "-q", "--no-plots").exit_code == 0
    assert invoke("sweep", sweep_file, "--out", b, "-w", 1, "-q", "--no-plots", "--keep-records").exit_code == 0
    assert not any(p.is_dir() for p in (a / "points").iterdir())
    import pandas as pd
    members = pd.read_csv(b / "points" / "p0000" / "members.csv")
    assert sorted(members["replication"].unique()) == [0, 1, 2, 3]
    assert (b / "points" / "p0005" / "jobs.csv").exists() and (b / "points" / "p0005" / "monthly.csv").exists()
    assert read(a / "sweep.csv") == read(b / "sweep.csv")


def test_shipped_sweeps_validate():
    from pathlib import Path
    folder = Path(__file__).resolve().parent.parent / "scenarios" / "sweeps"
    files = sorted(folder.glob("*.yaml"))
    assert {f.name for f in files} >= {"specialists_by_referrals.yaml", "caseload_cap.yaml"}
    for f in files:
        sw = load_sweep(f)
        assert len(sw) >= 4
    sw = load_sweep(folder / "specialists_by_referrals.yaml")
    assert sw.fields == ["team.specialists", "referrals.rate_per_month"] and len(sw) == 20


def test_seed_and_replications_cannot_vary_between_points(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: base.yaml\ngrid:\n  simulation.seed: [1, 2]\n  team.specialists: [1, 2]\n")
    with pytest.raises(SweepError) as exc:
        load_sweep(bad)
    assert exc.value.messages == [
        f"{bad}: grid.simulation.seed: [1, 2]: every point uses the same seed (common random numbers); "
        "set seed at the top of the sweep file or with --seed"]


def test_killed_process_resumes_to_the_same_result(tmp_path):
    """A real crash: SIGKILL the sweep process once its first point is on disk, then --resume."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    (tmp_path / "base.yaml").write_text(BASE.replace("horizon_years: 2.5", "horizon_years: 6"))
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(SWEEP)
    out, full = tmp_path / "out", tmp_path / "full"
    cmd = [str(Path(sys.executable).parent / "ips-sim"), "sweep", str(sweep), "--out", str(out), "-w", "1",
           "-n", "20", "--no-plots", "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True)
    first = partial_dir(out) / "points" / "p0000.json"
    deadline = time.monotonic() + 60
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists() and first.exists()
    done = sorted(p.name for p in (partial_dir(out) / "points").iterdir() if not p.name.startswith("."))
    assert 1 <= len(done) < 6

    res = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    run_sweep(load_sweep(sweep, replications=20), full, InlineExecutor(), plots=False)
    assert read(out / "sweep.csv") == read(full / "sweep.csv")


def test_a_sweep_can_vary_today_s_program():
    # The start section's fields are fields like any other (sections nest; a list of sections,
    # the referral schedule, stays one field); a point that sets one makes the section.
    from conftest import make_scenario

    from ips_sim.studies.sweep import check_path, scenario_field_paths

    paths = scenario_field_paths()
    assert {"start.vacant_posts.count", "start.waitlist.count", "start.workers.count"} <= set(paths)
    assert "referrals.schedule" in paths and "referrals.schedule.from_month" not in paths
    assert check_path("start.vacant_posts.count") is None
    assert "unknown scenario field" in check_path("start.vacant_posts.number")
    assert "vary the counts" in check_path("start.members_csv")  # read at load time, not a model input
    base = make_scenario({"simulation.horizon_years": 2, "simulation.warmup_years": 0})
    assert base.start is None
    today = base.with_updates({"start.vacant_posts.count": 1, "start.job_seekers.count": 10})
    assert today.start.vacant == 1 and today.start.job_seekers.count == 10
