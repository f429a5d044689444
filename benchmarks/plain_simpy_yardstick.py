"""Yardstick: ips-sim per replication against a plain SimPy model of the same work.

The plain model below is what a modeller would write in an afternoon with
SimPy alone (about 150 lines): the same team (caseload places as a
``simpy.Resource``), the same referrals and horizon, a first-come first-served
waitlist with exponential patience, job searches and job spells with the
default rates, drop-out that differs by phase, and step-down after a year of
work. Each member is a process; a competing-risk race is one timeout to the
first of the risks' drawn times (rates are constant within a phase). It has
no hours, no planning step, no supervision and no service shortfall: what
ips-sim adds is the mechanism, and this script measures what that costs.

Both run in this process, alternating in blocks of replications (so machine
load hits both alike, and each block's garbage collection is counted in it),
and the script prints per-replication times and the ratio. Times are CPU time
of this process (`time.process_time`), so other work on a shared machine
disturbs them less than wall time. It asserts nothing.

    .venv/bin/python benchmarks/plain_simpy_yardstick.py [--replications 200] [--block 10] [--records]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from pathlib import Path

import simpy

from ips_sim.analysis.metrics import replication_metrics
from ips_sim.config import DAYS_PER_MONTH, load_scenario
from ips_sim.sim.model import run_replication

ROOT = Path(__file__).resolve().parent.parent


class PlainProgram:
    """The same team, referrals and horizon in plain SimPy (one process per member)."""

    def __init__(self, sc, seed: int):
        self.env = simpy.Environment()
        self.rng = random.Random(seed)
        team, ref, en, js, jb = sc.team, sc.referrals, sc.engagement, sc.job_search, sc.jobs
        self.places = simpy.Resource(self.env, capacity=team.specialists * team.caseload_cap)
        self.horizon = sc.horizon_days
        m = DAYS_PER_MONTH
        self.referral_rate = ref.rate_per_month / m
        self.patience_mean = ref.patience_mean_days
        self.find_rate = (js.job_rate_own_per_month + js.job_rate_search_per_month
                          + js.job_rate_development_per_month) / m
        self.frailty_shape = 1.0 / js.heterogeneity_cv ** 2
        self.contact_rate = 1.0 / js.first_contact_mean_days
        self.drop_early = en.disengage_rate_early_per_month / m
        self.drop_late = en.disengage_rate_per_month / m
        self.drop_employed = en.disengage_rate_employed_per_month / m
        self.early_days = en.early_months * m
        self.end_rate = jb.end_rate_per_month / m
        self.match_p, self.match_ratio = jb.preference_match_probability, jb.match_tenure_ratio
        # latent job classes (ips_sim/sim/tenure.py): fragile jobs end fragile_rate_ratio times faster
        self.fragile_share, self.fragile_ratio = jb.fragile_share, jb.fragile_rate_ratio
        self.step_down_days = sc.follow_along.step_down_after_months * m
        self.members: list[list] = []  # [referral, enrollment, first contact, first job, exit, reason, jobs]
        self.jobs: list[tuple] = []    # (member referral day, start, stop, ended)
        self.env.process(self.referrals())

    def run(self):
        self.env.run(until=self.horizon)
        return self.members, self.jobs

    def referrals(self):
        env, rng = self.env, self.rng
        while True:
            yield env.timeout(rng.expovariate(self.referral_rate))
            rec = [env.now, None, None, None, None, None, 0]
            self.members.append(rec)
            env.process(self.member(rec))

    def member(self, rec):
        env, rng = self.env, self.rng
        req = self.places.request()
        give_up = env.timeout(rng.expovariate(1.0 / self.patience_mean))
        yield req | give_up
        if not req.triggered:
            req.cancel()
            rec[4], rec[5] = env.now, "gave_up_waiting"
            return
        rec[1] = enrolled = env.now
        frailty = rng.gammavariate(self.frailty_shape, 1.0 / self.frailty_shape)
        contact_due = enrolled + rng.expovariate(self.contact_rate)
        reason = yield from self.career(rec, enrolled, frailty, contact_due)
        rec[4], rec[5] = env.now, reason
        self.places.release(req)

    def career(self, rec, enrolled, frailty, contact_due):
        """Job search and job spells until the member leaves; returns the exit reason.

        Rates are constant within a phase, so each competing-risk race is settled by
        drawing every risk's time and waiting for the first (one timeout per spell).
        """
        env, rng = self.env, self.rng
        while True:
            now = env.now
            find = now + rng.expovariate(self.find_rate * frailty)
            early_end = enrolled + self.early_days
            drop = now + rng.expovariate(self.drop_early) if now < early_end else math.inf
            if drop > early_end:  # not in the early months: the later rate from then on (memoryless)
                drop = max(now, early_end) + rng.expovariate(self.drop_late)
            yield env.timeout(min(find, drop) - now)
            if rec[2] is None and contact_due <= env.now:
                rec[2] = contact_due
            if drop < find:
                return "disengaged"
            start = env.now
            rec[6] += 1
            if rec[3] is None:
                rec[3] = start
                if rec[2] is None:
                    rec[2] = start
            ratio = self.match_ratio if rng.random() < self.match_p else 1.0
            if rng.random() < self.fragile_share:
                ratio /= self.fragile_ratio
            ends = rng.expovariate(self.end_rate / ratio)
            drop = rng.expovariate(self.drop_employed)
            stop = min(ends, drop, self.step_down_days)
            yield env.timeout(stop)
            self.jobs.append((rec[0], start, env.now, stop == ends))
            if stop != ends:
                return "disengaged" if stop == drop else "stepped_down"


def plain_replication(sc, replication: int):
    return PlainProgram(sc, sc.simulation.seed * 100_003 + replication).run()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "two_specialists_38_members.yaml"))
    ap.add_argument("--replications", type=int, default=200)
    ap.add_argument("--block", type=int, default=10, help="replications timed together, alternating the models")
    ap.add_argument("--records", action="store_true",
                    help="also time the whole replication as `ips-sim run` does it: simulation, freeze to arrays, "
                         "metrics")
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    clock = time.process_time

    def block_time(replicate, first: int) -> float:
        """CPU time per replication of ``block`` replications in a row (garbage collection included)."""
        t = clock()
        for i in range(first, first + args.block):
            replicate(i)
        return (clock() - t) / args.block

    def ips_run(i):  # what `ips-sim run` does per replication (experiment._run_chunk)
        replication_metrics(run_replication(sc, i).freeze(), sc)

    for i in range(3):  # warm caches and imports on both sides
        plain_replication(sc, i)
        ips_run(i)
    plain, ips, ips_full = [], [], []
    for first in range(0, args.replications, args.block):
        plain.append(block_time(lambda i: plain_replication(sc, i), first))
        ips.append(block_time(lambda i: run_replication(sc, i), first))
        if args.records:
            ips_full.append(block_time(ips_run, first))
    n_plain = statistics.mean(len(plain_replication(sc, i)[0]) for i in range(20))
    n_ips = statistics.mean(len(run_replication(sc, i).members) for i in range(20))

    def ms(x):
        return f"{statistics.median(x) * 1000:7.1f} ms (mean {statistics.mean(x) * 1000:.1f})"

    print(f"scenario {sc.name}: {sc.simulation.horizon_years} simulated years, {args.replications} replications "
          f"in blocks of {args.block} (CPU time per replication, median over blocks)")
    print(f"  plain SimPy model      {ms(plain)}  {n_plain:.0f} referrals")
    print(f"  ips-sim simulation     {ms(ips)}  {n_ips:.0f} referrals")
    print(f"  ratio ips-sim / plain  {statistics.median(ips) / statistics.median(plain):.2f}x")
    if args.records:
        print(f"  ips-sim + freeze + metrics {ms(ips_full)}  ratio "
              f"{statistics.median(ips_full) / statistics.median(plain):.2f}x")


if __name__ == "__main__":
    main()
