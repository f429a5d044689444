"""Staffing sweeps: one base scenario run over a grid (or list) of field values.

A sweep file (YAML) names a base scenario and the fields to vary by dotted
path::

    name: specialists_by_referrals
    base: ../two_specialists_38_members.yaml   # relative to the sweep file
    replications: 30                            # optional (default: the base's)
    seed: 20261123                              # optional (default: the base's)
    overrides: {simulation.horizon_years: 6}    # optional, applied to every point
    grid:                                       # cartesian product ...
      team.specialists: 1..5
      referrals.rate_per_month: [2, 4, 6, 8]
    # points:                                   # ... or an explicit list
    #   - {team.specialists: 2, team.caseload_cap: 20}
    plot: {x: team.specialists, lines: referrals.rate_per_month, metrics: [mean_wait_days]}

Every point is run with the same seed and replication indices, so each
replication sees the same referrals and member draws at every point (common
random numbers): differences between points are staffing, not noise.

Work units are (point, contiguous chunk of replication indices) and run in
this process, a local process pool or on a Dask cluster
(:mod:`ips_sim.runner.executors`); each point is aggregated in replication order once
all its units are back, so results are byte-identical for any executor.

Output: the sweep works in ``DIR.partial/``; each finished point is written
there as ``points/pNNNN.json`` (temp file, then rename), so an interrupted
sweep continues with ``--resume`` and runs only the missing points. When every
point is done, ``sweep.csv``, ``manifest.json`` and the plots are written and
``DIR.partial`` is renamed to ``DIR``.

The package, by concern: ``fields`` (what may vary and how values are read),
``sweepfile`` (the file, checked, and its points' scenarios), ``run`` (work units,
checkpoint, results folder) and ``plots`` (plots and the glance in text).
"""

from ips_sim.runner.resume import partial_dir
from ips_sim.studies.sweep.fields import (
    MAX_RANGE_VALUES,
    NOT_VARIED,
    check_path,
    grid_values,
    looks_numeric,
    parse_range,
    point_label,
    scenario_field_paths,
    try_updates,
    value_label,
)
from ips_sim.studies.sweep.plots import glance, plot_axes, plot_sweep
from ips_sim.studies.sweep.run import MAX_CHUNK, SweepRun, chunk_size, execute, run_sweep, run_unit, sweep_manifest, sweep_table
from ips_sim.studies.sweep.sweepfile import CONFIDENCE, MAX_POINTS, PLOT_KEYS, SWEEP_KEYS, Sweep, SweepError, load_sweep

__all__ = [
    "CONFIDENCE", "MAX_CHUNK", "MAX_POINTS", "MAX_RANGE_VALUES", "NOT_VARIED", "PLOT_KEYS", "SWEEP_KEYS", "Sweep",
    "SweepError", "SweepRun", "check_path", "chunk_size", "execute", "glance", "grid_values", "load_sweep",
    "looks_numeric", "parse_range", "partial_dir", "plot_axes", "plot_sweep", "point_label", "run_sweep", "run_unit",
    "scenario_field_paths", "sweep_manifest", "sweep_table", "try_updates", "value_label",
]
