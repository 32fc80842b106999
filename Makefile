# 《大模型原理与应用》 — the two commands of the README:
#   make book   set up .venv if needed, then build the site into _build/html
#   make test   set up .venv if needed, then run every check CI runs
# Other targets: make setup | make unit | make notebooks | make sync | make benchmark | make clean

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
# One CPU thread per process: the lessons train small models, for which a second
# OpenMP thread gains little, and two notebooks run at once under `-n 2`. With
# threads competing for the cores, training ran ten to fifty times slower.
export OMP_NUM_THREADS ?= 1

.PHONY: setup book test unit notebooks site booktests sync benchmark clean

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

book: setup site

test: setup
	$(MAKE) unit
	$(MAKE) notebooks
	$(MAKE) site
	$(MAKE) booktests

unit:
	$(PY) -m pytest tests --ignore=tests/book --cov=helpers --cov-report=term-missing --cov-fail-under=90

notebooks:
	$(PY) -m pytest --nbval-lax --nbval-current-env -n 2 --dist loadfile chapters --ignore=_build

site:
	$(PY) scripts/vendor_assets.py
	rm -rf _build/html _build/jupyter_execute _build/.doctrees
	$(VENV)/bin/jupyter-book build . -W --keep-going

booktests:
	$(PY) -m pytest tests/book

# Regenerate every lesson's .ipynb from its .md source (after editing a lesson).
# Only .md files with a jupytext header are notebooks; overview pages are not.
sync:
	$(VENV)/bin/jupytext --to ipynb --update $$(grep -l '^jupytext:' chapters/*/*.md)

benchmark: setup
	$(PY) scripts/benchmark_notebooks.py

clean:
	rm -rf _build .coverage
