"""``ips-sim fit-referrals``: a county's referral history -> a referrals block for its scenarios."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

EXAMPLES = """
\b
Examples:
  ips-sim fit-referrals scenarios/county_referral_history.csv --out outputs/county_referrals
  ips-sim fit-referrals history.csv --out fitted --forecast-months 36
"""


@click.command("fit-referrals", epilog=EXAMPLES)
@click.argument("history", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), required=True,
              help="Folder for referrals.yaml, fit.txt, coefficients.csv, forecast.csv and fit.png.")
@click.option("--forecast-months", type=click.IntRange(1, 240), default=24, show_default=True,
              help="Months to forecast after the history.")
@click.option("--seasonality", type=click.Choice(["auto", "off", "harmonic-1", "harmonic-2", "harmonic-3", "monthly",
                                                 "on"]), default="auto", show_default=True,
              help="Seasonal form: auto fits one pair of harmonic terms, more pairs or a factor per calendar month "
                   "only when AICc is smaller; off = none; on = monthly.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Seed of the prediction-band simulation.")
@click.option("--overwrite", is_flag=True, help="Replace a different fit's results in --out.")
def fit_referrals_command(history, out, forecast_months, seasonality, seed, overwrite):
    """Fit monthly referral counts (columns month or date, and referrals) and write DIR/referrals.yaml.

    Poisson regression with a log-linear trend and a seasonal form chosen by
    AICc (none, harmonic terms or a factor per month); negative binomial when
    the counts are over-dispersed. The referrals block
    in referrals.yaml can be pasted into a scenario with a start.date.
    """
    import numpy as np

    from ips_sim.core.errors import UserError
    from ips_sim.runner.output import OutputFolder
    from ips_sim.studies.referral_fit import check_block, fit_referrals, read_history, report_lines, write_fit

    hist = read_history(history)
    key = {"history": hashlib.sha256(Path(history).read_bytes()).hexdigest(), "forecast_months": forecast_months,
           "seasonality": seasonality, "seed": seed}
    folder = OutputFolder(out, key, kind="fit-referrals", overwrite=overwrite)
    folder.check()
    try:
        fit = fit_referrals(hist, forecast_months=forecast_months, seed=seed, seasonality=seasonality)
    except (ValueError, OverflowError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise UserError([f"{history}: (file): the referral model cannot be fitted to this history "
                         f"({type(exc).__name__}: {str(exc)[:80]}): a month of the year with no referrals in any "
                         "year, or counts that jump by orders of magnitude, cannot be fitted; try --seasonality off "
                         "or a steadier stretch of history"]) from None
    check_block(fit)
    with folder.lock(), folder.write() as tmp:
        write_fit(tmp, fit)
    for line in report_lines(fit):
        click.echo(line)
    click.echo(f"-> {folder.path}/referrals.yaml, fit.txt, coefficients.csv, forecast.csv, fit.png")


COMMANDS = [fit_referrals_command]
