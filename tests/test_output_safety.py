"""A user's files are never lost: ips-sim replaces only folders it wrote, for the same run, and
stops cleanly (exit 130, work kept, workers gone) on Ctrl-C, SIGTERM and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import IPS_SIM, cli_env

from ips_sim.runner.output import TEMP_MARK, OutputFolder, read_stamp
from ips_sim.ui.cli import main

TINY = "simulation: {horizon_years: 1, warmup_years: 0.5, replications: 2}\n"


def _scenario(folder: Path, name: str = "tiny", extra: str = "") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\n{TINY}{extra}")
    return path


def _run(args, cwd=None):
    """The command line in this process (CliRunner), from ``cwd``."""
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


def _one_line(result) -> str:
    out = result.output.strip()
    assert result.exit_code == 2, out
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    return out


# --------------------------------------------------------------------------- foreign files


@pytest.mark.parametrize("command", ["run", "sweep", "plan"])
def test_foreign_files_in_out_survive(tmp_path, command):
    sc = _scenario(tmp_path)
    docs = tmp_path / "mydocs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("x")
    if command == "run":
        args = ["run", sc, "--out", docs, "-q"]
    elif command == "sweep":
        sweep = tmp_path / "sw.yaml"
        sweep.write_text(f"name: sw\nbase: {sc}\nreplications: 2\ngrid: {{team.specialists: [1, 2]}}\n")
        args = ["sweep", sweep, "--out", docs, "-q", "--workers", "1"]
    else:
        args = ["plan", sc, "--vary", "team.specialists=1..2", "--target", "mean_wait_days<=1000",
                "--out", docs, "-q", "--workers", "1"]
    line = _one_line(_run(args))
    assert "did not write" in line
    assert (docs / "thesis.txt").read_text() == "x"
    assert sorted(p.name for p in docs.iterdir()) == ["thesis.txt"]


def test_file_added_to_a_results_folder_is_never_deleted(tmp_path):
    sc = _scenario(tmp_path)
    out = tmp_path / "res"
    assert _run(["run", sc, "--out", out, "-q", "--no-plots"]).exit_code == 0
    (out / "my_notes.txt").write_text("keep me")
    line = _one_line(_run(["run", sc, "--out", out, "-q", "--no-plots", "--overwrite"]))
    assert "my_notes.txt" in line
    assert (out / "my_notes.txt").read_text() == "keep me"


def test_dot_name_does_not_replace_the_outputs_folder(tmp_path):
    earlier = tmp_path / "outputs" / "earlier"
    earlier.mkdir(parents=True)
    (earlier / "summary.csv").write_text("precious")
    sc = tmp_path / "dot.yaml"
    sc.write_text(f"name: '.'\n{TINY}")
    result = _run(["run", sc, "-q"], cwd=tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (earlier / "summary.csv").read_text() == "precious"


@pytest.mark.parametrize("out", [".", ".."])
def test_out_dot_is_refused(tmp_path, out):
    sc = _scenario(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    _one_line(_run(["run", sc, "--out", out, "-q"], cwd=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --------------------------------------------------------------------------- same run, other run


def test_other_scenario_with_the_same_name_is_refused_without_overwrite(tmp_path):
    a = _scenario(tmp_path, "same")
    out = tmp_path / "res"
    assert _run(["run", a, "--out", out, "-q", "--no-plots"]).exit_code == 0
    summary = (out / "summary.csv").read_bytes()
    b = tmp_path / "b.yaml"
    b.write_text(f"name: same\n{TINY}team: {{specialists: 3}}\n")
    line = _one_line(_run(["run", b, "--out", out, "-q", "--no-plots"]))
    assert "--overwrite" in line
    assert (out / "summary.csv").read_bytes() == summary
    # Another seed is another run too.
    _one_line(_run(["run", a, "--out", out, "-q", "--no-plots", "--seed", "99"]))
    # With --overwrite it is replaced, and the stamp names the new run.
    old = read_stamp(out)["identity"]
    assert _run(["run", b, "--out", out, "-q", "--no-plots", "--overwrite"]).exit_code == 0
    assert read_stamp(out)["identity"] != old


def test_the_same_run_again_replaces_its_own_results(tmp_path):
    sc = _scenario(tmp_path)
    out = tmp_path / "res"
    assert _run(["run", sc, "--out", out, "-q", "--no-plots"]).exit_code == 0
    first = (out / "summary.csv").read_bytes()
    assert _run(["run", sc, "--out", out, "-q", "--no-plots"]).exit_code == 0
    assert (out / "summary.csv").read_bytes() == first


def test_results_folders_have_the_users_normal_permissions(tmp_path):
    sc = _scenario(tmp_path)
    out = tmp_path / "res"
    assert _run(["run", sc, "--out", out, "-q", "--no-plots"]).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask


# --------------------------------------------------------------------------- paths that cannot work


def test_out_under_a_file_and_out_a_file(tmp_path):
    sc = _scenario(tmp_path)
    f = tmp_path / "afile"
    f.write_text("x")
    assert "is a file" in _one_line(_run(["run", sc, "--out", f / "sub", "-q"]))
    assert "is a file" in _one_line(_run(["run", sc, "--out", f, "-q"]))
    assert f.read_text() == "x"


def test_partial_path_that_is_a_file(tmp_path):
    sc = _scenario(tmp_path)
    (tmp_path / "res.partial").write_text("x")
    assert "unfinished work" in _one_line(_run(["run", sc, "--out", tmp_path / "res", "-q"]))
    assert (tmp_path / "res.partial").read_text() == "x"


def test_folder_that_cannot_be_written(tmp_path):
    sc = _scenario(tmp_path)
    # /proc refuses new folders even for root, like a read-only file system.
    line = _one_line(_run(["run", sc, "--out", "/proc/ips-sim-test/res", "-q"]))
    assert "cannot write" in line


# --------------------------------------------------------------------------- lock and leftovers


def test_a_second_command_on_the_same_folder_is_refused(tmp_path):
    sc = _scenario(tmp_path)
    out = tmp_path / "res"
    with OutputFolder(out, {}, kind="run").lock():
        assert "another ips-sim command" in _one_line(_run(["run", sc, "--out", out, "-q", "--resume"]))
    assert not out.exists()
    assert _run(["run", sc, "--out", out, "-q", "--no-plots"]).exit_code == 0


def test_leftovers_of_a_killed_write_are_cleaned(tmp_path):
    sc = _scenario(tmp_path)
    stale = tmp_path / ".res.tmp-999999"
    stale.mkdir()
    (stale / "summary.csv").write_text("half")
    (stale / TEMP_MARK).write_text("")  # what every temporary folder ips-sim makes holds
    lookalike = tmp_path / ".res.old-2024"  # a user's folder that merely matches the pattern
    lookalike.mkdir()
    (lookalike / "diary.txt").write_text("mine")
    assert _run(["run", sc, "--out", tmp_path / "res", "-q", "--no-plots"]).exit_code == 0
    assert not stale.exists()
    assert (lookalike / "diary.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".res.old-2024", "res", "tiny.yaml"]


# --------------------------------------------------------------------------- interrupts


LONG = "simulation: {horizon_years: 6, warmup_years: 1, replications: 400}\n"


def _as_from_a_terminal() -> None:
    # A shell without job control starts background commands with Ctrl-C ignored, and the test
    # runner may be one: give the command the default disposition a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_long_run(tmp_path: Path, extra_args=()):
    sc = tmp_path / "long.yaml"
    sc.write_text(f"name: long\n{LONG}")
    out = tmp_path / "res"
    proc = subprocess.Popen([str(IPS_SIM), "run", str(sc), "--out", str(out), "--workers", "2", "--no-plots",
                             *extra_args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(), start_new_session=True, preexec_fn=_as_from_a_terminal)
    _wait_for_saved_work(proc, tmp_path / "res.partial" / "chunks")
    return proc, sc, out


def _wait_for_saved_work(proc, folder: Path, seconds: float = 120) -> None:
    """Wait (at most ``seconds``) until the running command ``proc`` has saved a unit of work in ``folder``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (folder.exists() and any(folder.glob("*.pkl"))):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(p.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc: Linux")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_within_2_s_exits_130_and_resumes_identically(tmp_path, sig):
    proc, sc, out = _start_long_run(tmp_path)
    workers = _children(proc.pid)
    sent = time.monotonic()
    os.killpg(proc.pid, sig) if sig == signal.SIGINT else proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    stopped = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert stopped < 2.0, f"took {stopped:.2f} s to stop"
    assert "--resume" in err and "Traceback" not in err
    time.sleep(0.2)
    assert not any(_alive(w) for w in workers)
    assert (tmp_path / "res.partial" / "chunks").exists() and not out.exists()
    # Resume, then compare with an uninterrupted run of the same scenario and seed.
    r = subprocess.run([str(IPS_SIM), "run", str(sc), "--out", str(out), "--workers", "2", "--no-plots", "-q",
                        "--resume"], capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr
    ref = tmp_path / "ref"
    r = subprocess.run([str(IPS_SIM), "run", str(sc), "--out", str(ref), "--workers", "1", "--no-plots", "-q"],
                       capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr
    for name in ("summary.csv", "replications.csv", "monthly.csv", "jobs.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


@pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc: Linux")
def test_workers_die_with_their_parent(tmp_path):
    proc, _, _ = _start_long_run(tmp_path)
    workers = _children(proc.pid)
    assert workers, "expected local worker processes"
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)


@pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc: Linux")
def test_interrupted_trial_resumes_identically(tmp_path):
    sc = tmp_path / "ips.yaml"
    sc.write_text("name: ips\n")
    out, ref = tmp_path / "trial", tmp_path / "ref"
    args = [str(IPS_SIM), "trial", str(sc), "--n-per-arm", "60", "--replications", "300"]
    proc = subprocess.Popen([*args, "--out", str(out), "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(), start_new_session=True,
                            preexec_fn=_as_from_a_terminal)
    saved = tmp_path / "trial.partial" / "ips"
    _wait_for_saved_work(proc, saved)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err and not out.exists()
    again = subprocess.run([*args, "--out", str(out)], capture_output=True, text=True, env=cli_env())
    assert again.returncode == 2 and "add --resume" in again.stderr  # saved work is never thrown away silently
    resumed = subprocess.run([*args, "--out", str(out), "--workers", "2", "--resume"], capture_output=True, text=True,
                             env=cli_env())
    assert resumed.returncode == 0, resumed.stderr
    assert not (tmp_path / "trial.partial").exists()
    plain = subprocess.run([*args, "--out", str(ref)], capture_output=True, text=True, env=cli_env())
    assert plain.returncode == 0, plain.stderr
    for name in ("trials.csv", "trial_summary.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
