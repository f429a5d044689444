# ips-sim: two commands do everything on a fresh clone with Python 3.11 and make.
#   make run   - create .venv, install, run the default scenario into outputs/
#   make test  - create .venv if needed and run the tests (and build the documentation site, --strict)
#   make docs  - build the documentation site into site/ (mkdocs-material; pages in docs/)
#   make docs-output - re-run every command the guides show and rewrite the outputs they show
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/two_specialists_38_members.yaml
WORKERS ?= 2
# pytest-xdist workers for make test (CI has 2 cores); tests sharing module fixtures stay together (loadgroup)
TEST_WORKERS ?= 2

CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint data backtest venv bench clean chromium docs docs-output

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/ips-sim run $(SCENARIO) --workers $(WORKERS)

test: $(STAMP) chromium
	$(BIN)/ruff check ips_sim tests benchmarks docs
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m pytest -rs -n $(TEST_WORKERS) --dist loadgroup

# The documentation site (mkdocs.yml; --strict: a broken link or reference fails the build).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# After a deliberate change of the model's numbers: re-run every command shown in the guides
# (```console blocks) and rewrite the outputs shown; tests/test_guides.py compares them otherwise.
docs-output: $(STAMP)
	$(BIN)/python tests/guide_blocks.py --refresh

# The browser test (tests/test_browser.py) drives Debian's chromium through Playwright
# (there is no browser download here). Install it when it is missing and we can (root + apt-get);
# otherwise say why: the test then skips with one line, and fails under CI=true.
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian chromium for the browser test (apt-get)..."; \
	  { apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	      --no-install-recommends chromium fonts-liberation >/dev/null; } \
	  || echo "Could not install chromium with apt-get: the browser test will skip (and fail under CI=true)."; \
	else \
	  echo "No $(CHROMIUM), and installing it needs root and apt-get: the browser test will skip (and fail under CI=true)."; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check ips_sim tests benchmarks docs

# Copy the defaults and fit from calibration/ into the package (ips-sim calibrate does this itself).
data: $(STAMP)
	$(BIN)/python -c "from ips_sim.config import refresh_package_data as r; print('copied:', ' '.join(r()))"

# Regenerate the stored-output back-test on purpose (after a deliberate change of the model's numbers).
backtest: $(STAMP)
	$(BIN)/python tests/backtest.py --regenerate

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_replications.py

clean:
	rm -rf $(VENV) outputs/*/ .pytest_cache site
