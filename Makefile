# 《大模型原理与应用》 — the two commands of the README:
#   make book   set up .venv if needed, then build the site into _build/html
#   make test   set up .venv if needed, then run every check CI runs
# Other targets: make setup | make unit | make notebooks | make site | make again | make booktests
#                make sync | make benchmark | make clean

SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Optional extra index for torch, e.g. a CPU-only build on a machine with plain PyPI:
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
PIP_EXTRA := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),)

# Executed notebooks print a compact summary instead of live progress bars.
export LLMBOOK_PROGRESS := none
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# One CPU thread per process: two lessons (or two pytest workers) run at once, one per
# core; a second OpenMP thread per process would only compete for the same cores.
# (helpers.threads makes idle threads sleep when a reader runs a lesson alone.)
export OMP_NUM_THREADS ?= 1
# Processes working at once in every stage of `make test` (the CI machine has 2 cores).
JOBS ?= 2

.PHONY: setup book test unit notebooks site again site-again booktests sync benchmark clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml scripts/install_fonts.sh scripts/install_browser.sh \
          scripts/vendor_assets.py scripts/ipython_kernel_config.py
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt $(PIP_EXTRA)
	$(PY) -m pip install --no-deps -e .
	mkdir -p $(VENV)/etc/ipython && cp scripts/ipython_kernel_config.py $(VENV)/etc/ipython/
	bash scripts/install_fonts.sh
	bash scripts/install_browser.sh
	$(PY) scripts/vendor_assets.py
	touch $(STAMP)

book: setup
	$(MAKE) notebooks
	$(MAKE) site

# Every lesson is executed twice, never more: `notebooks` (the outputs the site shows; a failing
# hidden assert fails it) and `again` (an independent second run that tests/book/test_reproducible.py
# compares with the first). `site` renders the first execution from the Jupyter cache; it uses one core,
# so it runs beside `again` (stage `site-again`). The wall time of each stage is printed at the end
# (also in _build/stage-times.txt).
STAGES := unit notebooks site-again booktests
test: setup
	@mkdir -p _build; : > _build/stage-times.txt; start=$$(date +%s); \
	for stage in $(STAGES); do \
	  t0=$$(date +%s); $(MAKE) --no-print-directory $$stage || exit 1; \
	  echo "make $$stage: $$(( $$(date +%s) - t0 )) s" >> _build/stage-times.txt; \
	done; \
	echo "make test (after setup): $$(( $$(date +%s) - start )) s" >> _build/stage-times.txt; \
	echo; cat _build/stage-times.txt

site-again:
	$(MAKE) --no-print-directory -j 2 --output-sync=target site again

unit:
	$(PY) -m pytest -n $(JOBS) tests --ignore=tests/book --cov=helpers --cov-report=term-missing --cov-fail-under=90

notebooks:
	$(PY) scripts/execute_lessons.py -j $(JOBS)

site:
	$(PY) scripts/vendor_assets.py
	rm -rf _build/html _build/jupyter_execute _build/.doctrees
	mkdir -p _build
	set -o pipefail; $(VENV)/bin/jupyter-book build . -W --keep-going 2>&1 | tee _build/site.log

again:
	$(PY) scripts/execute_lessons.py --again -j $(JOBS)

# the browser tests render the pages in two shards, one per worker; the rest is shared out
booktests:
	$(PY) -m pytest -n $(JOBS) --dist load tests/book

# Regenerate every lesson's .ipynb from its .md source (after editing a lesson).
# Only .md files with a jupytext header are notebooks; overview pages are not.
sync:
	$(VENV)/bin/jupytext --to ipynb --update $$(grep -l '^jupytext:' chapters/*/*.md)

# Time each stage of `make test` and each lesson; writes benchmarks/results/make-test.md.
benchmark: setup
	$(PY) scripts/benchmark_make_test.py

clean:
	rm -rf _build .coverage
