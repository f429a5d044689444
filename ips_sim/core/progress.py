"""A progress bar for long work: replications done, rate and ETA on stderr.

Silent when stderr is not a terminal or when asked to be quiet, so logs and
tests see only results.
"""

from __future__ import annotations

import sys


class Progress:
    """Call with the number of units just finished; ``close()`` when done."""

    def __init__(self, total: int, label: str, quiet: bool = False, unit: str = "rep"):
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False)

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
