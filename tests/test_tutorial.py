"""docs/tutorial.md is executed: every ```python block, in order, in one namespace.

The blocks run in a temporary folder (with the repository's scenarios/ linked in),
so the files the tutorial writes (a PNG, an HTML animation) land there. Links to code
must name functions and classes that exist, so the tutorial cannot point at code
that has moved (the site's strict build checks them too: each is documented in the
model internals reference).
"""

from __future__ import annotations

import importlib
import re

import matplotlib
import pytest
from conftest import REPO

TUTORIAL = REPO / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# Links to code are mkdocstrings cross-references: [`name`][ips_sim.module.object].
CODE_LINK = re.compile(r"\[`[\w.]+`\]\[(ips_sim\.[\w.]+)\]")


def test_tutorial_python_blocks_run(tmp_path, monkeypatch):
    blocks = BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 10, "the tutorial lost its code"
    (tmp_path / "scenarios").symlink_to(REPO / "scenarios")
    monkeypatch.chdir(tmp_path)
    matplotlib.use("Agg")
    namespace: dict = {"__name__": "tutorial"}
    for k, code in enumerate(blocks, start=1):
        try:
            exec(compile(code, f"{TUTORIAL.name} block {k}", "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - report which block failed
            pytest.fail(f"docs/tutorial.md python block {k} failed: {type(exc).__name__}: {exc}\n{code}")
    assert (tmp_path / "caseload_cap.png").stat().st_size > 10_000
    assert "plotly" in (tmp_path / "animation.html").read_text(encoding="utf-8")[:5000].lower()


def test_tutorial_links_to_code_that_exists():
    links = CODE_LINK.findall(TUTORIAL.read_text(encoding="utf-8"))
    assert len(links) >= 5
    for target in links:
        module, _, name = target.rpartition(".")
        obj = importlib.import_module(module)
        assert hasattr(obj, name), f"docs/tutorial.md links {target}, which does not exist"
