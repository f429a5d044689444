"""An interrupted run resumes to exactly the result of an uninterrupted one."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import IPS_SIM, cli_env, make_scenario

from ips_sim.experiment import Checkpoint, run_replications

SHORT = {"simulation.horizon_years": 3, "simulation.warmup_years": 1}


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    sc = make_scenario(SHORT)
    full, _ = run_replications(sc, 12, seed=5)

    key = {"scenario": sc.model_dump(mode="json"), "seed": 5, "replications": 12}
    cp = Checkpoint(tmp_path / "work", key)
    cp.start()
    seen = []

    def stop_after_two_chunks(n):
        seen.append(n)
        if len(seen) == 2:
            raise Interrupt  # as Ctrl-C would, between chunks

    with pytest.raises(Interrupt):
        run_replications(sc, 12, seed=5, progress=stop_after_two_chunks, checkpoint=cp)
    saved = cp.load()
    assert 0 < len(saved) < 12  # something, not everything, was kept

    ran = []
    resumed, _ = run_replications(sc, 12, seed=5, progress=ran.append,
                                  checkpoint=Checkpoint(tmp_path / "work", key))
    assert json.dumps(resumed) == json.dumps(full)  # NaN-safe, exact comparison
    assert ran[0] == len(saved) and sum(ran) == 12  # only the missing replications were simulated


def test_checkpoint_refuses_other_settings(tmp_path):
    sc = make_scenario(SHORT)
    Checkpoint(tmp_path, {"seed": 1, "scenario": sc.model_dump(mode="json")}).start()
    assert Checkpoint(tmp_path, {"seed": 1, "scenario": sc.model_dump(mode="json")}).matches()
    assert not Checkpoint(tmp_path, {"seed": 2, "scenario": sc.model_dump(mode="json")}).matches()


def test_cli_refuses_to_overwrite_an_unfinished_run_without_resume(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nsimulation: {horizon_years: 2, warmup_years: 1}\n")
    out = tmp_path / "out"
    (tmp_path / "out.partial").mkdir()
    r = subprocess.run([str(IPS_SIM), "run", str(scenario), "-n", "2", "--out", str(out), "-q"],
                       capture_output=True, text=True, env=cli_env())
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "--resume" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
    # With --resume, a run that finds nothing saved simply runs, and cleans up after itself.
    r = subprocess.run([str(IPS_SIM), "run", str(scenario), "-n", "2", "--out", str(out), "-q", "--no-plots",
                        "--resume"], capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr
    assert (out / "summary.csv").exists() and not (tmp_path / "out.partial").exists()
