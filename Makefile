# gradclip: the two quick-start commands are `make serve` and `make test`.
# Every target sets up what it needs, so both work on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip
export NO_MKDOCS_2_WARNING = 1
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: help venv site serve test test-fast bench browser offline clean

help:
	@echo "make serve   build the site and serve it on http://127.0.0.1:8000"
	@echo "make test    set up and run every test (unit, property, PyTorch parity, site, browser)"
	@echo "make site    build the site into site/"
	@echo "make bench   run the benchmarks in bench/ (they print figures)"
	@echo "make offline one archive of the built site, to read and run without a network"

$(VENV)/.stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test,docs]"
	# PyTorch is only for the parity tests and benchmarks, never a dependency of gradclip.
	# The CPU wheel is installed by exact version; it exists for Python 3.11.
	$(PIP) install -q "torch==2.13.0" || echo "warning: torch not installed; parity tests will be skipped"
	# The training frameworks of gradclip.integrations, for tests/unit/test_integrations.py only:
	# installed by exact version here, not through the [test] extra, so gradclip stays NumPy-only.
	$(PIP) install -q "tensorboard==2.21.0" "transformers==5.25.0" "accelerate==1.16.0" "lightning==2.6.6" \
	  || echo "warning: tensorboard/transformers/lightning not installed; integration tests will be skipped"
	# The libraries of the "Clipping in real training" pages' recipes (tests/unit/test_training_*.py),
	# each run as the page shows it; Keras runs on its JAX backend.
	$(PIP) install -q "keras==3.15.1" "jax==0.10.2" "jaxlib==0.10.2" "optax==0.2.8" "flax==0.12.8" "opacus==1.6.0" \
	  "torch==2.13.0" || echo "warning: keras/jax/optax/flax/opacus not installed; their recipe tests will be skipped"
	touch $@

venv: $(VENV)/.stamp

# A browser for the Playwright tests: Debian's chromium (GRADCLIP_CHROMIUM overrides the path),
# else Playwright's own download, the normal path on a machine with internet.
browser: venv
	@if [ -n "$$GRADCLIP_CHROMIUM" ] || [ -x /usr/bin/chromium ]; then \
	  echo "browser: $${GRADCLIP_CHROMIUM:-/usr/bin/chromium}"; \
	else \
	  $(VENV)/bin/playwright install chromium; \
	fi

site: venv
	$(PY) -m mkdocs build --strict

serve: site
	$(PY) -m site_hooks.serve --dir site --port 8000

test: venv browser
	$(PY) -m pytest

test-fast: venv
	$(PY) -m pytest -m "not browser and not site"

# Every benchmark, with the date and the machine; the output is kept in bench/results/latest.txt,
# which the site's Performance page shows as it is.
# bash, so that a failing benchmark fails `make bench` despite the pipe into tee.
# bench/site.py's goals are ratios to the site as it was before the start-up was rebuilt
# (issue 11), built from that commit and measured in the same run: timings drift 2x between runs.
GRADCLIP_BASELINE_REV ?= 0f5829f
export GRADCLIP_BASELINE_REV

bench: SHELL := /bin/bash
bench: site browser
	@mkdir -p bench/results
	@set -o pipefail; { echo "date: $$(date -u +%Y-%m-%d)"; \
	   echo "machine: $$(nproc) cores, $$(free -g | awk '/Mem:/{print $$2}') GiB, $$(uname -m), $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"; \
	   echo "python: $$($(PY) -c 'import sys; print(sys.version.split()[0])'), chromium: $$( ($${GRADCLIP_CHROMIUM:-/usr/bin/chromium} --version 2>/dev/null || echo none) | head -1)"; \
	   for b in bench/[!_]*.py; do echo; echo "== $$b"; GRADCLIP_SITE_DIR=$(CURDIR)/site $(PY) $$b || exit 1; done; } | tee bench/results/latest.txt

# One archive of the whole site (runtime included). Unpack it anywhere and run the line in
# its README-OFFLINE.txt; opened straight from disk the pages still read, without live demos.
offline: site
	$(PY) -m site_hooks.bundle --site site --out dist

clean:
	rm -rf site build dist .cache $(VENV)
