"""Calibration targets (``calibration/targets.csv``) and the trial design the calibration reproduces."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ips_sim.config import calibration_dir

DEFAULT_SEED = 20261123
DEFAULT_REPLICATIONS = 120
DEFAULT_BUDGET = 200
DEFAULT_DRAWS = 100
TRIAL_N = 120             # per arm: the mean IPS arm of the 28 RCTs is 3187/28 = 114; 120 = 6 specialists x 20
TRIAL_FOLLOW_UP = 18.0    # months: the trials' mean follow-up is 18.6 months (Bond slides)
PROGRAM_REPLICATIONS = 40       # running-program replications in the report
PROGRAM_REPLICATIONS_FIT = 20   # ... and in each evaluation of a fit with program targets (same seed: CRN)
DRAW_CHECKS = 10                # parameter draws re-simulated in the report to check the linearised inverse
ARMS = ("ips", "usual_services")

# Each published trial at its own follow-up: months of follow-up -> people randomized (both arms) in the
# 28 RCTs of IPS (Bond, IPS Employment Center research slides 2026, "Study characteristics of 28 RCTs").
# de Winter et al. 2022 (Epidemiol Psychiatr Sci 31:e50, Table 3) pool trials of 12 months or less and
# longer ones against active controls; the long group leaves out the two trials whose controls got "no
# additional services" (Drake 2013, Viering 2015). Participant-weighted follow-up: 10.6 and 21.4 months.
SHORT_TRIALS = {6.0: 204, 12.0: 696}
LONG_TRIALS = {15.0: 219, 18.0: 1854, 24.0: 941, 30.0: 151, 60.0: 100}
# The 28-RCT means (55% IPS, 25% control) are "mean competitive employment rates across RCTs" (the same
# slides): each trial's rate at its own follow-up, averaged over trials without weights. Months of follow-up
# -> number of trials (the unweighted mean follow-up is 522 / 28 = 18.6 months, the slides' figure).
ALL_TRIALS = {6.0: 3, 12.0: 6, 15.0: 2, 18.0: 8, 24.0: 7, 30.0: 1, 60.0: 1}


def weighted_follow_up(trials: dict) -> float:
    """Months of follow-up weighted by people randomized (SHORT_TRIALS: 10.6, LONG_TRIALS: 21.4) or, for
    ALL_TRIALS, by trials (18.6)."""
    return sum(f * w for f, w in trials.items()) / sum(trials.values())


TRIAL_HORIZON = 60.0      # months: trial arms are simulated this long (Hoffmann et al. 2014, 5 years) and
                          # read at every follow-up (the 18-month outcomes and the employment curve by month)


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    target: str
    metric: str
    arm: str          # ips, usual_services, difference (usual_services - ips), ratio (ips / usual_services),
                      # odds_ratio (odds of the IPS mean over odds of the usual-services mean)
    design: str       # trial (cohort) or program (running program, default scenario)
    role: str         # fit (in the loss) or check (reported only)
    value: float
    low: float
    high: float
    population: str = ""
    follow_up_months: str = ""
    source: str = ""
    definition: str = ""

    @property
    def sd(self) -> float:
        return max((self.high - self.low) / (2 * 1.959964), 1e-9)


def default_targets_path() -> Path:
    return calibration_dir() / "targets.csv"


def load_targets(path: str | Path | None = None) -> list[Target]:
    path = Path(path) if path else default_targets_path()
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lo, hi = (float(x) for x in row["ci_or_range"].split("-", 1))
            out.append(Target(row["target"], row["metric"], row["arm"], row["design"], row["role"],
                              float(row["value"]), lo, hi, row.get("population", ""),
                              row.get("follow_up_months", ""), row.get("source", ""), row.get("definition", "")))
    return out


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()

