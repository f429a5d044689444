# ips-sim: two commands do everything on a fresh clone with Python 3.11 and make.
#   make run   - create .venv, install, run the default scenario into outputs/
#   make test  - create .venv if needed and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/two_specialists_38_members.yaml
WORKERS ?= 2

.PHONY: run test venv bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/ips-sim run $(SCENARIO) --workers $(WORKERS)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_replications.py

clean:
	rm -rf $(VENV) outputs/*/ .pytest_cache
