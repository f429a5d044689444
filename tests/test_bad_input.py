"""Bad scenario input through the command line.

Every problem: exit status 2, one line per error on stderr naming the file,
the field path, the bad value and what is allowed; no traceback; no output
folder created and an existing one left as it was. ``ips-sim validate``
reports every error of every file, not just the first.

Most cases go through click's CliRunner (in process, fast); one real
subprocess per command checks the installed entry point end to end.
"""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner
from conftest import IPS_SIM, cli_env

from ips_sim.ui.cli import main

# name: (file text, [(field path, bad value as shown, fragment of what is allowed), ...])
CASES = {
    "wrong_type": ("team:\n  specialists: two\n",
                   [("team.specialists", "'two'", "valid integer")]),
    "wrong_type_section": ("team: 3\n",
                           [("team", "3", "dictionary")]),
    "fractional_integer": ("team:\n  caseload_cap: 12.5\n",
                           [("team.caseload_cap", "12.5", "integer")]),
    "negative_rate": ("engagement:\n  disengage_rate_per_month: -0.5\n",
                      [("engagement.disengage_rate_per_month", "-0.5", "greater than or equal to 0")]),
    "negative_referral_rate": ("referrals:\n  rate_per_month: -3\n",
                               [("referrals.rate_per_month", "-3", "greater than or equal to 0")]),
    "infinite_referral_rate": ("referrals:\n  rate_per_month: .inf\n",
                               [("referrals.rate_per_month", "inf", "finite")]),
    "caseload_cap_zero": ("team:\n  caseload_cap: 0\n",
                          [("team.caseload_cap", "0", "greater than or equal to 1")]),
    "unknown_key": ("team:\n  specialist: 3\n",
                    [("team.specialist", "3", "unknown field")]),
    "unknown_section": ("teams:\n  specialists: 3\n",
                        [("teams", "specialists", "unknown field")]),
    "probability_above_1": ("jobs:\n  preference_match_probability: 1.5\n",
                            [("jobs.preference_match_probability", "1.5", "less than or equal to 1")]),
    "probability_below_0": ("jobs:\n  preference_match_probability: -0.2\n",
                            [("jobs.preference_match_probability", "-0.2", "greater than or equal to 0")]),
    "share_outside_0_1": ("jobs:\n  end_reason_shares: {quit: 1.2, fired: -0.2}\n",
                          [("jobs.end_reason_shares", "1.2", "[0, 1]")]),
    "several_errors": ("team:\n  specialists: 0\n  caseload_cap: -1\njobs:\n  preference_match_probability: 2\n",
                       [("team.specialists", "0", "greater than or equal to 1"),
                        ("team.caseload_cap", "-1", "greater than or equal to 1"),
                        ("jobs.preference_match_probability", "2", "less than or equal to 1")]),
}
YAML_SYNTAX = "team:\n  specialists: [1, 2\n"


def _write(tmp_path, name: str, text: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def _stderr_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def _assert_clean_failure(result) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("name", sorted(CASES))
def test_run_bad_field(tmp_path, monkeypatch, name):
    text, expected = CASES[name]
    path = _write(tmp_path, name, text)
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "-q", "--no-plots"])
    _assert_clean_failure(result)
    lines = _stderr_lines(result)
    assert len(lines) == len(expected), lines
    for line, (field, value, allowed) in zip(lines, expected):
        # file: field.path: value: what is allowed
        assert line.startswith(f"{path}: {field}: "), line
        rest = line[len(f"{path}: {field}: "):]
        assert value in rest, line
        assert allowed in rest, line
    # No output folder, no half-written sibling, no default outputs/ folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_run_yaml_syntax_error(tmp_path, monkeypatch):
    path = _write(tmp_path, "syntax", YAML_SYNTAX)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out"), "-q"])
    _assert_clean_failure(result)
    lines = _stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: line ") and "YAML syntax error" in lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "outputs").exists()


def test_run_missing_file(tmp_path, monkeypatch):
    path = tmp_path / "nowhere.yaml"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out"), "-q"])
    _assert_clean_failure(result)
    lines = _stderr_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"{path}: ") and "no such file" in lines[0]
    assert sorted(tmp_path.iterdir()) == []


def test_existing_output_folder_left_unchanged_subprocess(tmp_path):
    """End to end through the installed ``ips-sim``: exit 2, one line, no traceback, folder untouched."""
    path = _write(tmp_path, "cap0", "team:\n  caseload_cap: 0\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text("metric,mean\nold,1\n")
    (out / "sub").mkdir()
    (out / "sub" / "x.txt").write_text("keep")
    snapshot = {p.relative_to(out): (p.read_bytes() if p.is_file() else None) for p in out.rglob("*")}
    proc = subprocess.run([str(IPS_SIM), "run", str(path), "--out", str(out), "--no-plots"],
                          capture_output=True, text=True, env=cli_env(), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"{path}: team.caseload_cap: 0: Input should be greater than or equal to 1"]
    assert {p.relative_to(out): (p.read_bytes() if p.is_file() else None) for p in out.rglob("*")} == snapshot
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cap0.yaml", "out"]


def test_validate_reports_every_error_in_every_file_subprocess(tmp_path):
    paths = [_write(tmp_path, name, text) for name, (text, _) in sorted(CASES.items())]
    paths.append(_write(tmp_path, "syntax", YAML_SYNTAX))
    good = _write(tmp_path, "good", "team:\n  specialists: 3\n")
    missing = tmp_path / "missing.yaml"
    args = [str(p) for p in paths] + [str(good), str(missing)]
    proc = subprocess.run([str(IPS_SIM), "validate", *args], capture_output=True, text=True, env=cli_env(),
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    expected_count = sum(len(e) for _, e in CASES.values()) + 2  # + syntax error + missing file
    assert len(lines) == expected_count, lines
    for name, (_, expected) in CASES.items():
        mine = [ln for ln in lines if ln.startswith(f"{tmp_path / name}.yaml: ")]
        assert [ln.split(": ")[1] for ln in mine] == [field for field, _, _ in expected]
    assert any(ln.startswith(f"{tmp_path / 'syntax'}.yaml: line ") for ln in lines)
    assert any(ln.startswith(f"{missing}: ") and "no such file" in ln for ln in lines)
    assert not any(str(good) in ln for ln in lines)


def test_validate_good_files_ok(tmp_path):
    a = _write(tmp_path, "a", "team:\n  specialists: 3\n")
    b = _write(tmp_path, "b", "")  # every field has a default
    result = CliRunner().invoke(main, ["validate", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["a: ok", "b: ok"]
