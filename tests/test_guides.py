"""Every command shown in the documentation runs, and prints what the page shows.

The pages' ```console blocks are run by tests/guide_blocks.py (format and the few
normalisations explained there), each page in a fresh temporary folder. When the model's
numbers change on purpose, `make docs-output` rewrites the shown outputs; a difference
here otherwise means a page tells a reader something the program no longer prints.
"""

from __future__ import annotations

import re

import guide_blocks
import pytest
from conftest import REPO

PAGES = guide_blocks.pages()


def test_the_guides_show_commands():
    names = {p.relative_to(REPO).as_posix() for p in PAGES}
    for guide in ("county_planner", "funder", "student", "state"):
        assert f"docs/guides/{guide}.md" in names, f"docs/guides/{guide}.md shows no command"


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_page_commands_print_what_the_page_shows(page, tmp_path):
    results = guide_blocks.run_page(page, tmp_path)
    problems = guide_blocks.differences(page, results)
    assert not problems, (
        "\n\n".join(problems) + "\n\nIf the model's numbers changed on purpose: make docs-output"
    )
    for command, output in results:
        assert "Traceback" not in output, f"{page.name}:{command.line}: {command.text}"


def test_parse_and_compare_on_a_made_up_page():
    page = "```console\n$ echo a \\\n  b\nin 1.5 s -> out  \n$ true\n```\n"
    (block,) = guide_blocks.parse(page)
    assert [c.text for c in block.commands] == ["echo a \\\n  b", "true"]
    assert [c.shown for c in block.commands] == ["in 1.5 s -> out  ", ""]
    assert guide_blocks.comparable("in 1.5 s -> out  ") == guide_blocks.comparable("in 12 s -> out")
    assert guide_blocks.comparable("3 people") != guide_blocks.comparable("4 people")


def test_readme_commands_are_run_in_a_page():
    """The README shows commands without output (```sh); each must be run in some page."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = {c.text for p in PAGES for b in guide_blocks.parse(p.read_text(encoding="utf-8")) for c in b.commands}
    commands = re.findall(r"^(ips-sim (?:.*\\\n)*.*)$", readme, re.M)
    assert commands, "the README shows no ips-sim command"
    for command in commands:
        assert command in shown, f"README command not run in any docs page: {command}"
