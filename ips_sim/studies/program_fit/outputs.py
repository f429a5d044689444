"""What ``ips-sim fit-program`` writes: posterior draws, program.yaml, diagnostics, plots and the report."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import yaml

from ips_sim.config.program_records import ProgramRecords, quarter_after, quarter_label
from ips_sim.sim.start import start_from_records
from ips_sim.studies.program_fit.fit import BANDS, POOR_OUTSIDE, POOR_P, Predictive, ProgramFit, bands, reported
from ips_sim.studies.program_fit.history import PRIOR_REASONING, REFERRALS
from ips_sim.studies.program_fit.series import QUARTER_DAYS

LABELS = {"people_served": "people served", "people_working": "people working", "job_starts": "new job starts",
          "enrollments": "new enrollments", "referrals": "referrals", "closures": "closures",
          "waiting": "waiting at quarter end"}


def posterior_csv(f: ProgramFit) -> bytes:
    """One row per equal-weight posterior draw: the scenario values (``ips:`` columns, the format of
    calibration/draws.csv, read by --parameter-uncertainty) and the log factors."""
    rows = []
    for k, theta in enumerate(f.draws.to_dict("records")):
        row = {"draw": k}
        row.update({f"ips:{path}": round(v, 8) for path, v in f.model.updates(theta).items()})
        row.update({f"log_factor:{n}": round(v, 6) for n, v in theta.items()})
        rows.append(row)
    return pd.DataFrame(rows).to_csv(index=False, lineterminator="\n").encode()


def parameter_table(f: ProgramFit) -> pd.DataFrame:
    """Prior against posterior per parameter: mean and 90% interval, as factors (rates for the referral level)."""
    rows = []
    for p in f.model.parameters:
        post, prior = f.draws[p.name], f.prior_draws[p.name]
        rows.append({"parameter": p.name, "what": p.words, "national_log_sd": f.model.national_sd[p.name],
                     "prior_log_sd": f.model.prior_sd[p.name],
                     "prior_mean": math.exp(f.model.prior_mean[p.name]),
                     "prior_p5": float(np.exp(prior.quantile(0.05))), "prior_p95": float(np.exp(prior.quantile(0.95))),
                     "posterior_mean": float(np.exp(post).mean()),
                     "posterior_p5": float(np.exp(post.quantile(0.05))),
                     "posterior_p95": float(np.exp(post.quantile(0.95))),
                     "interval_narrowed_to": float((post.quantile(0.95) - post.quantile(0.05))
                                                   / (prior.quantile(0.95) - prior.quantile(0.05)))})
    return pd.DataFrame(rows)


def program_yaml(f: ProgramFit, base_raw: dict, records: ProgramRecords, pred: Predictive, fitted: int) -> bytes:
    """A scenario of the program today (the end of its last fitted quarter): the base scenario, the posterior
    means of the local parameters, a ``start:`` state and ``parameter_draws: posterior.csv``."""
    data = {k: v for k, v in base_raw.items() if k not in ("start", "simulation")}
    data["name"] = f"{base_raw.get('name') or 'program'}_fitted"
    data["description"] = (f"The program of {records.source} as fitted by ips-sim fit-program to {fitted} quarters "
                           f"({quarter_label(records.quarters[0])}-{quarter_label(records.quarters[fitted - 1])}); "
                           f"starts at the end of the last quarter")
    sim = dict(base_raw.get("simulation") or {})
    sim.pop("warmup_years", None)
    sim.setdefault("horizon_years", 2)      # planning the next two years from today, unless the base says
    data["simulation"] = sim
    mean = {p.name: float(np.log(np.exp(f.draws[p.name]).mean())) for p in f.model.parameters}
    for path, v in f.model.updates(mean).items():
        if path == REFERRALS.paths[0]:
            continue
        section, _, name = path.partition(".")
        data.setdefault(section, {})[name] = round(v, 6)
    refs = dict(data.get("referrals") or {})
    if records.has("referrals"):
        refs["rate_per_month"] = round(float(records.values["referrals"][max(0, fitted - 4):fitted].mean() / 3), 4)
    else:
        refs["rate_per_month"] = round(float(np.exp(f.draws[REFERRALS.name]).mean()), 4)
    data["referrals"] = refs
    team = dict(data.get("team") or {})
    team["specialists"] = f.model.posts
    data["team"] = team
    data["start"] = _start(f, records, pred, fitted)
    data["parameter_draws"] = "posterior.csv"
    header = ("# The program as fitted by ips-sim fit-program: the base scenario with the posterior means of the\n"
              "# local parameters (job finding, job ending, drop-out factors on the national rates), today's state\n"
              "# (start:, from the posterior predictive history nearest the last report) and the posterior draws\n"
              "# (parameter_draws: used by --parameter-uncertainty in run, plan, compare, sensitivity and state).\n")
    return (header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)).encode()


def _start(f: ProgramFit, records: ProgramRecords, pred: Predictive, fitted: int) -> dict:
    """Today's caseload: the state at the end of the fitted quarters of the predictive history whose last
    quarter is nearest the report (people served and working, then waiting); vacant posts from the FTE."""
    last = fitted - 1
    score = np.zeros(len(pred.records))
    for c in ("people_served", "people_working", "waiting"):
        if records.has(c):
            obs = records.values[c][last]
            score += (pred.series[c][:, last] - obs) ** 2 / max(obs, 1.0)
    best = int(np.argmin(score))
    # Half a day before the end: jobs still going at the horizon are censored there, not ended.
    state = start_from_records(pred.records[best], fitted * QUARTER_DAYS - 0.5)
    state = json.loads(json.dumps({k: v for k, v in state.items() if k in ("waitlist", "job_seekers", "workers")},
                                  default=lambda x: x.item() if hasattr(x, "item") else float(x)),
                       parse_float=lambda t: round(float(t), 2))
    out = {"date": quarter_after(records.quarters[last]).isoformat(), **state}
    if records.has("specialist_fte"):
        fte_per = f.model.scenario.team.fte_per_specialist
        vacant = int(round(f.model.posts - records.values["specialist_fte"][last] / fte_per))
        if vacant > 0:
            out["vacant_posts"] = vacant
    return out


def plot_predictive(path, records: ProgramRecords, pred: Predictive, fitted: int, title: str) -> None:
    """Each reported series against the posterior predictive 50% and 90% bands (held-out quarters shaded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = reported(records)
    n = len(cols)
    ncol = 2 if n > 1 else 1
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 2.6 * nrow), squeeze=False, sharex=True)
    q = len(records)
    x = np.arange(pred.quarters)
    for ax, c in zip(axes.flat, cols):
        b = bands(pred.series[c])
        ax.fill_between(x, b[0.05], b[0.95], color="tab:blue", alpha=0.18, lw=0, label="90% predictive band")
        ax.fill_between(x, b[0.25], b[0.75], color="tab:blue", alpha=0.35, lw=0, label="50% predictive band")
        ax.plot(x, b[0.5], color="tab:blue", lw=1.2, label="predictive median")
        ax.plot(np.arange(q), records.values[c], "o", color="black", ms=3.5, label="reported")
        if fitted < q:
            ax.axvspan(fitted - 0.5, q - 0.5, color="tab:orange", alpha=0.12, lw=0, label="held out (not fitted)")
        ax.set_title(LABELS[c], fontsize=9)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in axes.flat[n:]:
        ax.axis("off")
    labels = [quarter_label(d) for d in records.quarters]
    step = max(1, q // 6)
    for ax in axes.flat[:n]:
        ax.set_xticks(x[:q:step], labels[::step], fontsize=7, rotation=30)
        ax.tick_params(labelbottom=True)
    axes.flat[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_parameters(path, f: ProgramFit) -> None:
    """Prior against posterior of each local parameter (as a factor, or referrals a month)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ps = f.model.parameters
    fig, axes = plt.subplots(1, len(ps), figsize=(3.4 * len(ps), 2.8), squeeze=False)
    for ax, p in zip(axes[0], ps):
        prior, post = np.exp(f.prior_draws[p.name]), np.exp(f.draws[p.name])
        hi = float(np.quantile(prior, 0.99))
        bins = np.linspace(0, hi, 40)
        ax.hist(prior.clip(upper=hi), bins=bins, density=True, color="0.75", label="prior")
        ax.hist(post.clip(upper=hi), bins=bins, density=True, color="tab:blue", alpha=0.7, label="posterior")
        if p is not REFERRALS:
            ax.axvline(1.0, color="0.3", lw=0.8, ls="--", label="national fit")
        ax.set_title(p.name.replace("_", " ") + (" (a month)" if p is REFERRALS else " (factor)"), fontsize=9)
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report_lines(f: ProgramFit, records: ProgramRecords, fitted: int, chk: dict, sentence: str,
                 holdout: pd.DataFrame | None) -> list[str]:
    """The fit as text: data, parameters (prior and posterior), diagnostics, check, standing, hold-out scores."""
    lines = [f"{records.source}: {len(records)} quarters, {records.label[0]} to {records.label[-1]}; fitted on "
             f"{fitted} ({records.label[0]}-{records.label[fitted - 1]})", *records.notes, *f.model.notes, *f.notes,
             f"ABC-SMC (pyabc): {len(f.generations)} generations of {int(f.generations['accepted'].iloc[-1])} "
             f"particles, {f.simulations} simulations in {f.seconds:.0f} s; final acceptance "
             f"{f.generations['acceptance'].iloc[-1]:.1%}, effective sample size {f.ess:.0f}", "",
             f"{'parameter':15s} {'prior mean [90%]':>24s} {'posterior mean [90%]':>26s}"]
    for r in parameter_table(f).itertuples():
        lines.append(f"{r.parameter:15s} {r.prior_mean:8.2f} [{r.prior_p5:5.2f}, {r.prior_p95:5.2f}]   "
                     f"{r.posterior_mean:10.2f} [{r.posterior_p5:5.2f}, {r.posterior_p95:5.2f}]")
    lines += ["(factors on the national fit's rates; the referral level in referrals a month)", ""]
    if chk["poor"]:
        lines.append(f"POOR FIT: the records are out of reach of the model: {_why(chk)}. The parameters and "
                     f"forecasts below describe the nearest the model can come, not this program; check the records "
                     f"(what counts as served and working) before using them.")
    else:
        lines.append(f"posterior predictive check: {chk['outside_90']:.0%} of reported points outside the 90% "
                     f"band (about 10% expected); share working p = {chk['p_working_share']:.2f}, people served "
                     f"p = {chk['p_people_served']:.2f}: the records are within the model's reach")
    lines += ["", sentence]
    if holdout is not None:
        k = int(holdout["quarters"].iloc[0])
        lines += ["", f"hold-out: forecast of the last {k} quarters from the first {fitted} "
                      f"(naive forecast: the last fitted quarter repeated)",
                  f"  {'series':16s} {'50% covered':>11s} {'90% covered':>11s} {'MAE model':>10s} {'MAE naive':>10s}"]
        for r in holdout.itertuples():
            lines.append(f"  {r.series:16s} {r.coverage_50:11.0%} {r.coverage_90:11.0%} {r.mae_model:10.2f} "
                         f"{r.mae_naive:10.2f}")
    return lines


def _why(chk: dict) -> str:
    parts = []
    if chk["p_working_share"] < POOR_P:
        lo, hi = chk["working_share_predicted"]
        parts.append(f"{chk['working_share_observed']:.0%} of people served working, where the fitted model gives "
                     f"{lo:.0%} to {hi:.0%}")
    if chk["p_people_served"] < POOR_P:
        parts.append("people served outside what the model reproduces")
    if chk["outside_90"] > POOR_OUTSIDE:
        parts.append(f"{chk['outside_90']:.0%} of reported points outside the 90% predictive band")
    return "; ".join(parts)


def diagnostics_text(f: ProgramFit) -> str:
    buf = io.StringIO()
    buf.write("ABC-SMC generations (pyabc):\n")
    buf.write(f.generations.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    buf.write("\n\nprior against posterior:\n")
    buf.write(parameter_table(f).drop(columns=["what"]).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    buf.write("\n\nsummary statistics compared (observed):\n")
    for k, v in f.observed.items():
        buf.write(f"  {k}: {v:.4g}\n")
    buf.write("\npriors: " + PRIOR_REASONING + "\n")
    return buf.getvalue()


def bands_csv(records: ProgramRecords, pred: Predictive) -> bytes:
    rows = []
    for c in reported(records):
        b = bands(pred.series[c])
        for k in range(pred.quarters):
            row = {"series": c, "quarter": k + 1,
                   "reported": float(records.values[c][k]) if k < len(records) else math.nan}
            row.update({f"p{round(q * 100)}": float(b[q][k]) for q in BANDS})
            rows.append(row)
    return pd.DataFrame(rows).to_csv(index=False, lineterminator="\n").encode()
