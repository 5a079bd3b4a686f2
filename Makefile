# Two commands on a fresh machine:
#   make lab    set up (first time only) and open JupyterLab on the course
#   make test   set up (first time only) and run the test suite (about 8 minutes on 2 cores)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PORT ?= 8888
# make lab ROLE=learner (the default) hides nbgrader's instructor tools (Create Assignment, the
# Formgrader and its server, Courses; the Assignment List stays); ROLE=instructor shows them.
ROLE ?= learner
ifeq ($(ROLE),learner)
  LAB_ROLE := JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config/learner"
else ifeq ($(ROLE),instructor)
  LAB_ROLE :=
else
  $(error ROLE must be learner or instructor, not "$(ROLE)")
endif

# Where the course's packages come from. A .venv/ made here before wins; otherwise a Python that
# already has every pin of requirements.txt (Binder, a JupyterHub image, a conda env) is used as
# it is, and nothing is created or installed; otherwise .venv/ is made on first use.
ifeq ($(wildcard $(VENV)/bin/python),)
  ifeq ($(shell $(PYTHON) autograder/environment.py 2>/dev/null && echo ready),ready)
    READY_PYTHON := $(shell $(PYTHON) -c "import sys; print(sys.executable)")
  endif
endif
ifdef READY_PYTHON
  BIN := $(patsubst %/,%,$(dir $(READY_PYTHON)))
  STAMP :=
else
  BIN := $(VENV)/bin
  STAMP := $(VENV)/.installed
endif

# Keep Jupyter, IPython and matplotlib state inside the repo: nothing is written to ~.
export JUPYTER_CONFIG_DIR := $(CURDIR)/.jupyter/config
export JUPYTER_DATA_DIR := $(CURDIR)/.jupyter/data
export JUPYTER_RUNTIME_DIR := $(CURDIR)/.jupyter/runtime
export IPYTHONDIR := $(CURDIR)/.jupyter/ipython
export MPLCONFIGDIR := $(CURDIR)/.jupyter/matplotlib
export JUPYTER_PLATFORM_DIRS := 1
export PYTHONDONTWRITEBYTECODE := 1
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab test test-full check bench notebooks site browser clean help

help:
	@echo "make lab        set up on first use, then open JupyterLab on the course (ROLE=instructor: nbgrader's tools)"
	@echo "make test       set up on first use, then run the test suite (about 8 minutes on 2 cores)"
	@echo "make test-full  the exhaustive suite: every wrong answer through stock nbgrader, every notebook in JupyterLab"
	@echo "make check      grade your notebooks with the hidden tests and see hints (never edits them)"
	@echo "make bench      time our grader and self-check against stock nbgrader, side by side"
	@echo "make notebooks  regenerate notebooks/ from solutions/ (keeps edited notebooks safe)"
	@echo "make site       run the solutions and render them as web pages in build/site/ (open index.html)"
	@echo "make browser    run every notebook in JupyterLab in Chromium; screenshots in build/screenshots/"
	@echo "make clean      remove the virtual environment and every generated folder"

setup: $(STAMP)
ifdef READY_PYTHON
	@echo "$(READY_PYTHON) already has every package of requirements.txt: nothing to install"
endif

ifndef READY_PYTHON
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	@touch $@
endif

lab: $(STAMP)
	$(LAB_ROLE) $(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --no-browser --allow-root \
		--ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks \
		--LabApp.app_settings_dir="$(CURDIR)/jupyterlab-settings"

test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# TESTS: which test files (default: all); .ci/run passes the ones --full changes.
test-full: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup --full $(TESTS)

check: $(STAMP)
	$(BIN)/python -m autograder check $(NOTEBOOKS)

bench: $(STAMP)
	$(BIN)/python bench/grading.py

notebooks: $(STAMP)
	$(BIN)/python -m autograder release

site: $(STAMP)
	$(BIN)/python -m autograder.publishing.site

browser: $(STAMP)
	$(BIN)/python -m pytest -p no:xdist --full tests/test_browser.py

clean:
	rm -rf $(VENV) .jupyter build grading .pytest_cache *.egg-info
