"""ips-sim installs as a package: its defaults ship inside it, and a built wheel runs from anywhere."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

from conftest import REPO

from ips_sim.config import DATA_SUFFIXES, PACKAGE_DATA


def test_packaged_defaults_are_the_repository_calibration():
    """calibration/ is where ips-sim calibrate writes; the package ships a copy (refresh: make data)."""
    source = sorted(p.name for p in (REPO / "calibration").iterdir() if p.suffix in DATA_SUFFIXES)
    shipped = sorted(p.name for p in PACKAGE_DATA.iterdir() if p.suffix in DATA_SUFFIXES)
    assert shipped == source, "run `make data` to refresh ips_sim/data from calibration/"
    for name in source:
        assert (PACKAGE_DATA / name).read_bytes() == (REPO / "calibration" / name).read_bytes(), \
            f"ips_sim/data/{name} differs from calibration/{name}: run `make data`"


def test_wheel_installs_and_runs_from_another_folder(tmp_path):
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wheel = next(dist.glob("ips_sim-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    # Without PYTHONPATH: a source tree on it (with the egg-info a build leaves) would make pip see ips_sim as
    # installed already and install nothing.
    env = {k: v for k, v in os.environ.items() if k not in ("IPS_SIM_CALIBRATION_DIR", "PYTHONPATH")}
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    # Dependencies come from the test environment's site-packages; ips_sim itself only from the wheel
    # (a plain path line in a .pth adds the folder, not the editable install's import hook).
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "small.yaml").write_text("name: small\nsimulation: {horizon_years: 1, warmup_years: 0.5}\n")
    where = subprocess.run([str(py), "-c", "import ips_sim, ips_sim.config as s; print(ips_sim.__file__); "
                            "print(s.calibration_dir())"], capture_output=True, text=True, cwd=elsewhere, env=env)
    assert where.returncode == 0, where.stderr
    assert str(venv) in where.stdout and str(REPO) not in where.stdout, where.stdout
    r = subprocess.run([str(venv / "bin" / "ips-sim"), "run", "small.yaml", "-n", "2", "-q", "--no-plots"],
                       capture_output=True, text=True, cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "outputs" / "small" / "summary.csv").exists()
    # the board report's jinja2 templates ship in the wheel (package data)
    r = subprocess.run([str(venv / "bin" / "ips-sim"), "report", "outputs/small"],
                       capture_output=True, text=True, cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "outputs" / "small" / "report.html").exists()
