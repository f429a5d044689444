"""The whole of ``ips-sim fit-program``: records and base scenario in, every output file out (in memory)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ips_sim.config import Scenario
from ips_sim.config.program_records import ProgramRecords
from ips_sim.studies.program_fit import fit as F
from ips_sim.studies.program_fit import outputs as O
from ips_sim.studies.program_fit.history import program_model


@dataclass
class FitProgramResult:
    fit: F.ProgramFit
    check: dict
    standing: dict
    sentence: str
    holdout: pd.DataFrame | None
    files: dict[str, bytes]
    lines: list[str]
    manifest: dict


def fit_program(records: ProgramRecords, base_raw: dict, base: Scenario, seed: int, hold_out: int = 0,
                population: int = F.POPULATION, generations: int = F.GENERATIONS, executor=None, checkpoint=None,
                progress=None, national_draws=None, plots: bool = True) -> FitProgramResult:
    """Fit on all but the last ``hold_out`` quarters, simulate the posterior predictive over every quarter,
    check it, score the held-out quarters and make the files of the output folder."""
    fitted = len(records) - hold_out
    pm = program_model(base_raw, base, records, quarters=fitted, national_draws=national_draws)
    f = F.fit(pm, records, seed, population, generations, executor=executor, checkpoint=checkpoint, progress=progress)
    forecast_pm = program_model(base_raw, base, records, quarters=fitted, ahead=hold_out,
                                national_draws=national_draws) if hold_out else pm
    pred = F.predictive(forecast_pm, f.draws, seed, executor=executor)
    chk = F.check(pred, records, fitted)
    stand, sentence = F.standing(pred, records, fitted)
    holdout = F.hold_out_scores(pred, records, fitted) if hold_out else None
    lines = O.report_lines(f, records, fitted, chk, sentence, holdout)
    files = {"posterior.csv": O.posterior_csv(f),
             "particles.csv": f.particles.to_csv(index=False, lineterminator="\n").encode(),
             "parameters.csv": O.parameter_table(f).to_csv(index=False, lineterminator="\n").encode(),
             "generations.csv": f.generations.to_csv(index=False, lineterminator="\n").encode(),
             "diagnostics.txt": O.diagnostics_text(f).encode(),
             "predictive.csv": O.bands_csv(records, pred),
             "program.yaml": O.program_yaml(f, base_raw, records, pred, fitted),
             "report.txt": ("\n".join(lines) + "\n").encode()}
    if holdout is not None:
        files["holdout.csv"] = holdout.to_csv(index=False, lineterminator="\n").encode()
    if plots:
        import io
        for name, draw in (("predictive.png", lambda p: O.plot_predictive(
                p, records, pred, fitted, f"{records.source}: reports against the posterior predictive")),
                           ("parameters.png", lambda p: O.plot_parameters(p, f))):
            buf = io.BytesIO()
            draw(buf)
            files[name] = buf.getvalue()
    manifest = {"quarters": len(records), "fitted_quarters": fitted, "hold_out": hold_out, "population": population,
                "generations": len(f.generations), "simulations": f.simulations, "fit_seconds": round(f.seconds, 1),
                "effective_sample_size": round(f.ess, 1),
                "final_acceptance": round(float(f.generations["acceptance"].iloc[-1]), 4),
                "posterior": {r.parameter: {"mean": r.posterior_mean, "p5": r.posterior_p5, "p95": r.posterior_p95}
                              for r in O.parameter_table(f).itertuples()},
                "check": chk, "standing": stand, "standing_sentence": sentence,
                "holdout": holdout.to_dict("records") if holdout is not None else None}
    return FitProgramResult(f, chk, stand, sentence, holdout, files, lines, manifest)
