"""The README is a front page: short, the two commands, and links that lead somewhere."""

from __future__ import annotations

import re

from conftest import REPO

README = REPO / "README.md"


def test_readme_is_a_front_page_of_at_most_250_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines: move detail to a page in docs/"


def test_ci_runs_what_the_readme_tells_a_new_user():
    text = README.read_text(encoding="utf-8")
    assert "\nmake run\nmake test\n" in text
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_links_lead_to_files_that_exist():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    local = [link for link in links if "://" not in link]
    assert len(local) >= 10
    for link in local:
        assert (REPO / link).exists(), f"README.md links {link}, which does not exist"


def test_every_docs_page_is_in_the_site_navigation():
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    for page in (REPO / "docs").rglob("*.md"):
        assert page.relative_to(REPO / "docs").as_posix() in nav, f"{page} is not in mkdocs.yml's nav"
