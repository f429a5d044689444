"""Members' disability benefits and the hours they choose because of them.

At referral each member draws the benefits they receive (SSDI, SSI, both or neither:
``benefits.share_*``) from a stream of its own (``benefit_status``), so every other draw, and
the k-th referral's benefits, are the same in every option run with the same seed.
An SSDI beneficiary offered a job may take fewer hours to protect the check (a draw of its
own stream, ``benefit_hours_choice``): without counselling, with ``benefits.uncounselled_cap_probability``,
hours that keep a month's earnings under the trial work month amount (the first level at
which SSA counts work: fear of losing benefits, no knowledge of the trial work period);
once counselled, with ``counselled_cap_probability``, hours that keep earnings under
substantial gainful activity (SGA), so the check is never suspended ("parking"). Counselling is received from an
outside counsellor at enrollment, or, with ``counselling_provider: specialist``, through the
specialist's intake hours (``Program``: first come, first served), so staffing changes it only
through hours delivered; ``none``: nobody is counselled (usual services).
"""

from __future__ import annotations

from enum import IntEnum

from ips_sim.config import DAYS_PER_MONTH, Scenario, prices
from ips_sim.config.benefit_rules import rules
from ips_sim.core.streams import Streams

# Members who cap their hours keep a month's earnings this far under the limit (a margin of 1%).
MARGIN = 0.99


class Benefit(IntEnum):
    """Benefits a member receives at referral (the code in ``FrozenRecords.member["benefit_status"]``)."""

    NEITHER = 0
    SSDI = 1
    SSI = 2
    BOTH = 3   # concurrent: SSDI plus SSI topping it up

    @property
    def label(self) -> str:
        return self.name.lower()


# (module constants: an Enum's class attribute costs ~10x a global to read; status runs per referral)
NEITHER, SSDI, SSI, BOTH = Benefit


class BenefitChoice:
    """Draws of benefit status and the hours rule of one replication."""

    def __init__(self, scenario: Scenario, streams: Streams, stream: str = "benefit_status"):
        b = scenario.benefits
        self.draw_status = streams.uniform(stream)
        self.draw_cap = streams.uniform("benefit_hours_choice")
        # cumulative shares: SSDI, SSI, both, then neither
        self.cuts = (b.share_ssdi, b.share_ssdi + b.share_ssi, b.share_ssdi + b.share_ssi + b.share_both)
        self.p_cap = (b.uncounselled_cap_probability, b.counselled_cap_probability)
        wage_year = scenario.costs.price_years["hourly_wage"]
        r = rules(b.rules_year)
        to_week = prices.convert(1.0, b.rules_year, wage_year) * MARGIN * 7.0 / DAYS_PER_MONTH
        # weekly earnings (hours x wage, wage-year dollars) at which a month's earnings reach the limit x margin:
        # uncounselled, the trial work month amount; counselled, SGA
        self.week_limit = (r.twp_month_earnings * to_week, r.sga_monthly * to_week)
        self.outside = b.counselling_provider == "counsellor"
        self.counsel_hours = b.counselling_hours_per_beneficiary if b.counselling_provider == "specialist" else 0.0

    def status(self) -> int:
        u = self.draw_status()
        c = self.cuts
        return SSDI if u < c[0] else SSI if u < c[1] else BOTH if u < c[2] else NEITHER

    def hours(self, status: int, counselled: bool, hours: float, wage: float) -> tuple[float, bool]:
        """Hours a member takes of a job offering ``hours`` at ``wage``; and whether they capped them."""
        k = 1 if counselled else 0
        limit = self.week_limit[k]
        if (status == SSDI or status == BOTH) and hours * wage > limit:
            if self.draw_cap() < self.p_cap[k]:
                return limit / wage, True
        return hours, False
