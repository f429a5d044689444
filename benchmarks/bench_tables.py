"""Tables of `ips-sim run`: time to build and write each, and three CSV writers compared.

Runs the default scenario (150 replications, one worker, records kept), then per table:
rows, CPU time to build it, and CPU time to write it with pandas' ``to_csv`` (the text
ips-sim's tables must keep), with ips-sim's column-at-a-time writer
(``reporting.tables.csv_text``) and with pyarrow's CSV writer (floats formatted ``%.6g``
first, since pyarrow writes the shortest text of a float instead), and whether each gives
pandas' exact text. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_tables.py [--replications 150]
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from ips_sim.analysis.fidelity import fidelity_table
from ips_sim.config import load_scenario
from ips_sim.reporting import tables
from ips_sim.runner.experiment import run_replications

ROOT = Path(__file__).resolve().parent.parent


def pandas_text(df) -> str:
    return df.to_csv(index=False, float_format=tables.FLOAT_FORMAT, lineterminator="\n")


def pyarrow_text(df) -> str | None:
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    cols = {}
    for i, c in enumerate(df.columns):
        text = tables._column_text(df[c])
        if text is None:
            return None
        cols[f"c{i}"] = pa.array(text, type=pa.string())
    buf = io.BytesIO()
    buf.write((",".join(tables._field(c) for c in df.columns) + "\n").encode())
    pacsv.write_csv(pa.table(cols), buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return buf.getvalue().decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "two_specialists_38_members.yaml"))
    ap.add_argument("--replications", type=int, default=150)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    n = args.replications
    clock = time.process_time
    t = clock()
    metrics, records = run_replications(sc, n, sc.simulation.seed, workers=1, keep_records=True)
    print(f"{sc.name}: {n} replications, simulation + metrics {(clock() - t) / n * 1000:.1f} ms per replication")
    build = {
        "summary": lambda: tables.summary_table(metrics, "USD"),
        "replications": lambda: tables.replication_table(metrics),
        "budget": lambda: tables.budget_table(records, sc),
        "monthly": lambda: tables.monthly_table(records, sc.start_date),
        "members": lambda: tables.members_table(records),
        "jobs": lambda: tables.jobs_table(records),
        "fidelity": lambda: fidelity_table(records, sc),
    }
    totals = {"build": 0.0, "pandas": 0.0, "ips-sim": 0.0, "pyarrow": 0.0}
    print(f"{'table':13s} {'rows':>7s} {'build':>8s} {'pandas':>8s} {'ips-sim':>8s} {'pyarrow':>8s}  (ms; same text)")
    for name, make in build.items():
        t = clock()
        df = make()
        b = clock() - t
        times, same = {}, {}
        t = clock()
        expected = pandas_text(df)
        times["pandas"] = clock() - t
        for writer, f in (("ips-sim", tables.csv_text), ("pyarrow", pyarrow_text)):
            t = clock()
            text = f(df)
            times[writer] = clock() - t
            same[writer] = text == expected
        totals["build"] += b
        for k, v in times.items():
            totals[k] += v
        print(f"{name:13s} {len(df):7d} {b * 1000:8.1f} {times['pandas'] * 1000:8.1f} {times['ips-sim'] * 1000:8.1f} "
              f"{times['pyarrow'] * 1000:8.1f}  ips-sim {same['ips-sim']}, pyarrow {same['pyarrow']}")
    print("per replication: " + ", ".join(f"{k} {v / n * 1000:.2f} ms" for k, v in totals.items()))


if __name__ == "__main__":
    main()
