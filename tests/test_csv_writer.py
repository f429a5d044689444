"""The run tables' CSV writer (reporting/tables.py csv_text) writes exactly what pandas' to_csv writes.

The expected text is pandas' own (``to_csv(index=False, float_format="%.6g", lineterminator="\\n")``),
on frames with every kind of column the run tables hold and with the values that need care:
NaN, infinities, -0.0, tiny and huge floats, text with commas, quotes and line breaks, missing text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import make_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from ips_sim.reporting import tables
from ips_sim.reporting.tables import FLOAT_FORMAT, csv_text
from ips_sim.runner.experiment import run_replications


def pandas_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e-300, 123456.5,
                                                                                       1234567.0, 0.0001234, 1e-5]))
texts = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\n\r\té-0.;')), max_size=6))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(rows=st.integers(0, 6), data=st.data())
def test_same_text_as_pandas_on_every_kind_of_column(rows, data):
    df = pd.DataFrame({
        "x": data.draw(st.lists(floats, min_size=rows, max_size=rows)),
        "n": np.array(data.draw(st.lists(st.integers(-10**12, 10**12), min_size=rows, max_size=rows)), dtype=np.int64),
        "flag": np.array(data.draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool),
        "label, with comma": pd.Series(data.draw(st.lists(texts, min_size=rows, max_size=rows)), dtype=object),
    })
    assert csv_text(df) == pandas_text(df)


def test_same_text_as_pandas_on_the_run_tables():
    sc = make_scenario({"simulation.horizon_years": 3, "simulation.warmup_years": 1,
                        "turnover.enabled": True, "turnover.annual_rate": 1.0})
    metrics, records = run_replications(sc, 3, 11, workers=1, keep_records=True)
    monthly = tables.monthly_table(records, sc.start_date)
    frames = [tables.summary_table(metrics, "USD 2024"), tables.replication_table(metrics),
              tables.budget_table(records, sc), monthly, tables.trajectory_table(monthly),
              tables.members_table(records), tables.jobs_table(records)]
    for df in frames:
        assert csv_text(df) == pandas_text(df)
    members = frames[5]
    assert any(isinstance(v, str) for v in members.iloc[0])  # text columns were covered
    assert members.isna().to_numpy().any()  # and missing values


@settings(max_examples=200, deadline=None, derandomize=True)
@given(values=st.lists(st.integers(-3, 40), max_size=40), dtype=st.sampled_from([np.int64, np.int16, np.uint32]))
def test_small_numbers_as_pandas_writes_them(values, dtype):
    """Ids, months and counts (non-negative and fewer than the rows) take the table of number texts."""
    if dtype == np.uint32:
        values = [abs(v) for v in values]
    df = pd.DataFrame({"id": np.array(values, dtype=dtype), "k": np.array(values[::-1], dtype=np.int64)})
    assert csv_text(df) == pandas_text(df)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(months=st.integers(1, 30), data=st.data())
def test_month_counts_are_numpy_histogram(months, data):
    """monthly_table's counts: np.histogram of the finite days over the month edges (the last month closed)."""
    edges = np.arange(months + 1) * 30.4375
    special = st.sampled_from([*edges.tolist(), float("nan"), float("inf"), -float("inf"), -1e-9])
    days = np.array(data.draw(st.lists(st.one_of(st.floats(-40.0, edges[-1] + 40.0), special), max_size=60)),
                    dtype=float)
    expected = np.histogram(days[np.isfinite(days)], bins=edges)[0]
    got = tables._counts(days, edges)
    assert got.dtype == expected.dtype and got.tolist() == expected.tolist()
