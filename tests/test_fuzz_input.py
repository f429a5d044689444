"""Standing fuzz test of scenario input: hostile and extreme files never crash, hang or write elsewhere.

A seeded generator writes at least 1,000 scenario files per run, mixing valid
extremes (every numeric field at its bounds) with invalid input: duplicate
keys, booleans for numbers, YAML tags, aliases and alias bombs, deep nesting,
path-like and overlong names, names derived from odd file names, non-finite
and huge numbers, unknown fields, syntax errors, binary bytes. Each file goes
through ``ips-sim run`` in process (click's CliRunner) with one replication of
a short horizon, and must either run to completion (exit 0, results in the
requested folder) or be refused (exit 2, one bounded line per problem naming
the file). Zero tracebacks, zero hangs (a per-case time limit), nothing
written outside the requested folders.

To keep it fast, the work limit is lowered for this test, so an extreme that
would simulate for long is refused by the work estimate (exit 2 with the
estimate) -- which is itself one of the behaviours under test.

Each case has its own generator seeded with (seed, case number), so the cases are the same
whatever the split over the two worker processes. Reproduce a failure with
``IPS_SIM_FUZZ_SEED=<seed printed> pytest tests/test_fuzz_input.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import yaml
from click.testing import CliRunner

from ips_sim.config import Scenario, workload
from ips_sim.core.errors import MAX_LINE
from ips_sim.ui.cli import main

SEED = int(os.environ.get("IPS_SIM_FUZZ_SEED", "20261124"))
CASES = int(os.environ.get("IPS_SIM_FUZZ_CASES", "1000"))
CASE_SECONDS = 20          # per-case time limit: a case still running after this is a hang
TINY = {"simulation": {"horizon_years": 0.1, "warmup_years": 0.0, "replications": 1}}


class Hang(Exception):
    pass


def _numeric_fields() -> list[tuple[str, object, float | None, float | None, bool]]:
    """(dotted path, type, lower, upper, lower is strict) of every numeric scenario field."""
    out = []
    for section, f in Scenario.model_fields.items():
        model = f.annotation
        if not (isinstance(model, type) and hasattr(model, "model_fields")):
            continue
        for name, g in model.model_fields.items():
            ann = g.annotation
            kinds = [a for a in (getattr(ann, "__args__", None) or (ann,)) if a in (int, float)]
            if not kinds:
                continue
            lo = hi = None
            strict = False
            for m in g.metadata:
                if getattr(m, "ge", None) is not None:
                    lo = m.ge
                if getattr(m, "gt", None) is not None:
                    lo, strict = m.gt, True
                if getattr(m, "le", None) is not None:
                    hi = m.le
            out.append((f"{section}.{name}", kinds[0], lo, hi, strict))
    return out


NUMERIC = _numeric_fields()
NAMES_BAD = [".", "..", "../escape", "/etc", "a/b", "a\\b", "x" * 101, "é" * 150, "-rf", ".hidden", "x.partial",
             "tab\there", "new\nline", "nul\x00byte", "", "a b", "a:b", "CON/x", "\x1b[31mred", "../../../../tmp/x"]
NAMES_GOOD = ["ok", "café", "team_3", "a.b-c", "Ω_team", "x" * 100]
STEMS = ["my scenario", "café", "a+b", ".", "..", "-x", "x.partial", "日本語", "a" * 120, "semi;colon", "q'uote",
         "sp ace", "$(echo hi)", "%s%n", "CON"]
BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")))


def _set(doc: dict, path: str, value) -> None:
    node = doc
    keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value


def _extreme(rng: random.Random, doc: dict) -> str:
    path, kind, lo, hi, strict = rng.choice(NUMERIC)
    if path.startswith("simulation.") and path != "simulation.seed":
        return "extreme-skipped"
    choice = rng.random()
    if choice < 0.4 and lo is not None:
        v = lo + (1 if kind is int else 1e-9) * strict
    elif choice < 0.8 and hi is not None:
        v = hi
    else:
        v = rng.uniform(lo if lo is not None else 0, hi if hi is not None else 1e6)
        v = int(v) if kind is int else v
    _set(doc, path, v)
    return "valid extreme"


def _invalid_value(rng: random.Random, doc: dict) -> str:
    path, kind, lo, hi, _ = rng.choice(NUMERIC)
    value, label = rng.choice([
        (True, "boolean"), (False, "boolean"), ("yes", "yes"), (float("nan"), "nan"), (float("inf"), "inf"),
        (-float("inf"), "-inf"), ("1e999", "overflow text"), (10 ** 80, "huge integer"), ("two", "text"),
        ([1, 2], "list"), ({"a": 1}, "mapping"), (None, "null"),
        ((hi * 10 + 1) if hi is not None else -1, "over the bound"), ((lo - 1) if lo is not None else -1, "under"),
        (list(range(rng.choice([10, 1000, 5000]))), "long list"), ("x" * rng.choice([300, 20000]), "long text"),
    ])
    _set(doc, path, value)
    return label


def _text_mutation(rng: random.Random, text: str) -> tuple[str, str]:
    kind = rng.choice(["duplicate", "duplicate_nested", "tag_binary", "tag_python", "tag_custom", "tag_str",
                       "alias_ok", "alias_bomb", "alias_recursive", "deep_flow", "deep_block", "syntax", "tab",
                       "two_docs", "top_list", "top_scalar", "empty", "nul", "bigint", "unknown_key",
                       "merge_key", "octal", "sexagesimal", "date", "bom", "long_key", "control_chars"])
    if kind == "duplicate":
        return text + "team:\n  specialists: 1\n", kind
    if kind == "duplicate_nested":
        return text + "referrals:\n  rate_per_month: 2\n  rate_per_month: 3\n", kind
    if kind == "tag_binary":
        return text + "description: !!binary aGVsbG8=\n", kind
    if kind == "tag_python":
        return text + "description: !!python/object/apply:os.system ['echo pwned']\n", kind
    if kind == "tag_custom":
        return text + "team: !include other.yaml\n", kind
    if kind == "tag_str":
        return text + "description: !!str 5\n", kind
    if kind == "alias_ok":
        return text + "x_anchor: &h 3\nteam:\n  specialists: *h\n", kind
    if kind == "alias_bomb":
        return BOMB, kind
    if kind == "alias_recursive":
        return text + "referrals:\n  schedule: &s [*s]\n", kind
    if kind == "deep_flow":
        n = rng.choice([50, 2000, 20000])
        return text + "description: " + "[" * n + "]" * n + "\n", kind
    if kind == "deep_block":
        n = rng.choice([45, 500])
        return text + "".join("  " * i + f"k{i}:\n" for i in range(n)) + "  " * n + "v\n", kind
    if kind == "syntax":
        return text + "team: {specialists: [1, 2\n", kind
    if kind == "tab":
        return text + "team:\n\tspecialists: 2\n", kind
    if kind == "two_docs":
        return text + "---\nteam: {}\n", kind
    if kind == "top_list":
        return "- 1\n- 2\n", kind
    if kind == "top_scalar":
        return rng.choice(["just text\n", "42\n", "root:x:0:0:root:/root:/bin/bash\n" * 50]), kind
    if kind == "empty":
        return rng.choice(["", "# nothing\n", "~\n"]), kind
    if kind == "nul":
        return text + "description: a\x00b\n", kind
    if kind == "bigint":
        return text + "simulation:\n  seed: " + "9" * rng.choice([30, 5000]) + "\n", kind
    if kind == "unknown_key":
        return text + "team_size: 4\n", kind
    if kind == "merge_key":
        return text + "x_base: &b {specialists: 3}\nteam:\n  <<: *b\n  caseload_cap: 15\n", kind
    if kind == "octal":
        return text + "team:\n  caseload_cap: 010\n", kind
    if kind == "sexagesimal":
        return text + "team:\n  caseload_cap: 1:30\n", kind
    if kind == "date":
        return text + "description: 2026-01-01\n", kind
    if kind == "bom":
        return "\ufeff" + text, kind
    if kind == "long_key":
        return text + "k" * rng.choice([100, 100_000]) + ": 1\n", kind
    return text + "description: \"\\e[2J\\x07bell\\u202eevil\"\n", kind


def generate(rng: random.Random, i: int) -> tuple[str, bytes, str]:
    """(file stem, file content, label) of case ``i``."""
    doc = yaml.safe_load(yaml.safe_dump(TINY))
    labels = []
    stem = f"case{i:04d}"
    r = rng.random()
    if r < 0.22:
        for _ in range(rng.randint(1, 3)):
            labels.append(_extreme(rng, doc))
    elif r < 0.55:
        labels.append(_invalid_value(rng, doc))
    elif r < 0.67:
        name = rng.choice(NAMES_BAD + NAMES_GOOD)
        doc["name"] = name
        labels.append("name bad" if name not in NAMES_GOOD else "name good")
    elif r < 0.72:
        stem = f"{rng.choice(STEMS)}"
        labels.append("file-name-derived name")
    if rng.random() < 0.1:
        doc["name"] = doc.get("name", "ok")
    text = yaml.safe_dump(doc, allow_unicode=True)
    if r >= 0.72 or rng.random() < 0.15:
        text, kind = _text_mutation(rng, text)
        labels.append(kind)
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.01:
        data = b"\xff\xfe" + data  # not UTF-8
        labels.append("binary bytes")
    return stem, data, "+".join(labels) or "defaults"


def _on_alarm(signum, frame):
    raise Hang()


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def run_case(i: int, sandbox: Path, cases_dir: Path) -> tuple[str, str | None, str]:
    """Generate case ``i`` (its own seeded generator), run it; (outcome, failure or None, label)."""
    stem, data, label = generate(random.Random(f"{SEED}:{i}"), i)
    case_dir = cases_dir / f"{i:04d}"
    case_dir.mkdir()
    path = case_dir / f"{stem}.yaml"
    path.write_bytes(data)
    # Every tenth case writes to outputs/<its name>/ in a folder of its own (so names may repeat).
    use_default_out = i % 10 == 0
    out = sandbox / "out" / f"c{i:04d}"
    args = ["run", str(path), "-q", "--no-plots", "--replications", "1"]
    if use_default_out:
        own = sandbox / f"d{i:04d}"
        own.mkdir()
        os.chdir(own)
    else:
        os.chdir(sandbox)
        args += ["--out", str(out)]
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    where = f"case {i} ({label}, file {path.name!r}, IPS_SIM_FUZZ_SEED={SEED})"
    if isinstance(result.exception, Hang):
        return "hang", f"{where}: still running after {CASE_SECONDS} s", label
    if result.exit_code == 0:
        if not use_default_out and not (out / "summary.csv").is_file():
            return "crash", f"{where}: exit 0 but no {out}/summary.csv", label
        return "ran", None, label
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    clean = (result.exit_code == 2 and isinstance(result.exception, SystemExit) and lines
             and "Traceback" not in result.output and all(len(ln) <= MAX_LINE for ln in lines)
             and all(ln.startswith(str(path)) for ln in lines))
    if clean:
        return "rejected cleanly", None, label
    exc = result.exception
    return "crash", (f"{where}: exit {result.exit_code}, {type(exc).__name__}: {str(exc)[:200]!r}, "
                     f"stderr {result.stderr[:300]!r}"), label


def run_cases(job: tuple[list[int], Path, Path]) -> tuple[list[tuple[str, str | None, str]], float]:
    """A worker's share of the cases, with the work limit lowered and a per-case alarm; (results, CPU s)."""
    indices, sandbox, cases_dir = job
    # A case may not simulate more than about 0.1 s (estimate), so extremes are refused, not run.
    workload.MAX_CPU_SECONDS = 0.1
    old = signal.signal(signal.SIGALRM, _on_alarm)
    cpu = time.process_time()
    try:
        return [run_case(i, sandbox, cases_dir) for i in indices], time.process_time() - cpu
    finally:
        signal.signal(signal.SIGALRM, old)


def test_fuzz_scenarios_run_or_are_refused_cleanly(tmp_path, capsys):
    sandbox = tmp_path / "sandbox"
    cases_dir = tmp_path / "cases"
    (sandbox / "out").mkdir(parents=True)
    cases_dir.mkdir()
    started = time.perf_counter()
    # Two processes (CI has 2 cores); each case has its own seed, so the split changes nothing.
    jobs = [(list(range(k, CASES, 2)), sandbox, cases_dir) for k in range(2)]
    cwd = os.getcwd()
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            parts = pool.map(run_cases, jobs)
        results = [r for part, _ in parts for r in part]
        cpu = [c for _, c in parts]
    finally:
        os.chdir(cwd)
    elapsed = time.perf_counter() - started
    outcomes = Counter(o for o, _, _ in results)
    failures = [f for _, f, _ in results if f]

    # Nothing outside the requested folders: out/c<case>/... and d<case>/outputs/<one safe name>/...
    stray = []
    for rel in _files(sandbox):
        parts = rel.parts
        if parts[0] == "out" and (len(parts) == 1 or parts[1].startswith("c")):
            continue
        if parts[0].startswith("d") and (len(parts) == 1 or parts[1] == "outputs"):
            continue
        stray.append(str(rel))
    named = [p for p in sandbox.glob("d*/outputs/*")]
    leftovers = [str(p) for p in sandbox.rglob("*.partial")]

    summary = (f"fuzz seed {SEED}: {CASES} cases in {elapsed:.1f} s (CPU {cpu[0]:.1f} s + {cpu[1]:.1f} s): "
               + ", ".join(f"{k} {outcomes[k]}" for k in ("ran", "rejected cleanly", "crash", "hang")))
    with capsys.disabled():
        print("\n" + summary)
    assert not failures, summary + "\n" + "\n".join(failures[:20])
    assert not stray, f"{summary}: written outside the requested folders: {stray[:10]}"
    assert not leftovers, f"{summary}: leftover working folders {leftovers[:5]}"
    for folder in named:  # every default output folder is one safe path component under outputs/
        assert folder.resolve().parent == folder.parent.resolve(), folder
        assert not folder.name.startswith(".") and len(folder.name) <= 100, folder
        assert (folder / "summary.csv").is_file(), folder
    # The generator mixes both kinds in quantity (a fuzz test that only ever rejects tests little).
    assert outcomes["ran"] >= CASES // 6 and outcomes["rejected cleanly"] >= CASES // 3, summary
    assert len(results) == CASES
