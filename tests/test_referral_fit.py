"""ips-sim fit-referrals: recovery of known trend and seasonality, dispersion, output, bad history files.

The smooth-seasonality tests generate the short, small-count histories programs actually keep
(36 and 48 months of about 4 referrals a month with a known yearly wave), fit them as a user
would, and compare with the truth that generated them: the fitted seasonal factors' correlation
with the true ones, and the forecast band's coverage of the 12 months after each history.

Recovery is checked as coverage: over many synthetic Poisson histories with a known
trend and seasonality, the 95% intervals must contain the truth 95% of the time (within
4 standard errors of the coverage estimate), which is what "within their CIs" means for a
procedure rather than for one lucky data set.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import IPS_SIM, REPO, cli_env

from ips_sim.config import MONTH_NAMES, add_months, scenario_from_dict
from ips_sim.sim.model import run_replication
from ips_sim.studies.referral_fit import History, fit_referrals, seasonal_basis
from ips_sim.ui.cli import main

# The tests here share module-scoped fixtures: make test keeps them on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("referral_fit")

TRUE_FACTORS = np.array([1.2, 1.1, 1.0, 0.9, 0.8, 0.9, 1.0, 1.1, 1.3, 1.0, 0.8, 0.9])
TRUE_FACTORS = TRUE_FACTORS / TRUE_FACTORS.mean()
TRUE_TREND = 0.15


def _history(rng, months=60, level=20.0, alpha=0.0, first=dt.date(2020, 1, 1)) -> History:
    dates = [add_months(first, k) for k in range(months)]
    mu = np.array([level * math.exp(TRUE_TREND * k / 12) * TRUE_FACTORS[d.month - 1] for k, d in enumerate(dates)])
    if alpha > 0:
        mu = mu * rng.gamma(1 / alpha, alpha, size=months)
    return History("<synthetic>", dates, rng.poisson(mu).astype(float))


def test_fit_recovers_known_trend_and_seasonality_within_their_confidence_intervals():
    rng = np.random.default_rng(2024)
    n = 200
    trend_in, factor_cover, estimates = [], [], []
    for _ in range(n):
        fit = fit_referrals(_history(rng), forecast_months=1, draws=2000, seasonality="on",
                            seed=int(rng.integers(1 << 31)))
        assert fit.family == "Poisson" or fit.alpha >= 0
        lo, hi = fit.trend_ci
        trend_in.append(lo <= TRUE_TREND <= hi)
        factor_cover.append(np.mean([fit.seasonality_ci[m][0] <= f <= fit.seasonality_ci[m][1]
                                     for m, f in zip(MONTH_NAMES, TRUE_FACTORS)]))
        estimates.append(fit.trend_per_year)
    p = np.mean(trend_in)
    se = math.sqrt(0.95 * 0.05 / n)
    assert abs(p - 0.95) <= 4 * se, f"trend CI coverage {p:.3f}"
    c = np.array(factor_cover)
    assert abs(c.mean() - 0.95) <= 4 * c.std(ddof=1) / math.sqrt(n), f"seasonal factor CI coverage {c.mean():.3f}"
    # And the estimator is centred on the truth.
    e = np.array(estimates)
    assert abs(e.mean() - TRUE_TREND) <= 4 * e.std(ddof=1) / math.sqrt(n)


def test_overdispersed_history_gets_a_negative_binomial_with_alpha_in_its_ci():
    fit = fit_referrals(_history(np.random.default_rng(7), months=72, alpha=0.3), forecast_months=1, seasonality="on")
    assert fit.family.startswith("negative binomial")
    assert fit.dispersion["ct_p"] < 0.05
    assert fit.alpha_ci[0] <= 0.3 <= fit.alpha_ci[1]
    poisson = fit_referrals(_history(np.random.default_rng(8), months=72), forecast_months=1, seasonality="on")
    assert poisson.family == "Poisson" and poisson.alpha == 0.0


def test_referrals_yaml_is_a_scenario_block_that_reproduces_the_fitted_means(tmp_path):
    out = tmp_path / "fit"
    history = REPO / "scenarios" / "county_referral_history.csv"
    r = subprocess.run([str(IPS_SIM), "fit-referrals", str(history), "--out", str(out), "--seasonality", "on"],
                       capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr
    assert "columns ignored: notes" in r.stdout and "Cameron-Trivedi" in r.stdout
    for name in ("referrals.yaml", "fit.txt", "coefficients.csv", "forecast.csv", "fit.png"):
        assert (out / name).stat().st_size > 0
    text = (out / "fit.txt").read_text()
    assert "AICc" in text and "monthly" in text and "<- chosen" in text.splitlines()[
        [k for k, line in enumerate(text.splitlines()) if line.strip().startswith("monthly")][0]]
    block = yaml.safe_load((out / "referrals.yaml").read_text())
    sc = scenario_from_dict({**block, "simulation": {"horizon_years": 1, "replications": 2},
                             "start": {"date": block["referrals"]["base_date"], "workers": 5}})
    ref = sc.referrals
    # Expected referrals in forecast month k = rate x exp(trend k / 12) x factor: the fitted forecast means.
    import pandas as pd
    fc = pd.read_csv(out / "forecast.csv")
    fc = fc[fc["kind"] == "forecast"].reset_index(drop=True)
    start = dt.date.fromisoformat(block["referrals"]["base_date"])
    for k in range(12):
        month = add_months(start, k)
        mean = ref.rate_per_month * math.exp(ref.trend_per_year * k / 12) * ref.seasonality[MONTH_NAMES[month.month - 1]]
        assert mean == pytest.approx(fc["mean"][k], rel=2e-3)  # referrals.yaml is rounded to 4-5 digits
    run_replication(sc, 0)  # and the model runs it as it is


# Short, small-count histories as programs keep them: about 4 referrals a month, a +-35% yearly wave
# peaking in September (February ~0.65, October ~1.3), no trend; the 12 months after the history held out.
WAVE = 1 + 0.35 * np.cos(2 * np.pi * (np.arange(1, 13) - 9) / 12)
HISTORIES = 120


def _wave_history(rng, months, ahead=12):
    dates = [add_months(dt.date(2020, 1, 1), k) for k in range(months + ahead)]
    mu = np.array([4.0 * WAVE[d.month - 1] for d in dates])
    y = rng.poisson(mu).astype(float)
    return History("<synthetic>", dates[:months], y[:months]), y[months:], mu[months:]


@pytest.fixture(scope="module")
def wave_fits():
    """Per history length: correlation of the fitted factors with the truth (auto and monthly), held-out coverage."""
    out = {}
    for months in (36, 48):
        rng = np.random.default_rng(36 + months)
        cor_auto, cor_monthly, cover = [], [], []
        for i in range(HISTORIES):
            history, ahead, _ = _wave_history(rng, months)
            fit = fit_referrals(history, forecast_months=12, seed=i, draws=2000)
            monthly = fit_referrals(history, forecast_months=1, seed=i, draws=200, seasonality="monthly")
            cor_auto.append(np.corrcoef([fit.seasonality[m] for m in MONTH_NAMES], WAVE)[0, 1])
            cor_monthly.append(np.corrcoef([monthly.seasonality[m] for m in MONTH_NAMES], WAVE)[0, 1])
            fc = fit.forecast[fit.forecast["kind"] == "forecast"]
            cover.append(np.mean((ahead >= fc["p5"].to_numpy()) & (ahead <= fc["p95"].to_numpy())))
        out[months] = (np.array(cor_auto), np.array(cor_monthly), np.array(cover))
    return out


@pytest.mark.parametrize("months", [36, 48])
def test_smooth_seasonality_recovers_the_seasonal_rate_of_short_small_count_histories(wave_fits, months):
    """A factor per month over-fits 4 referrals a month; one harmonic pair (more only when AICc asks) does not."""
    cor_auto, cor_monthly, _ = wave_fits[months]
    assert cor_auto.mean() >= 0.8, cor_auto.mean()
    # The monthly factors it replaces do worse on the same histories (the over-fit this form avoids).
    d = cor_auto - cor_monthly
    assert d.mean() > 4 * d.std(ddof=1) / math.sqrt(len(d)), (cor_auto.mean(), cor_monthly.mean())


@pytest.mark.parametrize("months", [36, 48])
def test_forecast_band_covers_held_out_months_as_a_90_percent_band_of_counts_should(wave_fits, months):
    """The 90% band of a count (5th to 95th percentile, ends included) covers a little more than 90%:
    with integer counts the best possible band, the true Poisson quantiles, covers P(q5 <= X <= q95),
    computed here from the true means (~0.95 at these rates). The fitted band must come within 4
    standard errors of that (SE over histories: months of one history share its estimation error)."""
    from scipy import stats

    _, _, cover = wave_fits[months]
    mu = 4.0 * WAVE
    ideal = float(np.mean(stats.poisson.cdf(stats.poisson.ppf(0.95, mu), mu)
                          - stats.poisson.cdf(stats.poisson.ppf(0.05, mu) - 1, mu)))
    se = cover.std(ddof=1) / math.sqrt(len(cover))
    assert abs(cover.mean() - ideal) <= 4 * se, (cover.mean(), ideal, se)
    assert cover.mean() >= 0.90 - 4 * se


def test_more_harmonic_terms_only_when_the_criterion_asks_for_them():
    """Two peaks a year (a wave of period 6 months) need the second pair; the AICc table says so."""
    rng = np.random.default_rng(11)
    theta = 2 * np.pi * np.arange(12) / 12
    logf = 0.4 * np.cos(2 * theta)                  # peaks in January and July
    dates = [add_months(dt.date(2019, 1, 1), k) for k in range(72)]
    y = rng.poisson([15.0 * math.exp(logf[d.month - 1]) for d in dates]).astype(float)
    fit = fit_referrals(History("<synthetic>", dates, y), forecast_months=1)
    assert fit.form in ("harmonic-2", "harmonic-3")
    chosen = [r for r in fit.selection if r["chosen"]][0]
    assert chosen["aicc"] < [r for r in fit.selection if r["form"] == "harmonic-1"][0]["aicc"]
    # Basis: harmonic pair k is cos/sin of k x 2 pi (month - 1) / 12.
    assert seasonal_basis("harmonic-2")[:, 2] == pytest.approx(np.cos(2 * theta))


BAD = {
    "missing column": ("month,count\n2024-01,3\n", "missing column referrals"),
    "no month column": ("when,referrals\n2024-01,3\n", "missing column month"),
    "negative": ("month,referrals\n" + "".join(f"2024-{m:02d},3\n" for m in range(1, 12)) + "2024-12,-2\n",
                 "row 13, column referrals"),
    "non-integer": ("month,referrals\n" + "".join(f"2024-{m:02d},3\n" for m in range(1, 12)) + "2024-12,2.5\n",
                    "not a whole number"),
    "duplicate month": ("month,referrals\n" + "".join(f"2024-{m:02d},3\n" for m in range(1, 13)) + "2024-03,4\n",
                        "already given in row 4"),
    "fewer than 12 months": ("month,referrals\n" + "".join(f"2024-{m:02d},3\n" for m in range(1, 9)),
                             "8 months of history: at least 12"),
    "text in numbers": ("month,referrals\n" + "".join(f"2024-{m:02d},3\n" for m in range(1, 12)) + "2024-12,four\n",
                        "not a number"),
    "bad month": ("month,referrals\n" + "".join(f"2024-{m:02d},3\n" for m in range(1, 12)) + "Dec 2024,4\n",
                  "expected a calendar month YYYY-MM"),
    "empty file": ("", "empty"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_history_files_get_one_line_and_exit_2(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / "history.csv"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["fit-referrals", str(path), "--out", str(out)])  # in process: fast
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], lines
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert not out.exists()


def test_missing_history_file_through_the_real_command(tmp_path):
    r = subprocess.run([str(IPS_SIM), "fit-referrals", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, env=cli_env())
    assert r.returncode == 2 and "no such file" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()
