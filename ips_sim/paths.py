"""Where the defaults live (the calibration folder), for the modules that read data files."""

from __future__ import annotations

import os
from pathlib import Path


def calibration_dir() -> Path:
    """Folder holding the defaults table and fitted parameters.

    ``IPS_SIM_CALIBRATION_DIR`` overrides it (tests, or a site with its own fit).
    """
    env = os.environ.get("IPS_SIM_CALIBRATION_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "calibration"
