"""A county's referral history -> a fitted referral process a scenario can use as it is.

``ips-sim fit-referrals HISTORY.csv --out DIR`` reads monthly referral counts
(columns ``month`` (YYYY-MM) or ``date`` (ISO date), and ``referrals``), fits a
count regression with a log-linear trend and a seasonal pattern (statsmodels:
Poisson GLM; negative binomial NB2 when the Cameron-Trivedi test finds
over-dispersion), and writes ``DIR/referrals.yaml``: a ``referrals:``
block with ``rate_per_month`` (de-seasonalised rate in the month after the
history, ``base_date``), ``trend_per_year``, ``seasonality`` (12 factors of mean
1) and ``overdispersion`` (NB2 alpha, 0 for Poisson). The model generates
exactly that rate (see ``Program._rate_schedule``): the expected count of each
month is the fitted mean, and with alpha > 0 the counts are negative binomial.

The seasonal pattern is one of a few forms (``FORMS``): none, one to three pairs
of harmonic terms (a smooth yearly wave: one pair has a single peak and trough),
or a free factor per calendar month (11 parameters; over-fits the short,
small-count histories programs keep). ``auto`` fits one harmonic pair and
more terms (further pairs, or monthly factors) only when they lower AICc
(Akaike's criterion with the small-sample correction of Hurvich and Tsai 1989):
terms are added only when the fit improves by more than they cost. Every form's
AICc is shown in ``fit.txt``; ``none`` is chosen only by ``--seasonality off``.

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

from ips_sim.config import MAX_REFERRALS_PER_MONTH, MONTH_NAMES, add_months
from ips_sim.core.echo import shown
from ips_sim.core.errors import UserError
from ips_sim.core.paths import not_this_csv, read_csv_rows

MIN_MONTHS = 12            # fewer cannot say anything about a year's pattern
SEASONAL_MONTHS = 24       # month-of-year factors need two of each month to be told apart from noise
FORMS = ("none", "harmonic-1", "harmonic-2", "harmonic-3", "monthly")
FORM_WORDS = {"none": "no seasonality", "harmonic-1": "1 pair of harmonic terms (one yearly wave)",
              "harmonic-2": "2 pairs of harmonic terms", "harmonic-3": "3 pairs of harmonic terms",
              "monthly": "a factor per calendar month"}
OVERDISPERSION_P = 0.05    # Cameron-Trivedi test level for switching to the negative binomial
BAND = 0.90                # prediction band of the forecast
FIRST_YEAR, LAST_YEAR = 1900, 2199  # months outside cannot be a program's history or forecast (and the plot's
                                    # calendar, pandas' datetime64[ns], ends in 2262)


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
    foreign = not_this_csv(src, rows, ("month", "date", "referrals"), "a referral history")
    if foreign:
        raise UserError([foreign])
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
        if d is not None and not FIRST_YEAR <= d.year <= LAST_YEAR:
            errors.append(f"{src}: row {row}, column {time_cols[0]}: {t[:40]!r}: year {d.year}: give months from "
                          f"{FIRST_YEAR}-01 to {LAST_YEAR}-12")
            d = None
        elif d is None:
            errors.append(f"{src}: row {row}, column {time_cols[0]}: {shown(t)}: expected a calendar month YYYY-MM "
                          f"(or a date YYYY-MM-DD)")
        elif d in seen:
            errors.append(f"{src}: row {row}, column {time_cols[0]}: {shown(t)}: month {d:%Y-%m} already given in row "
                          f"{seen[d]}: one row per month")
        else:
            seen[d] = row
        try:
            x = float(r)
        except ValueError:
            errors.append(f"{src}: row {row}, column referrals: {shown(r)}: not a number: a whole number of referrals >= 0")
            continue
        if not math.isfinite(x) or x < 0:
            errors.append(f"{src}: row {row}, column referrals: {shown(r)}: must be a whole number >= 0")
        elif x > MAX_REFERRALS_PER_MONTH:
            errors.append(f"{src}: row {row}, column referrals: {r[:40]!r}: more than {MAX_REFERRALS_PER_MONTH:,} "
                          "referrals in a month, the most a scenario accepts: give one program's monthly counts")
        elif x != int(x):
            errors.append(f"{src}: row {row}, column referrals: {shown(r)}: not a whole number: referrals are counts")
        elif d is not None:
            months.append(d)
            counts.append(int(x))
    if not errors and len(months) < MIN_MONTHS:
        errors.append(f"{src}: (file): {len(months)} months of history: at least {MIN_MONTHS} are needed "
                      f"(24 or more to fit month-of-year seasonality)")
    if not errors and not any(counts):
        errors.append(f"{src}: column referrals: every month is 0: a rate cannot be fitted to no referrals "
                      "(give the program's real counts, or set referrals.rate_per_month: 0 in the scenario)")
    if errors:
        raise UserError(errors[:20] + ([f"{src}: ... and {len(errors) - 20} more problems"] if len(errors) > 20
                                       else []))
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
    form: str = "monthly"              # seasonal form (FORMS)
    selection: list[dict] = field(default_factory=list)   # every form compared: parameters, loglik, AICc


def seasonal_basis(form: str) -> np.ndarray:
    """12 x p matrix: the log seasonal terms of each calendar month (rows January..December) for a form.

    Harmonic pair k: cos and sin of k x 2 pi (month - 1) / 12; monthly: an indicator per month with
    January the reference (its log factor 0)."""
    if form == "none":
        return np.zeros((12, 0))
    if form == "monthly":
        return np.vstack([np.zeros(11), np.eye(11)])
    pairs = int(form.split("-")[1])
    theta = 2 * math.pi * np.arange(12) / 12
    return np.column_stack([f(k * theta) for k in range(1, pairs + 1) for f in (np.cos, np.sin)])


def _term_names(form: str) -> list[str]:
    if form == "none":
        return []
    if form == "monthly":
        return [f"season_{m}" for m in MONTH_NAMES[1:]]
    return [f"{f}_{k}" for k in range(1, int(form.split("-")[1]) + 1) for f in ("cos", "sin")]


def _design(months: list[dt.date], origin: dt.date, form: str) -> np.ndarray:
    """Columns: constant, years since the first month, the form's seasonal terms of each month's calendar month."""
    t = np.array([_index(origin, m) / 12.0 for m in months])
    basis = seasonal_basis(form)
    cal = np.array([m.month - 1 for m in months])
    return np.column_stack([np.ones(len(months)), t, basis[cal]])


def _seasonal_factors(params: np.ndarray, form: str) -> np.ndarray:
    """Month-of-year factors (Jan..Dec) normalised to mean 1, from parameter vectors (rows)."""
    p = np.atleast_2d(params)
    basis = seasonal_basis(form)
    f = np.exp(p[:, 2:2 + basis.shape[1]] @ basis.T)
    return f / f.mean(axis=1, keepdims=True)


def _aicc(llf: float, k: int, n: int) -> float:
    """AICc = -2 logL + 2k + 2k(k+1)/(n-k-1) (Hurvich & Tsai 1989); infinite when n <= k + 1."""
    return -2 * llf + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n > k + 1 else math.inf)


def _fit_form(y, X, negbin: bool, start=None):
    """One count regression: (params, cov, alpha, alpha_ci, llf, fitted means); alpha 0 for Poisson."""
    import statsmodels.api as sm
    from statsmodels.discrete.discrete_model import NegativeBinomial

    pois = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    if not negbin:
        return np.asarray(pois.params), np.asarray(pois.cov_params()), 0.0, (0.0, 0.0), float(pois.llf), pois.mu
    nb = NegativeBinomial(y, X, loglike_method="nb2").fit(start_params=np.append(pois.params, 0.1), disp=0,
                                                          maxiter=500)
    lo, hi = np.asarray(nb.conf_int())[-1]
    params = np.asarray(nb.params[:-1])
    return (params, np.asarray(nb.cov_params())[:-1, :-1], float(nb.params[-1]), (max(0.0, float(lo)), float(hi)),
            float(nb.llf), np.exp(X @ params))


def fit_referrals(history: History, forecast_months: int = 24, seed: int = 0, draws: int = 4000,
                  seasonality: str = "auto") -> ReferralFit:
    """Count regression with trend and a seasonal form; NB2 when over-dispersed (Cameron-Trivedi).

    ``seasonality``: ``auto`` fits every form the history allows and keeps the seasonal one
    (one harmonic pair or richer) with the smallest AICc; a form's name (``FORMS``) fits that
    form; ``off`` is ``none`` and ``on`` is ``monthly`` (a factor per calendar month, 24 months). The dispersion test is run
    on the richest form the history allows, so that a seasonal pattern left out is not taken
    for over-dispersion; the forms are then compared within the family it chose.
    """
    import statsmodels.api as sm

    months, y = history.months, history.counts
    notes = list(history.notes)
    end = add_months(months[-1], forecast_months)
    if end.year > LAST_YEAR:
        raise UserError([f"{history.source}: (file): the forecast would run to {end:%Y-%m}, past {LAST_YEAR}-12: "
                         "give a recent history or fewer --forecast-months"])
    origin = months[0]
    n = len(y)
    asked = {"off": "none", "on": "monthly"}.get(seasonality, seasonality)
    if asked not in FORMS and asked != "auto":
        raise UserError([f"--seasonality: {shown(seasonality)}: expected auto, off, on or one of {', '.join(FORMS)}"])
    enough = n >= SEASONAL_MONTHS
    if asked == "monthly" and not enough:
        raise UserError([f"{history.source}: (file): {n} months of history: month-of-year seasonality "
                         f"needs at least {SEASONAL_MONTHS}; use --seasonality auto, off or harmonic-1"])
    candidates = [f for f in FORMS if f != "monthly" or enough]
    if not enough:
        notes.append(f"note: fewer than {SEASONAL_MONTHS} months: a factor per calendar month is not among the forms")
    # Family: Cameron & Trivedi (1990) on the richest form's Poisson fit: regress ((y - mu)^2 - y) / mu
    # on mu without a constant; a positive slope (one-sided t test) means variance above the mean (NB2 form).
    richest = candidates[-1] if asked == "auto" else asked
    Xr = _design(months, origin, richest)
    pois = sm.GLM(y, Xr, family=sm.families.Poisson()).fit()
    mu = pois.mu
    dof = n - Xr.shape[1]
    pearson = float(pois.pearson_chi2)
    aux = sm.OLS(((y - mu) ** 2 - y) / mu, mu).fit()
    ct_t = float(aux.tvalues[0])
    ct_p = float(stats.t.sf(ct_t, aux.df_resid))
    dispersion = {"pearson_chi2": pearson, "df": dof, "pearson_ratio": pearson / dof if dof > 0 else math.nan,
                  "pearson_p": float(stats.chi2.sf(pearson, dof)) if dof > 0 else math.nan,
                  "ct_slope": float(aux.params[0]), "ct_t": ct_t, "ct_p": ct_p, "form": richest}
    negbin = ct_p < OVERDISPERSION_P
    fits, selection = {}, []
    for form in candidates:
        X = _design(months, origin, form)
        fits[form] = _fit_form(y, X, negbin)
        k = X.shape[1] + (1 if negbin else 0)
        selection.append({"form": form, "parameters": k, "loglik": fits[form][4],
                          "aicc": _aicc(fits[form][4], k, n)})
    # auto: one harmonic pair is the floor (referrals to mental health services follow the school and
    # holiday year; a single wave costs 2 parameters); more pairs or monthly factors only when AICc asks.
    # "none" is listed for comparison and chosen only by --seasonality off.
    eligible = [r for r in selection if r["form"] != "none"]
    best = min(r["aicc"] for r in selection)
    form = min(eligible, key=lambda r: r["aicc"])["form"] if asked == "auto" else asked
    for r in selection:
        r["delta_aicc"] = r["aicc"] - best
        r["chosen"] = r["form"] == form
    how = "the smallest AICc of the seasonal forms" if asked == "auto" else f"--seasonality {seasonality}"
    notes.append(f"seasonality: {FORM_WORDS[form]} (chosen by {how}; forms compared below)")
    aicc = {r["form"]: r["aicc"] for r in selection}
    if asked == "auto" and aicc["none"] < aicc[form] - 2:
        notes.append("note: no seasonal wave is told apart from noise (AICc of no seasonality lower by "
                     f"{aicc[form] - aicc['none']:.1f}); see the factors' intervals, or drop it with --seasonality off")
    seasonal = form != "none"
    X = _design(months, origin, form)
    names = ["intercept", "trend_per_year"] + _term_names(form)
    params, cov, alpha, alpha_ci, _, _ = fits[form]
    family = "negative binomial (NB2)" if negbin else "Poisson"
    fitted = np.exp(X @ params)

    base_date = add_months(months[-1], 1)
    t0 = _index(origin, base_date) / 12.0
    z = stats.norm.ppf(0.975)
    se = np.sqrt(np.diag(cov))
    if seasonal:
        factors = _seasonal_factors(params, form)[0]
        level = math.exp(params[0] + params[1] * t0) * float(np.exp(seasonal_basis(form) @ params[2:]).mean())
    else:
        factors = None
        level = math.exp(params[0] + params[1] * t0)
    rng = np.random.default_rng(seed)
    sample = rng.multivariate_normal(params, cov, size=draws, method="svd")
    seasonality = seasonality_ci = None
    if seasonal:
        f_draws = _seasonal_factors(sample, form)
        seasonality = {m: float(f) for m, f in zip(MONTH_NAMES, factors)}
        seasonality_ci = {m: (float(np.quantile(f_draws[:, k], 0.025)), float(np.quantile(f_draws[:, k], 0.975)))
                          for k, m in enumerate(MONTH_NAMES)}

    future = [add_months(base_date, k) for k in range(forecast_months)]
    Xf = _design(future, origin, form)
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
                       seasonality, seasonality_ci, fitted, forecast, notes, form, selection)


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
             + (f" and seasonality as {FORM_WORDS[fit.form]}" if fit.seasonal else ""),
             f"dispersion: Pearson chi2/df = {d['pearson_ratio']:.2f} (p = {d['pearson_p']:.3g}); "
             f"Cameron-Trivedi slope {d['ct_slope']:.3f}, t = {d['ct_t']:.2f}, one-sided p = {d['ct_p']:.3g}"
             f" -> {'over-dispersed: negative binomial' if fit.alpha > 0 else 'no evidence against Poisson'}"
             f" (tested on the form {d.get('form', fit.form)})"]
    if fit.selection:
        lines += ["", "seasonal form: one harmonic pair, more terms only where AICc (AIC with the small-sample "
                      "correction, Hurvich & Tsai 1989) is smaller:",
                  f"  {'form':12s} {'parameters':>10s} {'log-lik':>10s} {'AICc':>9s} {'dAICc':>7s}"]
        for r in fit.selection:
            lines.append(f"  {r['form']:12s} {r['parameters']:10d} {r['loglik']:10.2f} {r['aicc']:9.2f} "
                         f"{r['delta_aicc']:7.2f}" + ("  <- chosen" if r["chosen"] else ""))
    lines += ["", f"{'term':22s} {'estimate':>10s}  95% CI"]
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
    fig, (ax, axs) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2.2, 1]})
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
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    k = np.arange(12)
    if fit.seasonality:
        est = np.array([fit.seasonality[m] for m in MONTH_NAMES])
        lo_hi = np.array([fit.seasonality_ci[m] for m in MONTH_NAMES])
        axs.fill_between(k, lo_hi[:, 0], lo_hi[:, 1], color="tab:orange", alpha=0.25, lw=0, label="95% interval")
        axs.plot(k, est, "o-", color="tab:orange", label="fitted factor")
    axs.axhline(1.0, color="0.4", lw=0.8)
    axs.set_xticks(k, [m[:3].title() for m in MONTH_NAMES], fontsize=7)
    axs.set_title(f"seasonality: {fit.form}", fontsize=10)
    axs.set_ylabel("factor (mean 1)")
    axs.grid(alpha=0.3)
    if fit.seasonality:
        axs.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def check_block(fit: ReferralFit) -> None:
    """Refuse a fit whose referrals block no scenario would accept (the schema's bounds), in one line."""
    from ips_sim.config import scenario_from_dict

    values = [fit.rate_per_month, fit.trend_per_year, fit.alpha, *(fit.seasonality or {}).values()]
    if not all(math.isfinite(v) for v in values):
        raise UserError([f"{fit.history.source}: (file): the fit did not converge to finite values: "
                         "check the counts (a history of almost only zeros cannot be fitted)"])
    block = referrals_block(fit)["referrals"]
    try:
        scenario_from_dict({"name": "fitted", "start": {"date": block["base_date"]}, "referrals": block},
                           source="fitted referrals")
    except UserError as exc:
        raise UserError([f"{fit.history.source}: (file): the fitted referrals block is outside what a scenario "
                         f"accepts ({exc.messages[0][:200]}): check the counts, or fit a shorter, steadier "
                         "stretch of history"]) from None


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
