"""The app's "Benefits and the public purse" tab: one replication's members' income and the public purse.

Drawn from the first replication's records (``economics/public_purse.py``,
``reporting/benefit_tables.py``): the public purse's items by program year, and one member's
earnings, SSI, SSDI and net income month by month, so a student can see why some members keep
their hours low.
"""

from __future__ import annotations

PURSE_LABELS = {"service_cost": "program service cost", "counselling_outside": "benefits counselling (outside)",
                "ssi_paid": "SSI paid (all referred)", "ssdi_paid": "SSDI paid (all referred)",
                "payroll_tax": "payroll tax received",
                "income_tax": "income tax received (net of EITC)", "public_purse_cost": "public purse: net cost"}


def purse_by_year(records, scenario):
    """Public purse items per program year of one replication (output price year, not discounted)."""
    import pandas as pd

    from ips_sim.economics.costs import with_public_purse

    rows = with_public_purse(records, scenario)
    df = pd.DataFrame({"year": rows["year"].astype(int), **{label: rows[k] for k, label in PURSE_LABELS.items()}})
    return df.round(0)


def benefit_cost_one(base: dict, variant: dict):
    """The WSIPP-style flows of one paired replication (``economics/benefit_cost.py``), as a table."""
    import numpy as np
    import pandas as pd

    from ips_sim.economics.benefit_cost import QUANTITIES, paired_flows
    from ips_sim.economics.costs import economic_outcomes

    def outcomes(r):
        return {k: np.array([v]) for k, v in economic_outcomes(r["first"], r["scenario"]).items()}

    flows = paired_flows(outcomes(variant), outcomes(base))
    rows = [{"quantity": words, "dollars": round(float(flows[q][0]))} for q, words in QUANTITIES]
    costs, benefits = float(flows["costs"][0]), float(flows["benefits"][0])
    rows.append({"quantity": "benefit-cost ratio", "dollars": round(benefits / costs, 2) if costs > 0 else float("nan")})
    return pd.DataFrame(rows)


def member_months(records, scenario):
    from ips_sim.reporting.benefit_tables import member_income_table

    return member_income_table([records], scenario)


def benefits_tab(st, labelled: list, wide: dict) -> None:
    """``wide``: the keyword that makes a chart fill the page in this Streamlit version."""
    import altair as alt

    from ips_sim.config.prices import currency_label

    if len(labelled) == 2 and all(r["first"] is not None for _, r in labelled):
        st.markdown("**Benefits and costs of your settings against the baseline** (replication 1 of each, the same "
                    "random numbers; `ips-sim compare` gives the same table over many replications with intervals):")
        st.dataframe(benefit_cost_one(labelled[0][1], labelled[1][1]), hide_index=True, **wide)
    for lab, r in labelled:
        sc, rec = r["scenario"], r["first"]
        if rec is None:
            continue
        currency = currency_label(sc.costs.price_year)
        st.markdown(f"**{lab or 'Your settings'}**: the public purse, replication 1 ({currency} a year; the "
                    "program's cost plus benefits paid, less taxes on members' earnings). Benefits are counted for "
                    "everyone referred, from referral on, so they grow as referrals accumulate; compare options "
                    f"by their difference. Counselling: *{sc.benefits.counselling_provider}*.")
        st.dataframe(purse_by_year(rec, sc), hide_index=True, **wide)
        months = member_months(rec, sc)
        workers = months[(months.benefit != "neither") & (months.earnings > 0)]
        if workers.empty:
            st.caption("No member on benefits worked in this replication.")
            continue
        ids = sorted(workers.member_id.unique().tolist())
        pick = st.selectbox("A member on benefits who worked", ids, key=f"benefit_member_{lab}")
        one = months[months.member_id == pick]
        st.caption(f"Member {pick}: {one.benefit.iloc[0]}, {'counselled' if one.counselled.iloc[0] else 'not counselled'}"
                   ". SSI falls by half of each dollar earned past $85 two months later; SSDI stops only above "
                   "SGA once the 9 trial work months and 3 grace months are used.")
        long = one.melt(id_vars=["month"], value_vars=["earnings", "ssi", "ssdi", "net_income"],
                        var_name="flow", value_name="dollars")
        st.altair_chart(alt.Chart(long).mark_line(point=True).encode(
            x=alt.X("month:Q", title="month of the run"), y=alt.Y("dollars:Q", title=f"{currency} a month"),
            color=alt.Color("flow:N")), **wide)
