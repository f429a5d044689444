"""Faults never cost a user's files: full disks, kills between renames, concurrent writers through a
symbolic link, a worker killed alone, a file added mid-run, hostile paths and inputs.

Every test asserts the user's files are byte-identical afterwards and the previous results
intact; faults are injected (a patched writer raising ENOSPC, a process ending itself between
two renames) except one real full disk on a small tmpfs.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import IPS_SIM, REPO, cli_env, require
from test_output_safety import _children, _run, _scenario, _wait_for_saved_work  # the same helpers, not copies

from ips_sim.runner import output
from ips_sim.runner.output import TEMP_MARK, OutputFolder, read_stamp

LINUX = pytest.mark.skipif(sys.platform != "linux", reason="renameat2, /proc and signals: Linux")


def _line(result, code: int) -> str:
    out = result.output.strip()
    assert result.exit_code == code, out
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    return out


def _lines(result, code: int) -> list[str]:
    """Bad input: one line per problem (each naming the file), a bounded number of them."""
    out = result.output.strip()
    assert result.exit_code == code, out
    assert "Traceback" not in out and 1 <= len(out.splitlines()) <= 21, out
    return out.splitlines()


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _hidden_leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and ".tmp-" in p.name
                  or ".old-" in p.name)


def _enospc(path="(injected)"):
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@pytest.fixture
def results(tmp_path):
    """A scenario, its results folder written once, and the folder's bytes."""
    sc = _scenario(tmp_path)
    out = tmp_path / "res"
    assert _run(["run", sc, "--out", out, "-q", "--no-plots"]).exit_code == 0
    return sc, out, _snapshot(out)


# --------------------------------------------------------------------------- data loss


def test_file_added_while_a_run_writes_is_kept_and_the_run_resumes(tmp_path, results, monkeypatch):
    sc, out, before = results
    import ips_sim.reporting.tables as tables

    real = tables.write_run

    def user_adds_a_file(folder, *a, **k):
        real(folder, *a, **k)
        (out / "my_notes.txt").write_bytes(b"the user's own \x00 bytes")

    monkeypatch.setattr(tables, "write_run", user_adds_a_file)
    line = _line(_run(["run", sc, "--out", out, "-q", "--no-plots", "--overwrite", "--seed", "7"]), 2)
    assert "added while ips-sim was working" in line and "my_notes.txt" in line
    assert (out / "my_notes.txt").read_bytes() == b"the user's own \x00 bytes"
    assert {k: v for k, v in _snapshot(out).items() if k != "my_notes.txt"} == before
    assert (tmp_path / "res.partial").is_dir() and not _hidden_leftovers(tmp_path)
    # moved away, the same command with --resume finishes from the saved replications
    monkeypatch.setattr(tables, "write_run", real)
    (out / "my_notes.txt").rename(tmp_path / "my_notes.txt")
    assert _run(["run", sc, "--out", out, "-q", "--no-plots", "--overwrite", "--seed", "7", "--resume"]).exit_code == 0
    assert not (tmp_path / "res.partial").exists()


def test_file_added_at_the_last_instant_is_carried_into_the_new_results(tmp_path, results, monkeypatch):
    sc, out, _ = results
    real = output._exchange

    def race(a, b):  # after the last check, before the exchange
        (out / "late.txt").write_text("mine")
        return real(a, b)

    monkeypatch.setattr(output, "_exchange", race)
    result = _run(["run", sc, "--out", out, "-q", "--no-plots", "--overwrite", "--seed", "8"])
    assert result.exit_code == 0, result.output
    assert (out / "late.txt").read_text() == "mine"
    assert "kept your file late.txt" in result.output  # said, in one line
    assert "late.txt" not in read_stamp(out)["files"]
    assert not _hidden_leftovers(tmp_path)


def test_report_never_replaces_a_users_report_and_takes_the_lock(results):
    _, out, _ = results
    assert _run(["report", out]).exit_code == 0  # its own report: listed in the stamp, replaced freely
    assert _run(["report", out]).exit_code == 0
    (out / "report.md").write_text("# my own notes\n")
    stamp = read_stamp(out)
    stamp["files"].remove("report.md")  # as if the user had written report.md before any report
    import json

    doc = json.loads((out / "manifest.json").read_text())
    doc["output"] = stamp
    (out / "manifest.json").write_text(json.dumps(doc))
    line = _line(_run(["report", out]), 2)
    assert "report.md" in line and "never replaced" in line
    assert (out / "report.md").read_text() == "# my own notes\n"
    (out / "report.md").unlink()
    with OutputFolder(out, {}, kind="run", overwrite=True).lock():
        assert "another ips-sim command" in _line(_run(["report", out]), 2)


@pytest.mark.parametrize("content", ["", "a,b\n1,2\n", "metric,mean\nx,notanumber\n"])
def test_report_on_a_summary_that_is_not_ips_sims(tmp_path, content):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "summary.csv").write_text(content)
    before = _snapshot(folder)
    line = _line(_run(["report", folder]), 2)
    assert "summary.csv" in line
    assert _snapshot(folder) == before


def test_an_old_style_manifest_key_does_not_make_a_folder_ips_sims(tmp_path):
    sc = _scenario(tmp_path)
    folder = tmp_path / "res"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"versions": {"ips-sim": "0.1"}, "fingerprint": "x"}')
    (folder / "thesis.txt").write_text("years of work")
    before = _snapshot(folder)
    line = _line(_run(["run", sc, "--out", folder, "-q", "--no-plots", "--overwrite"]), 2)
    assert "older ips-sim" in line or "did not write" in line
    assert _snapshot(folder) == before


def test_a_manifest_listing_files_outside_its_folder_is_not_ips_sims(tmp_path, results):
    sc, out, _ = results
    outside = tmp_path / "precious.txt"
    outside.write_text("outside")
    import json

    doc = json.loads((out / "manifest.json").read_text())
    doc["output"]["files"].append("../precious.txt")
    (out / "manifest.json").write_text(json.dumps(doc))
    assert read_stamp(out) is None
    _line(_run(["run", sc, "--out", out, "-q", "--no-plots", "--overwrite"]), 2)
    assert output.remove_owned(out, ["../precious.txt"]) and outside.read_text() == "outside"


def test_the_unfinished_work_folder_never_takes_a_users_files(tmp_path):
    sc = _scenario(tmp_path)
    mine = tmp_path / "res.partial"
    mine.mkdir()
    (mine / "draft.txt").write_text("mine")
    line = _line(_run(["run", sc, "--out", tmp_path / "res", "-q", "--no-plots", "--resume"]), 2)
    assert "did not write" in line and (mine / "draft.txt").read_text() == "mine"
    (mine / "draft.txt").unlink()
    mine.rmdir()
    import ips_sim.runner.resume as resume

    real = resume.Checkpoint.save

    def save_and_add(self, name, obj):  # a user's file arrives in the store while the run goes on
        real(self, name, obj)
        (self.units / "user.txt").write_text("mine too")

    from unittest import mock

    with mock.patch.object(resume.Checkpoint, "save", save_and_add):
        assert _run(["run", sc, "--out", tmp_path / "res", "-q", "--no-plots"]).exit_code == 0
    assert (mine / "chunks" / "user.txt").read_text() == "mine too"
    assert sorted(p.name for p in mine.rglob("*")) == ["chunks", "user.txt"]


def test_a_users_folder_matching_the_temporary_names_is_never_removed(tmp_path):
    sc = _scenario(tmp_path)
    mine = [tmp_path / ".res.old-1", tmp_path / ".res.tmp-2", tmp_path / ".res.partial-3"]
    for d in mine:
        d.mkdir()
        (d / "keep.txt").write_text(d.name)
    # even one with a stamp-like manifest of its own keeps every file the stamp does not list
    (mine[1] / "manifest.json").write_text('{"output": {"written_by": "ips-sim 0", "files": ["manifest.json"]}}')
    assert _run(["run", sc, "--out", tmp_path / "res", "-q", "--no-plots"]).exit_code == 0
    for d in mine:
        assert (d / "keep.txt").read_text() == d.name


def test_the_check_runs_once_the_lock_is_held(tmp_path):
    out = tmp_path / "res"
    folder = OutputFolder(out, {}, kind="run")
    folder.check()  # an early check passes ...
    out.mkdir()
    (out / "thesis.txt").write_text("x")  # ... then a user's file arrives before the lock
    with pytest.raises(Exception, match="did not write"):
        with folder.lock():
            pass
    assert (out / "thesis.txt").read_text() == "x"


_KILL_SCRIPT = textwrap.dedent("""
    import os, sys
    from ips_sim.runner import output
    from ips_sim.ui.cli import main
    where = sys.argv[1]
    if where == "between-renames":
        output._exchange = lambda a, b: False  # a file system without RENAME_EXCHANGE
        real = os.rename
        def rename(src, dst):
            real(src, dst)
            if ".old-" in str(dst):
                os._exit(9)  # as kill -9 would: no clean-up runs
        os.rename = rename
    else:  # after the exchange, before the old results are removed
        output.remove_owned = lambda *a: os._exit(9)
    main(sys.argv[2:])
""")


@LINUX
@pytest.mark.parametrize("where", ["between-renames", "after-exchange"])
def test_a_kill_at_any_instant_of_the_replace_keeps_the_previous_results(tmp_path, results, where):
    sc, out, before = results
    user = tmp_path / "notes.txt"
    user.write_text("mine")
    proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, where, "run", str(sc), "--out", str(out), "-q",
                           "--no-plots", "--overwrite", "--seed", "9"], env={**cli_env(), "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    if where == "between-renames":
        assert not out.exists()  # the instant the issue describes: only .res.old-PID holds the results
        with OutputFolder(out, {}, kind="run", overwrite=True).lock():
            pass  # the next command's recovery
        assert _snapshot(out) == before
    else:
        assert read_stamp(out) is not None and _snapshot(out) != before  # the new results are in place
        with OutputFolder(out, {}, kind="run", overwrite=True).lock():
            pass
    assert not _hidden_leftovers(tmp_path)
    assert user.read_text() == "mine"


def test_out_given_as_a_symbolic_link_keeps_the_link_and_shares_the_lock(tmp_path):
    sc = _scenario(tmp_path)
    real = tmp_path / "real"
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    assert _run(["run", sc, "--out", alias, "-q", "--no-plots"]).exit_code == 0
    assert alias.is_symlink() and (real / "summary.csv").is_file()
    assert _run(["run", sc, "--out", alias, "-q", "--no-plots"]).exit_code == 0  # again: still a link
    assert alias.is_symlink() and os.readlink(alias) == str(real)
    before = _snapshot(real)
    with OutputFolder(real, {}, kind="run", overwrite=True).lock():  # one command writes real: another through alias waits
        assert "another ips-sim command" in _line(_run(["run", sc, "--out", alias, "-q", "--no-plots"]), 2)
    with OutputFolder(alias, {}, kind="run", overwrite=True).lock():
        assert "another ips-sim command" in _line(_run(["run", sc, "--out", real, "-q", "--no-plots"]), 2)
    assert _snapshot(real) == before


# --------------------------------------------------------------------------- wrong results


@pytest.mark.parametrize("text", [
    "start:\n  waitlist: {count: 2, waited_days: [true, 3]}\n",
    "start:\n  workers: {count: 1, months_in_job: [false], months_since_enrollment: [3]}\n",
    "referrals:\n  seasonality: {jan: true, feb: 1, mar: 1, apr: 1, may: 1, jun: 1, jul: 1, aug: 1, sep: 1, oct: 1, "
    "nov: 1, dec: 1}\n",
])
def test_booleans_are_refused_inside_lists_and_mappings(tmp_path, text):
    sc = _scenario(tmp_path, extra=text)
    assert "not true/false" in _line(_run(["validate", sc]), 2)


def _history(path: Path, counts, first_year: int = 2021) -> Path:
    lines = ["month,referrals"] + [f"{first_year + k // 12}-{k % 12 + 1:02d},{c}" for k, c in enumerate(counts)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("counts,first_year,needle", [
    ([10 ** 15 + k for k in range(24)], 2021, "most a scenario accepts"),
    ([0] * 24, 2021, "every month is 0"),
    ([3] * 24, 9997, "give months from"),
    ([3] * 24, 2198, "past 2199"),
    ([2 ** k for k in range(13)], 2021, "outside what a scenario accepts"),  # doubling monthly: trend > 1/year
])
def test_fit_referrals_refuses_what_no_scenario_accepts(tmp_path, counts, first_year, needle):
    hist = _history(tmp_path / "h.csv", counts, first_year)
    lines = _lines(_run(["fit-referrals", hist, "--out", tmp_path / "fit"]), 2)
    assert needle in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"]


# --------------------------------------------------------------------------- full disk and other environment faults


def _fail_at(monkeypatch, target, name, after: int = 0):
    """``target.name`` raises ENOSPC from its ``after``+1-th call on."""
    real = getattr(target, name)
    calls = {"n": 0}

    def fake(*a, **k):
        calls["n"] += 1
        if calls["n"] > after:
            raise _enospc(a[-1] if a else "(file)")
        return real(*a, **k)

    monkeypatch.setattr(target, name, fake)


@pytest.mark.parametrize("where", ["checkpoint", "results", "plots"])
def test_disk_full_is_one_line_and_keeps_previous_results(tmp_path, results, monkeypatch, where):
    sc, out, before = results
    import matplotlib.figure

    import ips_sim.reporting.tables as tables
    import ips_sim.runner.resume as resume

    if where == "checkpoint":
        _fail_at(monkeypatch, resume, "write_bytes", after=1)  # key.json written, the first unit fails
    elif where == "results":
        _fail_at(monkeypatch, tables, "write_csv", after=2)
    else:
        _fail_at(monkeypatch, matplotlib.figure.Figure, "savefig")
    args = ["run", sc, "--out", out, "-q", "--overwrite", "--seed", "11"] + (["--no-plots"] if where != "plots" else [])
    line = _line(_run(args), 1)
    assert os.strerror(errno.ENOSPC) in line and "free some space" in line
    assert _snapshot(out) == before
    assert not _hidden_leftovers(tmp_path)
    partial = tmp_path / "res.partial"
    if partial.exists():  # only a resumable store, holding no half-written file
        assert "--resume" in line
        assert not [p for p in partial.rglob(".*") if p.is_file()]
    monkeypatch.undo()
    assert _run(args + ["--resume"]).exit_code == 0


def test_disk_full_in_fit_referrals(tmp_path, monkeypatch):
    import ips_sim.reporting.tables as tables

    hist = _history(tmp_path / "h.csv", [3, 4, 2, 5, 3, 4, 6, 2, 3, 4, 5, 3, 4, 3])
    _fail_at(monkeypatch, tables, "write_csv", after=1)
    line = _line(_run(["fit-referrals", hist, "--out", tmp_path / "fit"]), 1)
    assert os.strerror(errno.ENOSPC) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"]


@LINUX
def test_a_real_full_disk_on_a_small_tmpfs(tmp_path):
    """The same, on a 64 KiB tmpfs (root only; CI runs as root)."""
    if os.geteuid() != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true needs root for the tmpfs test")
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if mounted.returncode != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"cannot mount a tmpfs: {mounted.stderr!r}")
        pytest.skip("cannot mount a tmpfs here")
    try:
        mine = mnt / "mine.txt"
        mine.write_text("the user's file")
        sc = _scenario(tmp_path)
        proc = subprocess.run([str(IPS_SIM), "run", str(sc), "--out", str(mnt / "res")], capture_output=True,
                              text=True, env=cli_env(), timeout=300)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "No space left" in proc.stderr
        assert mine.read_text() == "the user's file"
        left = sorted(p.name for p in mnt.iterdir())
        assert left in (["mine.txt"], ["mine.txt", "res.partial"]), left
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_an_out_name_too_long_for_the_file_system(tmp_path):
    sc = _scenario(tmp_path)
    line = _line(_run(["run", sc, "--out", tmp_path / ("r" * 250), "-q"]), 2)
    assert "too long" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


@LINUX
def test_the_current_folder_deleted_under_the_process(tmp_path):
    sc = _scenario(tmp_path)
    gone = tmp_path / "gone"
    gone.mkdir()
    proc = subprocess.run(["bash", "-c", f"cd {gone} && rmdir {gone} && exec {IPS_SIM} run {sc} --out x -q"],
                          capture_output=True, text=True, env=cli_env(), timeout=300)
    assert proc.returncode == 1 and "current folder" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@LINUX
def test_standard_output_that_cannot_be_written(tmp_path):
    sc = _scenario(tmp_path)
    with open("/dev/full", "w") as full:
        proc = subprocess.run([str(IPS_SIM), "run", str(sc), "--out", str(tmp_path / "res"), "--no-plots"],
                              stdout=full, stderr=subprocess.PIPE, text=True, env=cli_env(), timeout=300)
    assert proc.returncode == 1 and "standard output" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert read_stamp(tmp_path / "res") is not None  # the results are written all the same


# --------------------------------------------------------------------------- a worker killed alone


@LINUX
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_worker_killed_alone_names_the_lost_replications(tmp_path, sig):
    sc = tmp_path / "long.yaml"
    sc.write_text("name: long\nsimulation: {horizon_years: 6, warmup_years: 1, replications: 400}\n")
    out = tmp_path / "res"
    proc = subprocess.Popen([str(IPS_SIM), "run", str(sc), "--out", str(out), "--workers", "2", "--no-plots", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
                            start_new_session=True)
    chunks = tmp_path / "res.partial" / "chunks"
    _wait_for_saved_work(proc, chunks)
    workers = [c for c in _children(proc.pid) if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_text()]
    assert workers
    saved = len(list(chunks.glob("*.pkl")))
    os.kill(workers[0], sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "worker process stopped" in err and "replications" in err and "--resume" in err
    assert len(list(chunks.glob("*.pkl"))) >= saved and not out.exists()


# --------------------------------------------------------------------------- interrupts and noise


@LINUX
def test_sigterm_while_connecting_to_a_silent_scheduler_stops_at_once(tmp_path):
    require("distributed", "the --scheduler option")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def accept():  # accept and never answer
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        sc = _scenario(tmp_path)
        proc = subprocess.Popen([str(IPS_SIM), "run", str(sc), "--out", str(tmp_path / "res"), "--scheduler",
                                 f"tcp://127.0.0.1:{server.getsockname()[1]}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=cli_env())
        deadline = time.monotonic() + 60
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert accepted, "the command never connected"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - sent < 2.0
        assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
        assert "timeout" not in err.lower(), err
    finally:
        stop.set()
        server.close()
        for c in accepted:
            c.close()


def test_a_system_file_given_as_a_csv_is_described_not_printed(tmp_path):
    system = tmp_path / "passwd"
    system.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    sc = _scenario(tmp_path, extra=f"start:\n  date: 2024-01-01\n  members_csv: {system}\n")
    line = _line(_run(["validate", sc]), 2)
    assert "not a members CSV" in line and "root:" not in line
    line = _line(_run(["fit-referrals", system, "--out", tmp_path / "fit"]), 2)
    assert "root:" not in line


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_fifo_or_folder_given_as_a_csv_says_what_it_is(tmp_path, kind):
    thing = tmp_path / "members.csv"
    if kind == "fifo":
        os.mkfifo(thing)
    else:
        thing.mkdir()
    sc = _scenario(tmp_path, extra="start:\n  date: 2024-01-01\n  members_csv: members.csv\n")
    line = _line(_run(["validate", sc]), 2)
    assert ("named pipe" if kind == "fifo" else "a folder") in line and "no such file" not in line
    line = _line(_run(["fit-referrals", thing, "--out", tmp_path / "fit"]), 2)
    assert ("named pipe" if kind == "fifo" else "directory") in line


def test_members_dated_in_year_1_and_records_with_thousands_of_digits(tmp_path):
    (tmp_path / "m.csv").write_text("phase,referral_date,enrollment_date\nwaiting,0001-01-01,\n"
                                    "job_seeker,,0001-06-01\n")
    sc = _scenario(tmp_path, extra="start:\n  date: 2024-01-01\n  members_csv: m.csv\n")
    result = _run(["validate", sc])
    assert result.exit_code == 2 and "Traceback" not in result.output and "validation error" not in result.output
    assert all("check the year" in line for line in result.output.strip().splitlines())
    line = _line(_run(["run", _scenario(tmp_path, "t"), "--records", "9" * 5000, "-q"]), 2)
    assert "--records" in line and len(line) < 300


def test_library_warnings_do_not_reach_stderr(tmp_path):
    # a month of the year with no referrals in either year: statsmodels warns of perfect separation
    counts = [0 if k % 12 == 3 else 3 for k in range(36)]
    hist = _history(tmp_path / "h.csv", counts)
    env = {**cli_env(), "HOME": "/proc/self"}  # an unwritable home: matplotlib's config-folder message
    proc = subprocess.run([str(IPS_SIM), "fit-referrals", str(hist), "--out", str(tmp_path / "fit")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "site-packages" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    assert "matplotlib" not in proc.stderr.lower(), proc.stderr
    (tmp_path / "fit").rename(tmp_path / "fit_done")
    assert all(p.name != TEMP_MARK for p in (tmp_path / "fit_done").iterdir())


def test_a_warning_a_user_can_act_on_is_one_plain_line_and_quiet_silences_it(capsys):
    import warnings

    import click

    from ips_sim.ui.cli import faults

    class ConvergenceWarning(UserWarning):  # statsmodels' category name
        pass

    for quiet in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            faults.install()
            with click.Context(click.Command("fit"), info_name="fit") as ctx:
                ctx.params = {"quiet": quiet}
                for _ in range(3):
                    warnings.warn_explicit("did not converge", ConvergenceWarning,
                                           "/x/site-packages/statsmodels/base/model.py", 1)
                warnings.warn_explicit("invalid value", RuntimeWarning, "/x/site-packages/numpy/core.py", 1)
        err = capsys.readouterr().err
        if quiet:
            assert err == ""
        else:
            assert len(err.splitlines()) == 1 and "did not fully converge" in err and "site-packages" not in err
