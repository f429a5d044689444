"""ips-sim: discrete-event simulation of the capacity of an IPS supported-employment program.

Notebook use: ``ips_sim.run(scenario, replications=..., seed=...)`` and
``ips_sim.compare(baseline, changes={...})`` return tables (see :mod:`ips_sim.ui.api`).
"""

from ips_sim.core.version import __version__

__all__ = ["run", "compare", "load", "Result", "Comparison", "__version__"]


def __getattr__(name):
    # The API is imported on first use, so ``import ips_sim`` (and the command line) stay light.
    if name in ("run", "compare", "load", "Result", "Comparison"):
        from ips_sim.ui import api

        return getattr(api, name)
    raise AttributeError(f"module 'ips_sim' has no attribute {name!r}")
