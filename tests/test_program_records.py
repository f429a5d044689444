"""A program's quarterly reports: the template reads, and every kind of bad record is one line naming file,
row and column (the command line's exit 2 and empty output folder are checked in test_fit_program.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO

from ips_sim.config.program_records import FIELDS, field_reference_markdown, quarter_after, read_program_records
from ips_sim.core.errors import UserError

HEAD = "quarter,people_served,people_working"


def _rows(n=6, first=2023, served=40, working=16, extra=""):
    return "".join(f"{first + k // 4}Q{k % 4 + 1},{served},{working}{extra}\n" for k in range(n))


def test_template_reads_with_every_column():
    rec = read_program_records(REPO / "scenarios" / "program_records_template.csv")
    assert rec.label == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert set(rec.values) == set(FIELDS) - {"quarter"} - {k for k in FIELDS if k.startswith("closures_")}
    assert rec.values["specialist_fte"].tolist() == [2.0, 2.0, 1.0, 2.0]
    assert math.isnan(rec.values["fidelity_score"][1])       # a quarter without a review


def test_quarter_start_dates_rows_out_of_order_and_comments(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("# a comment\nquarter_start,people_served,people_working,notes\n"
                 "2024-04-01,30,10,x\n\n2024-01-01,31,11,y\n2024-07-01,32,12,\n2024-10-01,33,13,\n")
    rec = read_program_records(p)
    assert rec.label == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert rec.values["people_served"].tolist() == [31, 30, 32, 33]
    assert any("columns ignored: notes" in n for n in rec.notes)
    assert quarter_after(rec.quarters[-1]).isoformat() == "2025-01-01"


def test_closure_reasons_add_up_to_closures(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(HEAD + ",closures_disengaged,closures_stepped_down\n" + _rows(extra=",2,3"))
    assert read_program_records(p).values["closures"].tolist() == [5.0] * 6


BAD = {
    "working more than served": (HEAD + "\n" + _rows(3) + "2023Q4,20,21\n" + _rows(2, 2024),
                                 "row 5, column people_working: 21", "more people working than people served"),
    "negative count": (HEAD + "\n" + _rows(2) + "2023Q3,-4,0\n" + _rows(3, 2024),
                       "row 4, column people_served: '-4'", "negative"),
    "non-integer count": (HEAD + "\n" + _rows(2) + "2023Q3,40,12.5\n" + _rows(3, 2024),
                          "row 4, column people_working: '12.5'", "not a whole number"),
    "text in a count": (HEAD + "\n" + _rows(2) + "2023Q3,forty,12\n" + _rows(3, 2024),
                        "row 4, column people_served: 'forty'", "not a number"),
    "duplicate quarter": (HEAD + "\n" + _rows(6) + "2023Q2,40,16\n",
                          "row 8, column quarter: '2023Q2'", "already given in row 3"),
    "missing quarter": (HEAD + "\n" + _rows(2) + _rows(3, 2024),
                        "column quarter: quarters missing between 2023Q2 and 2024Q1", "2023Q3, 2023Q4"),
    "fewer than 4 quarters": (HEAD + "\n" + _rows(3), "(file): 3 quarters", "at least 4"),
    "fte 0 with people served": (HEAD + ",specialist_fte\n" + _rows(3, extra=",1.0") + "2023Q4,40,16,0\n"
                                 + _rows(2, 2024, extra=",1.0"), "row 5, column specialist_fte: 0",
                                 "no specialist in post"),
    "bad quarter": (HEAD + "\n" + _rows(4) + "Q1 2024,40,16\n", "row 6, column quarter: 'Q1 2024'",
                    "2025Q1"),
    "quarter_start not a quarter's first day": ("quarter_start,people_served,people_working\n"
                                                "2024-02-01,1,1\n2024-04-01,1,1\n2024-07-01,1,1\n2024-10-01,1,1\n",
                                                "row 2, column quarter_start: '2024-02-01'", "first day of a quarter"),
    "missing column": ("quarter,people_served\n" + _rows(4).replace(",16", ""),
                       "row 1: (header): missing column people_working", "competitive job"),
    "blank optional cell": (HEAD + ",job_starts\n" + _rows(3, extra=",4") + "2023Q4,40,16,\n",
                            "row 5, column job_starts: empty", "leave the column out"),
    "enrollments more than served": (HEAD + ",enrollments\n" + _rows(3, extra=",4") + "2023Q4,10,2,12\n",
                                     "row 5, column enrollments: 12", "more new enrollments than people served"),
    "fidelity out of range": (HEAD + ",fidelity_score\n" + _rows(3, extra=",") + "2023Q4,40,16,130\n",
                              "row 5, column fidelity_score: '130'", "between 25 and 125"),
    "empty file": ("", "(file): empty", "people_working"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_records_are_one_line_naming_file_row_and_column(tmp_path, case):
    text, where, what = BAD[case]
    p = tmp_path / "reports.csv"
    p.write_text(text)
    with pytest.raises(UserError) as e:
        read_program_records(p)
    lines = e.value.messages
    assert len(lines) == 1, lines
    assert lines[0].startswith(str(p)) and where in lines[0] and what in lines[0], lines[0]


def test_several_problems_are_each_reported():
    # Every problem of the file at once, one line each (the user fixes them in one pass).
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "r.csv"
        p.write_text(HEAD + "\n2023Q1,10,11\n2023Q2,-1,0\n2023Q3,5,2\n2023Q4,5,2\n")
        with pytest.raises(UserError) as e:
            read_program_records(p)
    assert [m.split(": ")[1] for m in e.value.messages] == ["row 2, column people_working", "row 3, column people_served"]


def test_field_reference_lists_every_column():
    text = field_reference_markdown()
    for name in FIELDS:
        assert f"`{name}`" in text
    assert np.all([line.count("|") == 4 for line in text.splitlines()])
