"""Every command's results are byte-identical whichever executor runs the work:
this process, two local processes, or a Dask cluster (an in-process LocalCluster here)."""

from __future__ import annotations

import distributed
import pytest
from click.testing import CliRunner

from ips_sim.ui.cli import main

# The tests here share module-scoped fixtures: make test keeps them on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("executors")

SCENARIO = "name: small\nsimulation: {horizon_years: 2, warmup_years: 1, replications: 6}\n"


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=None) as c:
        yield c.scheduler_address


def _invoke(*args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


@pytest.mark.parametrize("command", ["run", "trial", "plan"])
def test_identical_across_executors(tmp_path, cluster, command):
    sc = tmp_path / "small.yaml"
    sc.write_text(SCENARIO)
    files = {"run": ["summary.csv", "replications.csv", "monthly.csv", "jobs.csv", "members.csv"],
             "trial": ["trials.csv", "trial_summary.csv"], "plan": ["plan.csv"]}[command]
    extra = {"run": ["--no-plots", "-q"], "trial": ["--n-per-arm", 10, "--replications", 6],
             "plan": ["--vary", "team.specialists=1..2", "--target", "mean_wait_days<=60", "-q"]}[command]
    outs = {}
    for label, how in (("inline", ["--workers", 1]), ("local", ["--workers", 2]), ("dask", ["--scheduler", cluster])):
        outs[label] = tmp_path / label
        _invoke(command, sc, "--out", outs[label], *how, *extra)
    for name in files:
        ref = (outs["inline"] / name).read_bytes()
        assert (outs["local"] / name).read_bytes() == ref, name
        assert (outs["dask"] / name).read_bytes() == ref, name
