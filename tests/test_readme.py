"""The README's field reference is the one the code generates, so it cannot drift."""

from __future__ import annotations

from conftest import REPO

from ips_sim.config import reference_markdown


def test_readme_field_reference_matches_the_schema_and_defaults_table():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("<!-- fields:start -->") + len("<!-- fields:start -->")
    end = text.index("<!-- fields:end -->")
    assert text[start:end].strip() == reference_markdown().strip(), (
        "README field reference is stale: regenerate it with `ips-sim fields`"
    )


def test_ci_runs_what_the_readme_tells_a_new_user():
    assert "make test" in (REPO / "README.md").read_text(encoding="utf-8")
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
