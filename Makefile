# ips-sim: two commands do everything on a fresh clone with Python 3.11 and make.
#   make run   - create .venv, install, run the default scenario into outputs/
#   make test  - create .venv if needed and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/two_specialists_38_members.yaml
WORKERS ?= 2

.PHONY: run test lint data backtest venv bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/ips-sim run $(SCENARIO) --workers $(WORKERS)

test: $(STAMP)
	$(BIN)/ruff check ips_sim tests benchmarks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check ips_sim tests benchmarks

# Copy the defaults and fit from calibration/ into the package (ips-sim calibrate does this itself).
data: $(STAMP)
	$(BIN)/python -c "from ips_sim.scenario import refresh_package_data as r; print('copied:', ' '.join(r()))"

# Regenerate the stored-output back-test on purpose (after a deliberate change of the model's numbers).
backtest: $(STAMP)
	$(BIN)/python tests/backtest.py --regenerate

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_replications.py

clean:
	rm -rf $(VENV) outputs/*/ .pytest_cache
