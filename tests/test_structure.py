"""How the code is laid out (the developers' guide): modules small and split by concern, private
methods kept to their own class, SimPy's internals touched only in the kernel, tests that never skip
around conftest.require."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "ips_sim"
MAX_LINES = 600
# SimPy's private state the engine relies on; only ips_sim/sim/kernel.py may touch it (see its docstring).
SIMPY_INTERNALS = {"_queue", "_eid", "_now", "_ok", "_value", "_defused"}
KERNEL = PKG / "sim" / "kernel.py"


def modules() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def test_no_module_over_600_lines():
    long = {str(p.relative_to(REPO)): n for p in modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these by concern (at most {MAX_LINES} lines a module): {long}"


def test_private_methods_are_called_only_on_self():
    """``obj._method()`` on another object reaches into it: give that class a public method instead."""
    found = []
    for p in modules():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                private = f.attr.startswith("_") and not f.attr.startswith("__")
                on_self = isinstance(f.value, ast.Name) and f.value.id in ("self", "cls")
                if private and not on_self and ast.unparse(f) != "os._exit":
                    found.append(f"{p.relative_to(REPO)}:{node.lineno}: {ast.unparse(f)}")
    assert found == []


def test_simpy_internals_only_in_the_kernel():
    found = []
    for p in modules():
        if p == KERNEL:
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in SIMPY_INTERNALS:
                found.append(f"{p.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("simpy."):
                found.append(f"{p.relative_to(REPO)}:{node.lineno}: from {node.module} import ...")
    assert found == []
    kernel = KERNEL.read_text(encoding="utf-8")
    assert all(name in kernel for name in SIMPY_INTERNALS)  # the list above is what the kernel relies on


def test_tests_use_require_not_importorskip():
    """Under CI=true nothing may skip: conftest.require fails there, pytest.importorskip would skip."""
    found = [str(p.relative_to(REPO)) for p in sorted((REPO / "tests").glob("*.py"))
             if p.name != Path(__file__).name and "importorskip" in p.read_text(encoding="utf-8")]
    assert found == []
