"""The stored-output back-test (see tests/backtest.py): the model's numbers change only on purpose."""

from backtest import EXPECTED, current_summary


def test_summary_identical_to_the_stored_one():
    assert current_summary() == EXPECTED.read_text(encoding="utf-8"), \
        "the model's output changed: if deliberate, run `make backtest` and commit tests/backtest/summary.csv"
