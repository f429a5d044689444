"""An interrupted run resumes to exactly the result of an uninterrupted one."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import IPS_SIM, cli_env, make_scenario

from ips_sim.core.errors import UserError
from ips_sim.runner.experiment import run_replications
from ips_sim.runner.resume import Checkpoint, partial_dir
from ips_sim.studies.state import StateError

SHORT = {"simulation.horizon_years": 3, "simulation.warmup_years": 1}


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    sc = make_scenario(SHORT)
    full, _ = run_replications(sc, 12, seed=5)

    key = {"scenario": sc.model_dump(mode="json"), "seed": 5, "replications": 12}
    cp = Checkpoint(tmp_path / "work", key, codec="pickle").open(resume=False)
    seen = []

    def stop_after_two_chunks(n):
        seen.append(n)
        if len(seen) == 2:
            raise Interrupt  # as Ctrl-C would, between chunks

    with pytest.raises(Interrupt):
        run_replications(sc, 12, seed=5, progress=stop_after_two_chunks, checkpoint=cp)
    saved = [i for name in cp.names() for i, _, _ in cp.load(name)]
    assert 0 < len(saved) < 12  # something, not everything, was kept

    ran = []
    resumed, _ = run_replications(sc, 12, seed=5, progress=ran.append,
                                  checkpoint=Checkpoint(tmp_path / "work", key, codec="pickle").open(resume=True))
    assert json.dumps(resumed) == json.dumps(full)  # NaN-safe, exact comparison
    assert ran[0] == len(saved) and sum(ran) == 12  # only the missing replications were simulated


def test_checkpoint_refuses_other_settings(tmp_path):
    sc = make_scenario(SHORT)
    work = tmp_path / "out.partial"
    Checkpoint(work, {"seed": 1, "scenario": sc.model_dump(mode="json")}).open(resume=False)
    assert Checkpoint(work, {"seed": 1, "scenario": sc.model_dump(mode="json")}).matches()
    assert not Checkpoint(work, {"seed": 2, "scenario": sc.model_dump(mode="json")}).matches()


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


# --------------------------------------------------------------------------- the store itself (ips_sim.runner.resume)


def test_store_refuses_saved_work_without_resume_and_another_key(tmp_path):
    work = partial_dir(tmp_path / "out")
    Checkpoint(work, {"seed": 1}, what="sweep").open(resume=False).save("p0000", {"x": 1})
    with pytest.raises(UserError) as exc:  # saved work is never silently thrown away
        Checkpoint(work, {"seed": 1}, what="sweep").open(resume=False)
    assert exc.value.messages == [f"{work}: an unfinished sweep is saved here: add --resume to continue it, "
                                  "or delete the folder to start again"]
    with pytest.raises(StateError) as exc:  # results of different runs are never mixed
        Checkpoint(work, {"seed": 2}, what="state run", settings="state file or seed", error=StateError).open(True)
    assert exc.value.messages == [f"{work}: the unfinished state run saved here has a different state file or "
                                  "seed: --resume needs the same settings, or delete the folder to start again"]
    assert Checkpoint(work, {"seed": 1}).open(resume=True).load("p0000") == {"x": 1}  # same key: resumes


def test_store_save_load_round_trip_and_atomic(tmp_path, monkeypatch):
    import numpy as np

    import ips_sim.runner.output

    units = {"a": [1.5, float("nan"), np.float64(0.1) + np.float64(0.2), np.int64(7)], "b": {"k": [1, 2]}}
    store = Checkpoint(tmp_path / "w.partial", {"k": 1}).open(resume=False)
    for name, value in units.items():
        store.save(name, value)
    a = store.load("a")
    assert a[0] == 1.5 and a[1] != a[1] and a[2] == 0.1 + 0.2 and a[3] == 7  # floats back exactly, NaN kept
    assert store.load("b") == {"k": [1, 2]} and store.load("missing") is None
    assert store.names() == ["a", "b"]
    rich = Checkpoint(tmp_path / "r.partial", {"k": 1}, codec="pickle").open(resume=False)
    rich.save("r0", [(0, {"m": 1.0}, np.arange(3))])
    (i, met, arr), = rich.load("r0")
    assert (i, met, arr.tolist()) == (0, {"m": 1.0}, [0, 1, 2])

    # A write that dies before the rename leaves the saved unit as it was (and only a temporary file).
    def dies(*_):
        raise OSError("disk full")

    monkeypatch.setattr(ips_sim.runner.output.os, "replace", dies)
    with pytest.raises(OSError):
        store.save("b", {"k": "half"})
    monkeypatch.undo()
    assert store.load("b") == {"k": [1, 2]} and store.names() == ["a", "b"]
    (store.units / "c.json").write_text('{"cut sho')  # a unit cut short is run again, never misread
    assert store.load("c") is None


def test_store_cleans_stale_temporaries_hands_over_and_discards(tmp_path):
    work = tmp_path / "out.partial"
    store = Checkpoint(work, {"k": 1}, units="points").open(resume=False)
    store.save("p0000", {"x": 1})
    (store.units / ".p0001.json.tmp").write_text('{"x": ')          # a killed write_bytes
    (store.units / ".p0002.tmp-99999").mkdir()                      # a killed folder write
    (store.units / ".p0002.tmp-99999" / "jobs.csv").write_text("half")
    again = Checkpoint(work, {"k": 1}, units="points").open(resume=True)
    assert sorted(p.name for p in again.units.iterdir()) == ["p0000.json"]
    again.hand_over(tmp_path / "results" / "points")
    assert (tmp_path / "results" / "points" / "p0000.json").read_bytes() == again.path("p0000").read_bytes()
    again.discard()
    assert not work.exists() and (tmp_path / "results" / "points" / "p0000.json").exists()


def test_an_empty_store_folder_resumes_as_a_fresh_start(tmp_path):
    work = tmp_path / "out.partial"
    work.mkdir()
    with pytest.raises(UserError):
        Checkpoint(work, {"k": 1}).open(resume=False)
    assert Checkpoint(work, {"k": 1}).open(resume=True).names() == []
