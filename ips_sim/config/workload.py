"""How much simulating a request would take, estimated before any of it starts.

A scenario within the schema's bounds can still ask for more than a machine
can do (10,000 referrals a month for 100 years, 1,000 specialists planning
every day, 100,000 replications). :func:`check_work` estimates the CPU time
and the size of one replication from the scenario alone and refuses, with one
line giving the estimate and the limit, what would not finish in reasonable
time or memory; the commands' ``--force`` skips the refusal.

The cost model is linear in what the event loop does: every referral costs
its events (arrival, waiting, enrolment, job search, jobs, exit), every
planning step costs a pass over each specialist. The constants are CPU
times measured on the team's 2-core machine (benchmarks/bench_workload.py
prints them) and rounded up, so the estimate errs on the long side (by 1.3x
to 7x in the benchmark's cases).
"""

from __future__ import annotations

from dataclasses import dataclass

from ips_sim.config.fields import DAYS_PER_MONTH
from ips_sim.config.schema import Scenario
from ips_sim.core.errors import UserError

# CPU time measured by benchmarks/bench_workload.py (2 cores, Python 3.11): 14 us per referral who gives
# up waiting to 75 us per referral served, 9 us per specialist per planning step; rounded up.
SECONDS_PER_REFERRAL = 1.0e-4
SECONDS_PER_SPECIALIST_STEP = 1.5e-5
MAX_CPU_SECONDS = 3600                 # refuse more than 1 CPU-hour of simulation without --force
MAX_REFERRALS_PER_REPLICATION = 1_000_000   # a replication holds every member in memory (measured ~0.6 KB each)


class WorkTooLarge(UserError):
    """A request that would take longer (or more memory) than the limits; ``--force`` runs it anyway."""


@dataclass(frozen=True)
class WorkEstimate:
    """Expected size of a request: CPU time, replications, and the largest replication's referrals and steps."""

    cpu_seconds: float
    replications: int
    referrals: float               # expected referrals in one replication (the largest, for several scenarios)
    specialist_steps: float        # specialists x planning steps in one replication (likewise)

    def __add__(self, other: "WorkEstimate") -> "WorkEstimate":
        return WorkEstimate(self.cpu_seconds + other.cpu_seconds, self.replications + other.replications,
                            max(self.referrals, other.referrals), max(self.specialist_steps, other.specialist_steps))


def expected_referrals(scenario: Scenario) -> float:
    """Expected referrals over the horizon: the day-0 cohort plus the integral of the referral rate."""
    ref = scenario.referrals
    horizon = scenario.horizon_days
    pieces = [(0.0, ref.rate_per_month)]
    for p in ref.schedule:  # the model's rule: a period replaces every piece starting at or after it
        day = p.from_month * DAYS_PER_MONTH
        pieces = [q for q in pieces if q[0] < day] + [(day, p.rate_per_month)]
    total = float(ref.cohort_size)
    for k, (start, rate) in enumerate(pieces):
        end = pieces[k + 1][0] if k + 1 < len(pieces) else horizon
        if start < horizon:
            total += rate / DAYS_PER_MONTH * (min(end, horizon) - start)
    return total


def estimate(scenario: Scenario, replications: int) -> WorkEstimate:
    """The work of ``replications`` replications of ``scenario``."""
    referrals = expected_referrals(scenario)
    steps = scenario.team.specialists * scenario.horizon_days / scenario.simulation.planning_step_days
    per_rep = referrals * SECONDS_PER_REFERRAL + steps * SECONDS_PER_SPECIALIST_STEP
    return WorkEstimate(per_rep * replications, replications, referrals, steps)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:,.0f} days"


def work_problems(work: WorkEstimate, what: str) -> list[str]:
    """One line per limit ``work`` exceeds (empty if it is within them); ``what`` names the request."""
    problems = []
    if work.referrals > MAX_REFERRALS_PER_REPLICATION:
        problems.append(
            f"{what}: about {work.referrals:,.0f} referrals in one replication: at most "
            f"{MAX_REFERRALS_PER_REPLICATION:,} fit in memory; lower referrals.rate_per_month, "
            "referrals.cohort_size or simulation.horizon_years, or add --force to run anyway")
    if work.cpu_seconds > MAX_CPU_SECONDS:
        problems.append(
            f"{what}: estimated {_duration(work.cpu_seconds)} of CPU time ({work.replications:,} replications of up to "
            f"{work.referrals:,.0f} referrals and {work.specialist_steps:,.0f} specialist planning steps each): "
            f"the limit is {_duration(MAX_CPU_SECONDS)}; use fewer replications, a shorter horizon or fewer "
            "referrals, or add --force to run anyway")
    return problems


def check_work(work: WorkEstimate, what: str, force: bool = False) -> None:
    """Raise :class:`WorkTooLarge` (one line per limit, exit status 2) unless ``work`` fits or ``force``."""
    if force:
        return
    problems = work_problems(work, what)
    if problems:
        raise WorkTooLarge(problems)


def check_scenario(scenario: Scenario, replications: int, what: str, force: bool = False) -> None:
    """:func:`check_work` for ``replications`` of one scenario."""
    check_work(estimate(scenario, replications), what, force)


def check_many(requests, what: str, force: bool = False) -> None:
    """:func:`check_work` for several (scenario, replications) run together (a sweep's points, a plan's values)."""
    if force:
        return
    total = WorkEstimate(0.0, 0, 0.0, 0.0)
    for scenario, replications in requests:
        total = total + estimate(scenario, replications)
    check_work(total, what)
