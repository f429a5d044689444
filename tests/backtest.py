"""Stored-output back-test: a small scenario's summary kept in tests/backtest/ and compared exactly.

Any change to the model's numbers shows here first. When a change is deliberate (a recalibration,
a model fix), regenerate on purpose and commit the new file with the reason:

    make backtest        # = python tests/backtest.py --regenerate
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "backtest" / "scenario.yaml"
EXPECTED = HERE / "backtest" / "summary.csv"
REPLICATIONS, SEED = 8, 20261124


def current_summary() -> str:
    """The summary table of the back-test scenario as CSV text, computed now."""
    import io

    from ips_sim.config import load_scenario
    from ips_sim.reporting.tables import summary_table, write_csv
    from ips_sim.runner.experiment import run_replications

    sc = load_scenario(SCENARIO)
    metrics, _ = run_replications(sc, REPLICATIONS, SEED, keep_records=False)
    buf = io.StringIO()
    write_csv(summary_table(metrics), buf)
    return buf.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="write the expected summary anew")
    args = parser.parse_args(argv)
    text = current_summary()
    if args.regenerate:
        EXPECTED.write_text(text, encoding="utf-8")
        print(f"wrote {EXPECTED}")
        return 0
    same = EXPECTED.read_text(encoding="utf-8") == text
    print("back-test: identical" if same else "back-test: DIFFERENT (make backtest to accept a deliberate change)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
