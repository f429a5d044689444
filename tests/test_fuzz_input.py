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


# Items for the lists and mappings inside scenarios: numbers in and out of bounds, and what is not a number.
LIST_ITEMS = [0, 1, 2.5, 30, 1200, 1201, -1, True, False, None, "3", "x", float("nan"), float("inf"), 1e308,
              10 ** 30, [1], {"a": 1}]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def _list_value(rng: random.Random, doc: dict) -> str:
    """A list (or mapping) inside a scenario: per-person start values, schedules, seasonality, shares."""
    def items(n):
        if rng.random() < 0.4:  # all plain numbers in bounds: should run
            return [rng.choice([0, 1, 2.5, 30]) for _ in range(n)]
        return [rng.choice(LIST_ITEMS) for _ in range(n)]

    n = rng.randint(0, 3)
    count = n if rng.random() < 0.8 else n + 1  # sometimes one value too few
    kind = rng.choice(["waited_days", "months_since_enrollment", "had_job", "workers", "new_hire_months",
                       "schedule", "seasonality", "end_reason_shares", "priority_order"])
    if kind == "waited_days":
        _set(doc, "start.waitlist", {"count": count, "waited_days": items(n)})
    elif kind == "months_since_enrollment":
        _set(doc, "start.job_seekers", {"count": count, "months_since_enrollment": items(n)})
    elif kind == "had_job":
        _set(doc, "start.job_seekers", {"count": count, "had_job": [rng.choice([True, False, 1, "yes", None])
                                                                    for _ in range(n)]})
    elif kind == "workers":
        _set(doc, "start.workers", {"count": count, "months_in_job": items(n), "months_since_enrollment": items(n)})
    elif kind == "new_hire_months":
        _set(doc, "start.vacant_posts", {"count": 1, "new_hire_months_in_post": items(n)})
    elif kind == "schedule":
        _set(doc, "referrals.schedule", [{"from_month": a, "rate_per_month": b} for a, b in zip(items(n), items(n))])
    elif kind == "seasonality":
        _set(doc, "referrals.seasonality", dict(zip(MONTHS, items(12) if rng.random() < 0.7 else items(n))))
    elif kind == "end_reason_shares":
        _set(doc, "jobs.end_reason_shares", dict(zip(["quit", "fired", "temporary_job_ended", "laid_off"], items(4))))
    else:
        _set(doc, "time_use.priority_order", [rng.choice(["intake", "follow_along", "job_search", True, 1, None])
                                             for _ in range(n + 1)])
    return f"list: {kind}"


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
    elif r < 0.45:
        labels.append(_invalid_value(rng, doc))
    elif r < 0.55:
        labels.append(_list_value(rng, doc))
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


# --------------------------------------------------------------------------- CSV inputs

CSV_CASES = int(os.environ.get("IPS_SIM_FUZZ_CSV_CASES", "300"))
DATES = ["2023-06-01", "2024-01-01", "2023-12-31", "0001-01-01", "9999-12-31", "2024-02-30", "", "x" * 5000,
         "2023-01-01T00:00", "2025-01-01", "2023-1-1", "1899-12-31", "\x00", "2023-06-01 "]
COUNTS = ["0", "1", "3", "12", "1e15", "-1", "1.5", "nan", "inf", "9" * 5000, "", "1e3", "0x10", "  4 ", "1_000",
          "२"]
SYSTEM_LIKE = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


def _csv_mutation(rng: random.Random, text: str) -> tuple[str, str]:
    kind = rng.choice(["none", "none", "none", "bom", "crlf", "quoted_newline", "extra_cells", "nul", "system",
                       "empty", "header_only", "many_rows", "long_cell", "semicolons", "control"])
    if kind == "bom":
        return "\ufeff" + text, kind
    if kind == "crlf":
        return text.replace("\n", "\r\n"), kind
    if kind == "quoted_newline":
        return text + '"a\nb",1,2\n', kind
    if kind == "extra_cells":
        return text + ",".join(["1"] * 40) + "\n", kind
    if kind == "nul":
        return text.replace(",", ",\x00", 1), kind
    if kind == "system":
        return SYSTEM_LIKE * rng.choice([1, 50]), kind
    if kind == "empty":
        return rng.choice(["", "\n\n", ",,,\n"]), kind
    if kind == "header_only":
        return text.splitlines()[0] + "\n" if text else "", kind
    if kind == "many_rows":
        lines = text.splitlines()
        return "\n".join(lines + lines[1:] * 400) + "\n", kind
    if kind == "long_cell":
        return text + "x" * 100_000 + "\n", kind
    if kind == "semicolons":
        return text.replace(",", ";"), kind
    if kind == "control" and text:
        return text.replace("\n", "\x1b[2J\n", 1), kind
    return text, "plain"


def _members_csv(rng: random.Random, valid: bool) -> str:
    columns = ["phase", "referral_date", "enrollment_date", "job_start_date", "had_job"]
    header = [c for c in columns if c == "phase" or valid or rng.random() < 0.7]
    if not valid and rng.random() < 0.1:
        header.append(rng.choice(["Phase", "notes", "", "phase"]))
    rows = []
    for _ in range(rng.randint(0, 8)):
        phase = rng.choice(["waiting", "job_seeker", "worker"] + ([] if valid else ["Waiting", "", "retired"]))
        cells = {"phase": phase, "had_job": rng.choice(["yes", "no", ""] + ([] if valid else ["maybe", "1"]))}
        good = valid or rng.random() < 0.6
        for c in ("referral_date", "enrollment_date", "job_start_date"):
            cells[c] = rng.choice(["2022-03-01", "2023-01-15", "2023-06-01"]) if good else rng.choice(DATES)
        if valid:  # what each phase has (a job seeker has no job start, the waiting no enrollment)
            cells["referral_date"] = "2022-01-01" if rng.random() < 0.5 else ""
            cells["enrollment_date"] = "" if phase == "waiting" else "2022-06-01"
            cells["job_start_date"] = "2023-01-15" if phase == "worker" else ""
            cells["had_job"] = cells["had_job"] if phase == "job_seeker" else ""
        rows.append(",".join(cells.get(c, "") for c in header))
    return "\n".join([",".join(header)] + rows) + "\n"


def _history_csv(rng: random.Random, valid: bool) -> str:
    col = rng.choice(["month", "date"] + ([] if valid else ["Month", "when"]))
    n = rng.choice([12, 24, 36, 60] + ([] if valid else [0, 5]))
    first = rng.choice([2015, 2021] + ([] if valid else [1, 1899, 2198, 9990]))
    good_counts = valid or rng.random() < 0.6
    lines = [f"{col},{'referrals' if valid else rng.choice(['referrals', 'Referrals', 'count'])}"]
    for k in range(n):
        y, m = first + k // 12, k % 12 + 1
        t = f"{y:04d}-{m:02d}" + ("-01" if col == "date" else "")
        if not valid and rng.random() < 0.05:
            t = rng.choice(DATES)
        c = str(rng.choice([0, 1, 2, 3, 5, 8])) if good_counts else rng.choice(COUNTS)
        lines.append(f"{t},{c}")
    return "\n".join(lines) + "\n"


def _records_csv(rng: random.Random, valid: bool) -> str:
    optional = ["job_starts", "enrollments", "referrals", "closures", "waiting", "specialist_fte", "fidelity_score"]
    header = ["quarter", "people_served", "people_working"] + [c for c in optional if rng.random() < 0.3]
    good = valid or rng.random() < 0.6
    lines = [",".join(header)]
    for k in range(rng.choice([4, 8, 12] + ([] if valid else [0, 3]))):
        q = (f"{2022 + k // 4}Q{k % 4 + 1}" if valid or rng.random() > 0.05
             else rng.choice(["2023Q5", "1Q1", "", "x" * 3000]))
        vals = []
        for c in header[1:]:
            if good:
                vals.append({"people_working": "8", "specialist_fte": "2.0", "fidelity_score": "100"}.get(c, "20"))
            else:
                vals.append(rng.choice(COUNTS))
        lines.append(",".join([q] + vals))
    return "\n".join(lines) + "\n"


def run_csv_case(i: int, folder: Path) -> tuple[str, str | None, str]:
    """One CSV case through the reader a user reaches: members (validate), history (fit-referrals), records."""
    from ips_sim.config.program_records import read_program_records
    from ips_sim.core.errors import UserError

    rng = random.Random(f"{SEED}:csv:{i}")
    kind = ("members", "history", "records")[i % 3]
    valid = rng.random() < 0.3  # a well-formed file (no mutation): should be accepted
    text = {"members": _members_csv, "history": _history_csv, "records": _records_csv}[kind](rng, valid)
    text, mutation = (text, "valid") if valid else _csv_mutation(rng, text)
    label = f"{kind}+{mutation}"
    case = folder / f"{i:04d}"
    case.mkdir()
    csv_path = case / f"{kind}.csv"
    csv_path.write_bytes(text.encode("utf-8", "surrogatepass"))
    where = f"csv case {i} ({label}, IPS_SIM_FUZZ_SEED={SEED})"
    if kind == "records":  # the reader alone: fit-program itself runs an ABC fit, far too long for a fuzz case
        try:
            read_program_records(csv_path)
            return "ran", None, label
        except UserError as exc:
            lines = exc.messages
            ok = lines and all(ln.startswith(str(csv_path)) and len(ln) <= MAX_LINE for ln in lines)
            return ("rejected cleanly", None, label) if ok else ("crash", f"{where}: {lines[:2]}", label)
        except Exception as exc:  # noqa: BLE001 - any other exception is what this test looks for
            return "crash", f"{where}: {type(exc).__name__}: {str(exc)[:200]}", label
    if kind == "members":
        sc = case / "sc.yaml"
        sc.write_text(f"name: m\nstart:\n  date: 2024-01-01\n  members_csv: {csv_path.name}\n")
        args, src = ["validate", str(sc)], str(sc)
    else:
        args, src = ["fit-referrals", str(csv_path), "--out", str(case / "fit"),
                     "--forecast-months", str(rng.choice([1, 24, 240]))], str(csv_path)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if isinstance(result.exception, Hang):
        return "hang", f"{where}: still running after {CASE_SECONDS} s", label
    if result.exit_code == 0:
        return "ran", None, label
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    clean = (result.exit_code == 2 and isinstance(result.exception, SystemExit) and lines
             and "Traceback" not in result.output and all(len(ln) <= MAX_LINE for ln in lines)
             and all(ln.startswith(src) or ln.startswith(str(csv_path)) for ln in lines)
             and "root:x:" not in result.output)
    if clean:
        return "rejected cleanly", None, label
    exc = result.exception
    return "crash", (f"{where}: exit {result.exit_code}, {type(exc).__name__}: {str(exc)[:200]!r}, "
                     f"stderr {result.stderr[:300]!r}"), label


def test_fuzz_csv_inputs_run_or_are_refused_cleanly(tmp_path, capsys, monkeypatch):
    """Members, referral-history and program-records CSVs: run, or refused in bounded lines naming the file
    (never echoing a system file), never a traceback or a hang. fit-referrals' plot is skipped for speed."""
    import ips_sim.studies.referral_fit as referral_fit

    monkeypatch.setattr(referral_fit, "plot_fit", lambda fit, path: Path(path).write_bytes(b""))
    old = signal.signal(signal.SIGALRM, _on_alarm)
    started = time.perf_counter()
    try:
        results = [run_csv_case(i, tmp_path) for i in range(CSV_CASES)]
    finally:
        signal.signal(signal.SIGALRM, old)
    outcomes = Counter(o for o, _, _ in results)
    kinds = Counter((label.split("+")[0], o) for o, _, label in results)
    failures = [f for _, f, _ in results if f]
    summary = (f"csv fuzz seed {SEED}: {CSV_CASES} cases in {time.perf_counter() - started:.1f} s: "
               + ", ".join(f"{k} {outcomes[k]}" for k in ("ran", "rejected cleanly", "crash", "hang")))
    with capsys.disabled():
        print("\n" + summary)
    assert not failures, summary + "\n" + "\n".join(failures[:20])
    for kind in ("members", "history", "records"):  # each reader both accepts and refuses in quantity
        assert kinds[(kind, "ran")] >= CSV_CASES // 30 and kinds[(kind, "rejected cleanly")] >= CSV_CASES // 10, \
            (summary, kinds)
