"""Where the defaults live: the package's data folder (a copy of the repository's calibration/).

Kept apart from scenario.py so modules that read data files (prices) do not import the schema.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
DATA_SUFFIXES = (".csv", ".yaml")  # what of calibration/ ships in the package


def calibration_dir() -> Path:
    """Folder holding the defaults table and fitted parameters: the copy shipped in the package.

    ``IPS_SIM_CALIBRATION_DIR`` overrides it (tests, or a site with its own fit). The
    repository's ``calibration/`` is where ``ips-sim calibrate`` writes; ``make data``
    (:func:`refresh_package_data`) copies it into the package, and a test checks the two agree.
    """
    env = os.environ.get("IPS_SIM_CALIBRATION_DIR")
    if env:
        return Path(env)
    return PACKAGE_DATA


def repository_calibration_dir() -> Path:
    """``calibration/`` of the source checkout (where calibration writes), or ./calibration when installed."""
    repo = Path(__file__).resolve().parent.parent / "calibration"
    return repo if repo.is_dir() else Path("calibration")


def refresh_package_data(source: Path | None = None) -> list[str]:
    """Copy the defaults and fit (``*.csv``, ``*.yaml``) from ``calibration/`` into the package; names copied."""
    import shutil

    source = source or repository_calibration_dir()
    PACKAGE_DATA.mkdir(exist_ok=True)
    copied = []
    for path in sorted(source.iterdir()):
        if path.suffix in DATA_SUFFIXES:
            shutil.copyfile(path, PACKAGE_DATA / path.name)
            copied.append(path.name)
    return copied
