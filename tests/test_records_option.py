"""`run --records`: record tables for all, none or the first N replications; the summary always covers all."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from ips_sim.ui.cli import main

SCENARIO = "name: small\nsimulation: {horizon_years: 2, warmup_years: 1}\n"


def _run(tmp_path, records):
    sc = tmp_path / "s.yaml"
    sc.write_text(SCENARIO)
    out = tmp_path / f"out_{records}"
    res = CliRunner().invoke(main, ["run", str(sc), "-n", "6", "--no-plots", "-q", "--out", str(out),
                                    "--records", records])
    return res, out


def test_first_n_replications_records(tmp_path):
    res, out = _run(tmp_path, "2")
    assert res.exit_code == 0, res.output
    assert sorted(pd.read_csv(out / "members.csv")["replication"].unique()) == [0, 1]
    assert len(pd.read_csv(out / "replications.csv")) == 6
    res_all, out_all = _run(tmp_path, "all")
    assert (out / "summary.csv").read_bytes() == (out_all / "summary.csv").read_bytes()


def test_no_records(tmp_path):
    res, out = _run(tmp_path, "none")
    assert res.exit_code == 0, res.output
    assert not (out / "members.csv").exists() and (out / "summary.csv").exists()


def test_bad_records_value(tmp_path):
    res, _ = _run(tmp_path, "some")
    assert res.exit_code == 2 and res.output.strip().startswith("--records: 'some'")
