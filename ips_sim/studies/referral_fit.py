"""A county's referral history -> a fitted referral process a scenario can use as it is.

``ips-sim fit-referrals HISTORY.csv --out DIR`` reads monthly referral counts
(columns ``month`` (YYYY-MM) or ``date`` (ISO date), and ``referrals``), fits a
count regression with a log-linear trend and month-of-year seasonality
(statsmodels: Poisson GLM; negative binomial NB2 when the Cameron-Trivedi test
finds over-dispersion), and writes ``DIR/referrals.yaml``: a ``referrals:``
block with ``rate_per_month`` (de-seasonalised rate in the month after the
history, ``base_date``), ``trend_per_year``, ``seasonality`` (12 factors of mean
1) and ``overdispersion`` (NB2 alpha, 0 for Poisson). The model generates
exactly that rate (see ``Program._rate_schedule``): the expected count of each
month is the fitted mean, and with alpha > 0 the counts are negative binomial.

Also written: ``fit.txt`` (the report printed on the terminal), ``coefficients.csv``,
``forecast.csv`` (fitted and forecast means with a 90% prediction band) and ``fit.png``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from ips_sim.config import MONTH_NAMES, add_months
from ips_sim.core.errors import UserError
from ips_sim.core.paths import read_csv_rows

MIN_MONTHS = 12            # fewer cannot say anything about a year's pattern
SEASONAL_MONTHS = 24       # month-of-year factors need two of each month to be told apart from noise
OVERDISPERSION_P = 0.05    # Cameron-Trivedi test level for switching to the negative binomial
BAND = 0.90                # prediction band of the forecast


@dataclass
class History:
    """Monthly referral counts, one per calendar month (first of the month)."""

    source: str
    months: list[dt.date]
    counts: np.ndarray
    notes: list[str] = field(default_factory=list)


def _parse_month(text: str) -> dt.date | None:
    text = text.strip()
    for fmt in ("%Y-%m", "%Y-%m-%d", "%Y/%m", "%Y/%m/%d"):
        try:
            d = dt.datetime.strptime(text, fmt).date()
            return d.replace(day=1)
        except ValueError:
            continue
    return None


def read_history(path: str | Path) -> History:
    """Read and check a history CSV; every problem is one line of a UserError (file, row, column)."""
    path = Path(path)
    src = str(path)
    rows = read_csv_rows(path, "give a CSV with columns month (YYYY-MM) or date, and referrals")
    if not rows:
        raise UserError([f"{src}: (file): empty: expected a header with columns month (or date) and referrals"])
    header = [h.strip().lower() for h in rows[0]]
    errors, notes = [], []
    time_cols = [c for c in ("month", "date") if c in header]
    if not time_cols:
        errors.append(f"{src}: row 1: (header): missing column month (YYYY-MM) or date (YYYY-MM-DD)")
    elif len(time_cols) == 2:
        errors.append(f"{src}: row 1: (header): both month and date given: keep one of them")
    if "referrals" not in header:
        errors.append(f"{src}: row 1: (header): missing column referrals (the number referred in the month)")
    if errors:
        raise UserError(errors)
    ignored = [h for h in header if h not in ("month", "date", "referrals")]
    if ignored:
        notes.append(f"note: {src}: columns ignored: {', '.join(ignored)}")
    tcol, rcol = header.index(time_cols[0]), header.index("referrals")
    seen: dict[dt.date, int] = {}
    months, counts = [], []
    for row, cells in enumerate(rows[1:], start=2):
        t = cells[tcol].strip() if tcol < len(cells) else ""
        r = cells[rcol].strip() if rcol < len(cells) else ""
        d = _parse_month(t)
        if d is None:
            errors.append(f"{src}: row {row}, column {time_cols[0]}: {t!r}: expected a calendar month YYYY-MM "
                          f"(or a date YYYY-MM-DD)")
        elif d in seen:
            errors.append(f"{src}: row {row}, column {time_cols[0]}: {t!r}: month {d:%Y-%m} already given in row "
                          f"{seen[d]}: one row per month")
        else:
            seen[d] = row
        try:
            x = float(r)
        except ValueError:
            errors.append(f"{src}: row {row}, column referrals: {r!r}: not a number: a whole number of referrals >= 0")
            continue
        if not math.isfinite(x) or x < 0:
            errors.append(f"{src}: row {row}, column referrals: {r!r}: must be a whole number >= 0")
        elif x != int(x):
            errors.append(f"{src}: row {row}, column referrals: {r!r}: not a whole number: referrals are counts")
        elif d is not None:
            months.append(d)
            counts.append(int(x))
    if not errors and len(months) < MIN_MONTHS:
        errors.append(f"{src}: (file): {len(months)} months of history: at least {MIN_MONTHS} are needed "
                      f"(24 or more to fit month-of-year seasonality)")
    if errors:
        raise UserError(errors)
    order = np.argsort([m.toordinal() for m in months])
    months = [months[k] for k in order]
    counts = np.array(counts, dtype=float)[order]
    span = _index(months[0], months[-1]) + 1
    if span > len(months):
        notes.append(f"note: {src}: {span - len(months)} months missing between {months[0]:%Y-%m} and "
                     f"{months[-1]:%Y-%m}: fitted on the {len(months)} months given")
    return History(src, months, counts, notes)


def _index(a: dt.date, b: dt.date) -> int:
    return 12 * (b.year - a.year) + (b.month - a.month)


@dataclass
class ReferralFit:
    """The fitted model and everything the report, the plot and referrals.yaml need."""

    history: History
    family: str                        # "poisson" or "negative binomial (NB2)"
    seasonal: bool
    names: list[str]
    params: np.ndarray
    cov: np.ndarray
    alpha: float                       # NB2 overdispersion (0 for Poisson)
    alpha_ci: tuple[float, float]
    dispersion: dict                   # Pearson and Cameron-Trivedi statistics
    base_date: dt.date                 # month after the history: the forecast origin
    rate_per_month: float
    trend_per_year: float
    trend_ci: tuple[float, float]
    seasonality: dict[str, float] | None
    seasonality_ci: dict[str, tuple[float, float]] | None
    fitted: np.ndarray
    forecast: pd.DataFrame
    notes: list[str]


def _design(months: list[dt.date], origin: dt.date, seasonal: bool) -> np.ndarray:
    """Columns: constant, years since the first month, 11 month-of-year indicators (January is the reference)."""
    t = np.array([_index(origin, m) / 12.0 for m in months])
    cols = [np.ones(len(months)), t]
    if seasonal:
        cal = np.array([m.month for m in months])
        cols += [(cal == k).astype(float) for k in range(2, 13)]
    return np.column_stack(cols)


def _seasonal_factors(params: np.ndarray) -> np.ndarray:
    """Month-of-year factors (Jan..Dec) normalised to mean 1, from parameter vectors (rows)."""
    p = np.atleast_2d(params)
    logs = np.column_stack([np.zeros(len(p)), p[:, 2:13]])
    f = np.exp(logs)
    return f / f.mean(axis=1, keepdims=True)


def fit_referrals(history: History, forecast_months: int = 24, seed: int = 0, draws: int = 4000,
                  seasonality: str = "auto") -> ReferralFit:
    """Poisson GLM with trend and month-of-year seasonality; NB2 when over-dispersed (Cameron-Trivedi).

    ``seasonality``: ``on`` always fits month-of-year factors (needs 24 months), ``off`` never,
    ``auto`` keeps them only if a likelihood-ratio test against the trend-only model rejects
    "no seasonality" at the 5% level (with a few referrals a month, three years rarely can).
    """
    import statsmodels.api as sm
    from statsmodels.discrete.discrete_model import NegativeBinomial

    months, y = history.months, history.counts
    notes = list(history.notes)
    origin = months[0]
    enough = len(months) >= SEASONAL_MONTHS
    seasonal = enough and seasonality != "off"
    if not enough and seasonality != "off":
        if seasonality == "on":
            raise UserError([f"{history.source}: (file): {len(months)} months of history: month-of-year seasonality "
                             f"needs at least {SEASONAL_MONTHS}; use --seasonality off or auto"])
        notes.append(f"note: fewer than {SEASONAL_MONTHS} months: fitted a trend without month-of-year seasonality")
    if seasonal:
        full = sm.GLM(y, _design(months, origin, True), family=sm.families.Poisson()).fit()
        trend_only = sm.GLM(y, _design(months, origin, False), family=sm.families.Poisson()).fit()
        lr = 2.0 * (full.llf - trend_only.llf)
        p_season = float(stats.chi2.sf(lr, 11))
        verdict = "kept" if (seasonality == "on" or p_season < 0.05) else "dropped (not distinguishable from noise)"
        notes.append(f"seasonality: likelihood-ratio test against trend only: chi2 = {lr:.2f} on 11 df, "
                     f"p = {p_season:.3g} -> month-of-year factors {verdict}"
                     + (" (--seasonality on)" if seasonality == "on" else ""))
        seasonal = seasonality == "on" or p_season < 0.05
    X = _design(months, origin, seasonal)
    names = ["intercept", "trend_per_year"] + ([f"season_{m}" for m in MONTH_NAMES[1:]] if seasonal else [])
    pois = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    mu = pois.mu
    dof = len(y) - X.shape[1]
    pearson = float(pois.pearson_chi2)
    # Cameron & Trivedi (1990): regress ((y - mu)^2 - y) / mu on mu without a constant;
    # a positive slope (one-sided t test) means variance above the Poisson mean (NB2 form).
    aux = sm.OLS(((y - mu) ** 2 - y) / mu, mu).fit()
    ct_t = float(aux.tvalues[0])
    ct_p = float(stats.t.sf(ct_t, aux.df_resid))
    dispersion = {"pearson_chi2": pearson, "df": dof, "pearson_ratio": pearson / dof if dof > 0 else math.nan,
                  "pearson_p": float(stats.chi2.sf(pearson, dof)) if dof > 0 else math.nan,
                  "ct_slope": float(aux.params[0]), "ct_t": ct_t, "ct_p": ct_p}
    if ct_p < OVERDISPERSION_P:
        nb = NegativeBinomial(y, X, loglike_method="nb2").fit(start_params=np.append(pois.params, 0.1), disp=0,
                                                              maxiter=500)
        params, cov = np.asarray(nb.params[:-1]), np.asarray(nb.cov_params())[:-1, :-1]
        alpha = float(nb.params[-1])
        lo, hi = np.asarray(nb.conf_int())[-1]
        alpha_ci = (max(0.0, float(lo)), float(hi))
        family = "negative binomial (NB2)"
    else:
        params, cov = np.asarray(pois.params), np.asarray(pois.cov_params())
        alpha, alpha_ci, family = 0.0, (0.0, 0.0), "Poisson"
    fitted = np.exp(X @ params)

    base_date = add_months(months[-1], 1)
    t0 = _index(origin, base_date) / 12.0
    z = stats.norm.ppf(0.975)
    se = np.sqrt(np.diag(cov))
    if seasonal:
        factors = _seasonal_factors(params)[0]
        level = math.exp(params[0] + params[1] * t0) * float(np.exp(np.r_[0.0, params[2:13]]).mean())
    else:
        factors = None
        level = math.exp(params[0] + params[1] * t0)
    rng = np.random.default_rng(seed)
    sample = rng.multivariate_normal(params, cov, size=draws, method="svd")
    seasonality = seasonality_ci = None
    if seasonal:
        f_draws = _seasonal_factors(sample)
        seasonality = {m: float(f) for m, f in zip(MONTH_NAMES, factors)}
        seasonality_ci = {m: (float(np.quantile(f_draws[:, k], 0.025)), float(np.quantile(f_draws[:, k], 0.975)))
                          for k, m in enumerate(MONTH_NAMES)}

    future = [add_months(base_date, k) for k in range(forecast_months)]
    Xf = _design(future, origin, seasonal)
    mu_f = np.exp(Xf @ params)
    mu_draws = np.exp(sample @ Xf.T)
    if alpha > 0:
        mu_draws = mu_draws * rng.gamma(1.0 / alpha, alpha, size=mu_draws.shape)
    counts = rng.poisson(mu_draws)
    lo, hi = (1 - BAND) / 2, 1 - (1 - BAND) / 2
    forecast = pd.DataFrame({
        "month": [m.strftime("%Y-%m") for m in months] + [m.strftime("%Y-%m") for m in future],
        "kind": ["history"] * len(months) + ["forecast"] * len(future),
        "referrals": list(y) + [math.nan] * len(future),
        "mean": list(fitted) + list(mu_f),
        f"p{round(lo * 100)}": [math.nan] * len(months) + list(np.quantile(counts, lo, axis=0)),
        f"p{round(hi * 100)}": [math.nan] * len(months) + list(np.quantile(counts, hi, axis=0)),
    })
    return ReferralFit(history, family, seasonal, names, params, cov, alpha, alpha_ci, dispersion, base_date,
                       level, float(params[1]), (float(params[1] - z * se[1]), float(params[1] + z * se[1])),
                       seasonality, seasonality_ci, fitted, forecast, notes)


def coefficients_table(fit: ReferralFit) -> pd.DataFrame:
    """Estimates with 95% Wald intervals (log scale), the NB2 alpha, and the seasonal factors."""
    z = stats.norm.ppf(0.975)
    se = np.sqrt(np.diag(fit.cov))
    rows = [{"term": n, "estimate": p, "ci_low": p - z * s, "ci_high": p + z * s, "scale": "log rate"}
            for n, p, s in zip(fit.names, fit.params, se)]
    if fit.alpha > 0:
        rows.append({"term": "overdispersion_alpha", "estimate": fit.alpha, "ci_low": fit.alpha_ci[0],
                     "ci_high": fit.alpha_ci[1], "scale": "NB2 alpha"})
    if fit.seasonality:
        for m in MONTH_NAMES:
            rows.append({"term": f"factor_{m}", "estimate": fit.seasonality[m], "ci_low": fit.seasonality_ci[m][0],
                         "ci_high": fit.seasonality_ci[m][1], "scale": "factor (mean 1)"})
    return pd.DataFrame(rows)


def referrals_block(fit: ReferralFit) -> dict:
    """The ``referrals:`` mapping for a scenario (needs ``start.date`` in the scenario for the calendar)."""
    block = {
        "rate_per_month": round(fit.rate_per_month, 4),
        "trend_per_year": round(fit.trend_per_year, 5),
        "seasonality": {m: round(f, 4) for m, f in fit.seasonality.items()} if fit.seasonality else None,
        "overdispersion": round(fit.alpha, 5),
        "base_date": fit.base_date.isoformat(),
    }
    return {"referrals": block}


def report_lines(fit: ReferralFit) -> list[str]:
    """The fit as text: data, model, dispersion test, coefficients with CIs, what referrals.yaml says."""
    h = fit.history
    d = fit.dispersion
    lines = [f"{h.source}: {len(h.counts)} months, {h.months[0]:%Y-%m} to {h.months[-1]:%Y-%m}, "
             f"{h.counts.sum():.0f} referrals (mean {h.counts.mean():.2f} a month)", *fit.notes,
             f"model: {fit.family} regression of monthly referrals on a log-linear trend"
             + (" and month of year" if fit.seasonal else ""),
             f"dispersion: Pearson chi2/df = {d['pearson_ratio']:.2f} (p = {d['pearson_p']:.3g}); "
             f"Cameron-Trivedi slope {d['ct_slope']:.3f}, t = {d['ct_t']:.2f}, one-sided p = {d['ct_p']:.3g}"
             f" -> {'over-dispersed: negative binomial' if fit.alpha > 0 else 'no evidence against Poisson'}",
             "", f"{'term':22s} {'estimate':>10s}  95% CI"]
    for r in coefficients_table(fit).itertuples():
        lines.append(f"{r.term:22s} {r.estimate:10.4f}  [{r.ci_low:.4f}, {r.ci_high:.4f}]  {r.scale}")
    lo, hi = fit.trend_ci
    lines += ["", f"trend: referrals change by {math.expm1(fit.trend_per_year):+.1%} a year "
                  f"(95% CI {math.expm1(lo):+.1%} to {math.expm1(hi):+.1%})",
              f"rate in {fit.base_date:%Y-%m}" + (" (de-seasonalised)" if fit.seasonal else "") + ": "
              f"{fit.rate_per_month:.2f} referrals a month"]
    return lines


def plot_fit(fit: ReferralFit, path: Path) -> None:
    """History, fitted means and the forecast with its prediction band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = fit.forecast
    x = pd.to_datetime(f["month"] + "-01")
    hist = (f["kind"] == "history").to_numpy()
    band = [c for c in f.columns if c.startswith("p")]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(x[hist], f["referrals"][hist], width=20, color="0.7", label="referrals (history)")
    ax.plot(x[hist], f["mean"][hist], color="tab:blue", lw=1.5, label=f"fitted mean ({fit.family})")
    ax.plot(x[~hist], f["mean"][~hist], color="tab:blue", lw=1.5, ls="--", label="forecast mean")
    ax.fill_between(x[~hist], f[band[0]][~hist], f[band[1]][~hist], color="tab:blue", alpha=0.2, lw=0,
                    label=f"{BAND:.0%} prediction band (monthly count)")
    ax.set_ylabel("referrals per month")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{Path(fit.history.source).name}: referrals, fit and forecast", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_fit(folder: Path, fit: ReferralFit) -> None:
    """referrals.yaml, fit.txt, coefficients.csv, forecast.csv and fit.png into ``folder``."""
    from ips_sim.reporting.tables import write_csv

    header = (f"# Fitted by ips-sim fit-referrals from {fit.history.source} ({fit.family}, "
              f"{len(fit.history.counts)} months).\n# Paste into a scenario with start.date set (the calendar of "
              f"day 0); rate_per_month is the rate in base_date's month.\n")
    text = yaml.safe_dump(referrals_block(fit), sort_keys=False, default_flow_style=False)
    (folder / "referrals.yaml").write_text(header + text, encoding="utf-8")
    (folder / "fit.txt").write_text("\n".join(report_lines(fit)) + "\n", encoding="utf-8")
    write_csv(coefficients_table(fit), folder / "coefficients.csv")
    write_csv(fit.forecast, folder / "forecast.csv")
    plot_fit(fit, folder / "fit.png")
