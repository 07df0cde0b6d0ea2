# afmkit: developer and course commands.  `make help` lists them.
#
#   make lab     create .venv (first time), install afmkit, start JupyterLab on notebooks/
#   make demo    headless demo: simulate two molecules, write figures to out/
#   make test    run the test suite (quick mode); installs Chromium for the browser test
#   make book    the course site: every notebook executed, as static HTML in build/book/html
#
# Variables you can override:  make PYTHON=python3.12 venv,  make test PYTEST_ARGS="-k cli -x",
# make lab LAB_ARGS="--no-browser --port 8889",  make demo DEMO_ARGS=--quick OUT=/tmp/afm,
# make test REQUIRE_BROWSER=0 (skip, rather than fail, the browser test when Chromium is missing),
# make book BOOK_QUICK=0 (the site with the notebooks executed in full mode: takes long)

PYTHON      ?= python3
VENV        ?= .venv
OUT         ?= out
LAB_ARGS    ?=
DEMO_ARGS   ?=
PYTEST_ARGS ?=
PIP_ARGS    ?=
# The course site (make book): quick (1) or full (0) mode, output root, executed notebooks.
BOOK_QUICK  ?= 1
BOOK_OUT    ?= build/book
EXECUTED    ?= build/executed
# Debian's Chromium (package `chromium`) drives tests/notebooks/test_browser.py through Playwright; no
# Playwright browser download. REQUIRE_BROWSER=1 makes that test fail instead of skipping.
CHROMIUM        ?= /usr/bin/chromium
REQUIRE_BROWSER ?= 1

VENV_BIN := $(VENV)/bin
VENV_PY  := $(VENV_BIN)/python
# Written after a successful install; older than pyproject.toml → reinstall.
STAMP    := $(VENV)/.afmkit-installed

.DEFAULT_GOAL := help
.PHONY: help venv lab demo test test-browser browser-deps book lint bench student clean distclean

help:
	@echo "afmkit make targets:"
	@echo "  make lab        create $(VENV) if needed, install afmkit, start JupyterLab on notebooks/"
	@echo "  make demo       headless demo: figures and summary.txt in $(OUT)/  (DEMO_ARGS=--quick)"
	@echo "  make test       run the tests in quick mode (PYTEST_ARGS=... passed to pytest)"
	@echo "  make test-browser  only the real-browser test (JupyterLab + Chromium + Playwright)"
	@echo "  make browser-deps  install Debian's chromium if $(CHROMIUM) is missing (apt-get)"
	@echo "  make book       the course site in $(BOOK_OUT)/html (quick mode; BOOK_QUICK=0: full, long)"
	@echo "  make lint       ruff check"
	@echo "  make bench      run the speed scripts in benchmarks/"
	@echo "  make student    student copies of the notebooks, solutions removed, in $(STUDENT)/"
	@echo "  make venv       only create/update $(VENV)"
	@echo "  make clean      remove caches and $(OUT)/ (keeps $(VENV))"
	@echo "  make distclean  clean, and remove $(VENV)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(VENV_PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(VENV_PY) -m pip install --upgrade pip $(PIP_ARGS) \
		|| echo "warning: could not upgrade pip; continuing with the installed one"
	$(VENV_PY) -m pip install $(PIP_ARGS) -e ".[test]"
	@touch $@

# Jupyter refuses to start as root (containers, JupyterHub images) unless told --allow-root.
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

lab: $(STAMP)
	$(VENV_BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_ARGS) $(LAB_ARGS)

demo: $(STAMP)
	MPLBACKEND=Agg $(VENV_BIN)/afmkit demo --out $(OUT) $(DEMO_ARGS)

# pytest's own exit status is make's: failures (1), errors (2..4) and "no tests collected" (5)
# all fail the target.
# The notebook test saves each executed notebook in $(EXECUTED) for the course site to reuse.
TEST_ENV := AFMKIT_QUICK=1 MPLBACKEND=Agg AFMKIT_CHROMIUM=$(CHROMIUM) \
	AFMKIT_REQUIRE_BROWSER=$(REQUIRE_BROWSER) AFMKIT_EXECUTED_DIR=$(abspath $(EXECUTED))

test: $(STAMP) browser-deps
	$(TEST_ENV) $(VENV_PY) -m pytest $(PYTEST_ARGS)

test-browser: $(STAMP) browser-deps
	$(TEST_ENV) $(VENV_PY) -m pytest tests/notebooks/test_browser.py $(PYTEST_ARGS)

# The course site (book/, Sphinx + MyST-NB): every notebook executed in quick mode
# (BOOK_QUICK=0: full mode, which takes long), as static HTML in $(BOOK_OUT)/html; open
# $(BOOK_OUT)/html/index.html. Executed notebooks are kept in $(EXECUTED) (full mode:
# $(EXECUTED)-full) and reused while they are newer than their source and have the same cells;
# `make test` leaves fresh quick-mode ones there, so a `make book` after it only runs Sphinx.
BOOK_EXECUTED := $(EXECUTED)$(if $(filter 0,$(BOOK_QUICK)),-full,)

book: $(STAMP)
	$(VENV_PY) -m book --quick $(if $(filter 0,$(BOOK_QUICK)),0,1) \
		--executed $(BOOK_EXECUTED) --out $(BOOK_OUT)

# Installs Debian's chromium when $(CHROMIUM) is missing (as root, else with `sudo -n`); tries
# without `apt-get update` first. A failed install only warns: the browser test then fails
# (REQUIRE_BROWSER=1) and says why.
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "warning: $(CHROMIUM) missing and no apt-get; install Chromium yourself"; exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; else sudo="sudo -n"; fi; \
	echo "installing Chromium for the browser test: $$sudo apt-get install chromium"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y --no-install-recommends chromium \
		|| { $$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends chromium; } \
		|| echo "warning: could not install chromium; the browser test will not run"

LINT_PATHS := $(wildcard afmkit tests benchmarks scripts book)

lint: $(STAMP)
	$(VENV_BIN)/ruff check $(LINT_PATHS)

bench: $(STAMP)
	@set -e; found=0; \
	for script in benchmarks/*.py; do \
		[ -f "$$script" ] || continue; found=1; \
		echo "== $$script"; \
		MPLBACKEND=Agg $(VENV_PY) "$$script"; \
	done; \
	[ "$$found" = 1 ] || echo "no benchmark scripts in benchmarks/"

# Student copies of notebooks/NN_*.ipynb with the <details> solutions removed (git-ignored;
# made again, never committed). Standard library only: the venv's Python if there is one.
STUDENT ?= student

student:
	$(if $(wildcard $(VENV_PY)),$(VENV_PY),$(PYTHON)) scripts/make_student_copies.py --out $(STUDENT)

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache build dist *.egg-info
	find . -path ./$(VENV) -prune -o -path ./.git -prune -o \
		\( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
