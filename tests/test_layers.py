"""Layers: import-linter's contracts hold and cover every sub-package; no import cycles inside a layer either
(imports inside functions included), which a layers contract alone does not forbid."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "ips_sim"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Edges between ips_sim modules, and the outside top-level packages each module imports."""
    files = {_module_name(p): p for p in PKG.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in files}
    outside: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    name = ".".join(base + ([node.module] if node.module else []))
                else:
                    name = node.module or ""
                targets = [name] + [f"{name}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                outside[mod].add(t.split(".")[0])
                # A module importing its own package's face (`from ips_sim.ui.cli import interrupt` inside
                # ips_sim/ui/cli/) is not an edge: the sibling it names is.
                if t in files and t not in (mod, "ips_sim") and not mod.startswith(t + "."):
                    edges[mod].add(t)
    return edges, outside


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    edges, _ = import_graph()
    assert _cycles(edges) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def _contracts() -> list[dict]:
    with open(PKG.parent / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def test_every_sub_package_is_a_layer():
    """A new folder under ips_sim/ must take its place in the layers contract, or nothing checks its imports."""
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    folders = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").exists() and p.name != "data")
    assert sorted(layers) == folders


def test_import_contracts_hold():
    """import-linter's contracts (layers point one way; click only in the command line; no plotting or tables
    in the engine) hold; `make test` also runs `lint-imports` on its own."""
    exe = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(exe), "--no-cache"], cwd=PKG.parent, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_no_module_shadows_the_notebook_api():
    """``ips_sim.run``/``compare``/``load`` are functions: a submodule of the same name would replace them
    as soon as anything imported it (the command line imports every command's module)."""
    import ips_sim
    import ips_sim.ui.cli  # noqa: F401 - imports every library module a command needs

    names = {p.stem for p in PKG.glob("*.py")} | {p.name for p in PKG.iterdir() if p.is_dir()}
    assert not names & {"run", "compare", "load"}
    assert callable(ips_sim.compare) and callable(ips_sim.run) and callable(ips_sim.load)
