"""Calendar helpers: simulation months and calendar dates (day 0 is ``start.date``)."""

from __future__ import annotations

import datetime as dt

from ips_sim.config.fields import DAYS_PER_MONTH

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

def months_between(a: dt.date, b: dt.date) -> float:
    """Calendar months from date ``a`` to date ``b`` (whole months between the same day of month are exact)."""
    return 12 * (b.year - a.year) + (b.month - a.month) + (b.day - a.day) / DAYS_PER_MONTH


def add_months(d: dt.date, k: int) -> dt.date:
    """The date ``k`` calendar months after ``d`` (day clipped to the month's length)."""
    y, m = divmod(d.month - 1 + k, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(d.day, day))
        except ValueError:
            continue
    raise ValueError(d)  # pragma: no cover
