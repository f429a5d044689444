"""A program's quarterly outcome reports (the IPS learning community's fields), read and checked.

``ips-sim fit-program REPORTS.csv`` learns a program from the records it already keeps:
one row per quarter with the people served (on the caseload at any time in the quarter)
and the people working in a competitive job during the quarter, and, when the program
has them, new job starts, new enrollments, referrals, closures (by reason), people
waiting at quarter end, specialist FTE in post and the fidelity review total. The field
reference is ``FIELDS`` (shown by ``docs/program_fit.md``); the template is
``scenarios/program_records_template.csv``. Every problem is one line of a
:class:`~ips_sim.core.errors.UserError` naming the file, row and column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ips_sim.core.echo import shown
from ips_sim.core.errors import UserError
from ips_sim.core.paths import read_csv_rows

MIN_QUARTERS = 4          # fewer cannot separate job finding from job ending
MAX_QUARTERS = 400        # a hundred years of reports
MAX_COUNT = 100_000       # people in a quarter (a program, not a state)
CLOSURE_REASONS = ("disengaged", "stepped_down", "discharged_no_job", "other")

# column -> (required, kind, what it is). Counts are whole numbers >= 0.
FIELDS: dict[str, tuple[bool, str, str]] = {
    "quarter": (True, "quarter", "the quarter: 2025Q1, 2025-Q1, or its start date 2025-01-01 (column quarter_start)"),
    "people_served": (True, "count", "people on the caseload at any time during the quarter (enrolled, "
                                     "receiving IPS; not those waiting)"),
    "people_working": (True, "count", "people on the caseload who worked in a competitive job at any time "
                                      "during the quarter (at most people_served)"),
    "job_starts": (False, "count", "competitive jobs started during the quarter by people on the caseload"),
    "enrollments": (False, "count", "people newly enrolled (admitted to the caseload) during the quarter"),
    "referrals": (False, "count", "people referred to the program during the quarter (used as the program's "
                                  "referral history; without it the referral level is fitted)"),
    "closures": (False, "count", "people who left the caseload during the quarter, any reason (or give the "
                                 "closures_<reason> columns: their sum)"),
    **{f"closures_{r}": (False, "count", f"closures for reason {r.replace('_', ' ')}") for r in CLOSURE_REASONS},
    "waiting": (False, "count", "people referred and waiting for a place at the end of the quarter"),
    "specialist_fte": (False, "fte", "specialist FTE in post, averaged over the quarter (vacant posts count 0); "
                                     "quarters below the program's largest FTE are simulated with posts vacant"),
    "fidelity_score": (False, "fidelity", "IPS fidelity review total (25 items scored 1-5: 25 to 125), blank "
                                          "in quarters without a review; kept with the fit, not fitted"),
}
QUARTER_COLUMNS = ("quarter", "quarter_start")


@dataclass
class ProgramRecords:
    """The program's quarterly reports in quarter order: ``values[column]`` is an array per column given."""

    source: str
    quarters: list[dt.date]                 # first day of each quarter
    values: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.quarters)

    def has(self, column: str) -> bool:
        return column in self.values

    def head(self, k: int) -> "ProgramRecords":
        """The first ``k`` quarters (a hold-out fit sees these)."""
        return ProgramRecords(self.source, self.quarters[:k], {c: v[:k] for c, v in self.values.items()},
                              list(self.notes))

    @property
    def label(self) -> list[str]:
        return [quarter_label(q) for q in self.quarters]


def quarter_label(q: dt.date) -> str:
    return f"{q.year}Q{(q.month - 1) // 3 + 1}"


def quarter_after(q: dt.date, k: int = 1) -> dt.date:
    """First day of the quarter ``k`` quarters after ``q``."""
    n = q.year * 4 + (q.month - 1) // 3 + k
    return dt.date(n // 4, 3 * (n % 4) + 1, 1)


def _parse_quarter(text: str, column: str) -> dt.date | None:
    text = text.strip()
    m = re.fullmatch(r"(\d{4})\s*-?\s*[Qq]([1-4])", text)
    if m and column == "quarter":
        return dt.date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
    try:
        d = dt.date.fromisoformat(text)
    except ValueError:
        return None
    if d.day != 1 or (d.month - 1) % 3:
        return None
    return d


def _value(text: str, kind: str) -> tuple[float | None, str | None]:
    """The cell as a number, or the reason it is not allowed."""
    try:
        x = float(text)
    except ValueError:
        return None, "not a number"
    if not math.isfinite(x):
        return None, "not a finite number"
    if kind == "count":
        if x < 0:
            return None, "negative: counts are whole numbers >= 0"
        if x != int(x):
            return None, "not a whole number: counts are whole numbers >= 0"
        if x > MAX_COUNT:
            return None, f"above {MAX_COUNT:,}: a count of people in one program's quarter"
    elif kind == "fte":
        if not 0 <= x <= 1000:
            return None, "specialist FTE must be between 0 and 1000"
    elif kind == "fidelity" and not 25 <= x <= 125:
        return None, "the IPS fidelity total is between 25 and 125 (25 items scored 1-5)"
    return x, None


def read_program_records(path: str | Path) -> ProgramRecords:
    """Read and check a program's quarterly reports; every problem is one line (file, row, column)."""
    path = Path(path)
    src = str(path)
    rows = read_csv_rows(path, "give a CSV of quarterly reports (see scenarios/program_records_template.csv)",
                         skip_blank=False)
    # Row numbers are the file's line numbers; blank lines and '#' comment lines are skipped.
    numbered = [(k, r) for k, r in enumerate(rows, start=1)
                if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not numbered:
        raise UserError([f"{src}: (file): empty: expected a header with columns quarter, people_served and "
                         f"people_working"])
    head_row, header_cells = numbered[0]
    header = [h.strip().lower() for h in header_cells]
    errors, notes = [], []
    qcols = [c for c in QUARTER_COLUMNS if c in header]
    if not qcols:
        errors.append(f"{src}: row {head_row}: (header): missing column quarter (2025Q1) or quarter_start "
                      f"(2025-01-01)")
    elif len(qcols) == 2:
        errors.append(f"{src}: row {head_row}: (header): both quarter and quarter_start given: keep one of them")
    for name in ("people_served", "people_working"):
        if name not in header:
            errors.append(f"{src}: row {head_row}: (header): missing column {name} ({FIELDS[name][2]})")
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    for h in dupes:
        errors.append(f"{src}: row {head_row}: (header): column {h} given twice")
    if errors:
        raise UserError(errors)
    known = [h for h in header if h in FIELDS and h != "quarter"]
    ignored = [h for h in header if h not in FIELDS and h not in QUARTER_COLUMNS]
    if ignored:
        notes.append(f"note: {src}: columns ignored: {', '.join(ignored)}")
    qcol = qcols[0]
    qidx = header.index(qcol)
    seen: dict[dt.date, int] = {}
    quarters: list[dt.date] = []
    cells: dict[str, list[float]] = {c: [] for c in known}
    rownums: list[int] = []
    for row, line in numbered[1:]:
        t = line[qidx].strip() if qidx < len(line) else ""
        q = _parse_quarter(t, qcol)
        if q is None:
            allowed = ("a quarter such as 2025Q1 or 2025-Q1 (or an ISO date on a quarter's first day)"
                       if qcol == "quarter" else "the first day of a quarter, YYYY-01-01, -04-01, -07-01 or -10-01")
            errors.append(f"{src}: row {row}, column {qcol}: {shown(t)}: expected {allowed}")
        elif q in seen:
            errors.append(f"{src}: row {row}, column {qcol}: {shown(t)}: quarter {quarter_label(q)} already given "
                          f"in row {seen[q]}: one row per quarter")
        else:
            seen[q] = row
        values = {}
        for c in known:
            k = header.index(c)
            text = line[k].strip() if k < len(line) else ""
            if text == "" and FIELDS[c][1] == "fidelity":
                values[c] = math.nan          # reviews are yearly or less: quarters without one are blank
                continue
            if text == "":
                errors.append(f"{src}: row {row}, column {c}: empty: give a value for every quarter, or leave the "
                              f"column out")
                continue
            x, why = _value(text, FIELDS[c][1])
            if why:
                errors.append(f"{src}: row {row}, column {c}: {shown(text)}: {why}")
            else:
                values[c] = x
        errors += _row_checks(src, row, values)
        if q is not None and q not in quarters and len(values) == len(known):
            quarters.append(q)
            rownums.append(row)
            for c in known:
                cells[c].append(values[c])
    if errors:
        raise UserError(errors)
    order = np.argsort([q.toordinal() for q in quarters])
    quarters = [quarters[k] for k in order]
    values = {c: np.array(v, dtype=float)[order] for c, v in cells.items()}
    for a, b in zip(quarters, quarters[1:]):
        if quarter_after(a) != b:
            gap = []
            q = quarter_after(a)
            while q < b and len(gap) < 4:
                gap.append(quarter_label(q))
                q = quarter_after(q)
            errors.append(f"{src}: column {qcol}: quarters missing between {quarter_label(a)} and "
                          f"{quarter_label(b)} ({', '.join(gap)}{'...' if q < b else ''}): one row for every "
                          f"quarter (zero counts are fine)")
    if len(quarters) < MIN_QUARTERS:
        errors.append(f"{src}: (file): {len(quarters)} quarters of reports: at least {MIN_QUARTERS} are needed to "
                      f"tell job finding from job ending")
    elif len(quarters) > MAX_QUARTERS:
        errors.append(f"{src}: (file): {len(quarters)} quarters: at most {MAX_QUARTERS}")
    if errors:
        raise UserError(errors)
    reasons = [f"closures_{r}" for r in CLOSURE_REASONS if f"closures_{r}" in values]
    if reasons:
        total = sum(values[c] for c in reasons)
        if "closures" in values:
            bad = np.flatnonzero(values["closures"] != total)
            if len(bad) and len(reasons) == len(CLOSURE_REASONS):
                k = int(bad[0])
                raise UserError([f"{src}: row {rownums[order[k]]}, column closures: {values['closures'][k]:g}: not "
                                 f"the sum of the closures_<reason> columns ({total[k]:g})"])
        else:
            values["closures"] = total
            notes.append(f"note: {src}: closures = {' + '.join(reasons)}")
    return ProgramRecords(src, quarters, values, notes)


def _row_checks(src: str, row: int, v: dict[str, float]) -> list[str]:
    """Counts that cannot all be true of one quarter."""
    out = []
    served = v.get("people_served")
    if served is None:
        return out
    for c, what in (("people_working", "people working"), ("enrollments", "new enrollments"),
                    ("closures", "closures")):
        if c in v and v[c] > served:
            out.append(f"{src}: row {row}, column {c}: {v[c]:g}: more {what} than people served ({served:g}): "
                       f"{what} are among the people served in the quarter")
    reasons = sum(v.get(f"closures_{r}", 0.0) for r in CLOSURE_REASONS)
    if reasons > served:
        out.append(f"{src}: row {row}, column closures_{CLOSURE_REASONS[0]}: closures by reason add up to "
                   f"{reasons:g}, more than people served ({served:g})")
    if v.get("specialist_fte") == 0 and served > 0:
        out.append(f"{src}: row {row}, column specialist_fte: 0: no specialist in post but {served:g} people "
                   f"served: give the FTE in post (a post vacant for part of the quarter counts its filled share)")
    return out


def field_reference_markdown() -> str:
    """The columns as a Markdown table (docs/program_fit.md)."""
    lines = ["| column | required | what it is |", "|---|---|---|"]
    lines.append("| `quarter` or `quarter_start` | yes | " + FIELDS["quarter"][2] + " |")
    for name, (required, _, what) in FIELDS.items():
        if name != "quarter":
            lines.append(f"| `{name}` | {'yes' if required else 'no'} | {what} |")
    return "\n".join(lines)
