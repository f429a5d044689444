"""``ips-sim fit-program``: learn a program from its own quarterly reports, and show how well it forecasts them.

Modules by concern: ``history`` (the program's history as a scenario; local parameters and
their priors), ``series`` (quarterly report counts of a simulated program), ``sampler``
(pyabc's ABC-SMC through the project's runner), ``fit`` (the fit, posterior predictive,
check, hold-out scores, benchmarks), ``outputs`` (files, plots, program.yaml),
``synthetic`` (programs with known parameters).
"""
