"""mkdocs hooks: pages generated from the code at build time, so the site cannot go stale.

- `<!-- scenario-fields -->` in a page becomes the scenario field reference
  (`ips_sim.config.reference_markdown()`, the table `ips-sim fields` prints).
- The calibration plots in calibration/ (written by `ips-sim calibrate`) are published as
  images/calibration/*.png, so pages show the current fit rather than a copy.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = {"images/calibration/calibration_fit.png": REPO / "calibration" / "calibration_fit.png",
             "images/calibration/tenure_survival.png": REPO / "calibration" / "tenure_survival.png",
             "images/calibration/time_course.png": REPO / "calibration" / "time_course.png"}
FIELDS_MARKER = "<!-- scenario-fields -->"


def on_files(files, config):
    for uri, source in PUBLISHED.items():
        files.append(File.generated(config, uri, abs_src_path=str(source)))
    return files


def on_page_markdown(markdown, page, config, files):
    if FIELDS_MARKER in markdown:
        markdown = markdown.replace(FIELDS_MARKER, fields_by_section())
    return markdown


def fields_by_section() -> str:
    """The field reference, one heading and table per section (the rows `ips-sim fields` prints)."""
    from ips_sim.config.reference import field_reference

    out, section = [], None
    for f in field_reference():
        head = f.path.split(".")[0] if "." in f.path else ""
        if head != section:
            section = head
            title = f"## `{section}`" if section else "## Top-level fields"
            out += ["", title, "", "| field | default | unit | allowed | source | note |", "|---|---|---|---|---|---|"]
        field = f'<code class="field">{f.path.replace(".", ".<wbr>")}</code>'  # breaks only after the dot
        cells = [field, f"`{f.default}`", f.unit, f.allowed, f.source, f.note]
        out.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(out) + "\n"


ROLE = re.compile(r":(?:class|func|mod|meth|attr|data|obj):<code>(~?)([\w.]+)</code>")


def on_page_content(html, page, config, files):
    """Docstrings cite code with reST roles (:class:`~ips_sim.config.Scenario`); show them as code."""
    return ROLE.sub(lambda m: f"<code>{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}</code>", html)
