# gnnrec: the two commands that matter are `make course` and `make test`.
# Each one sets itself up on a fresh machine (a .venv, the pinned packages, the data).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup data test test-fast course release autograde feedback lab lint strip results site provision mathjax clean help
.DEFAULT_GOAL := help

help:
	@echo "make course   build and check the whole course (data, lectures, homework, grades)"
	@echo "make test     run every test (sets itself up first)"
	@echo "make setup    create .venv, install the pinned packages, fetch the data and MathJax, system packages"
	@echo "make site     the course website, from the executed lectures, into build/site/"
	@echo "make release  student versions of the homework: solutions/ -> assignments/ (nbgrader)"
	@echo "make autograde grade course/submitted/STUDENT/hwN/, sandboxed; JOBS=N at a time (course/README.md)"
	@echo "make feedback feedback pages, hidden tests removed, into course/feedback/"
	@echo "make lab      open JupyterLab on 127.0.0.1"
	@echo "make lint     ruff over the library, tests and tools"
	@echo "make strip    clear notebook outputs before a commit (keeps tags and nbgrader metadata)"
	@echo "make results  docs/results.md from docs/results.template.md and benchmarks/results/*.json"

# Reinstall only when the package list or the pins change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[course,dev,site]'
	touch $@

# Quick when the cache already holds a verified copy.
data: $(STAMP)
	$(BIN)/gnnrec data fetch ml-100k

# Chromium, bubblewrap and npm from apt-get when missing and possible; otherwise one line on how (tools/provision.sh).
provision:
	@bash tools/provision.sh

# MathJax for the course website: npm package mathjax@3.2.2 into the data cache, verified; quick when cached.
mathjax: $(STAMP) provision
	$(BIN)/python tools/build_site.py fetch-mathjax

setup: $(STAMP) provision data mathjax

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

course: setup
	$(BIN)/python tools/build_course.py

# From what `make course` left in build/lectures (runs the lectures in FAST mode first when there are none).
site: setup
	$(BIN)/python tools/build_site.py

# Homework with nbgrader (course/ is the course root; see course/README.md).
release: setup
	$(BIN)/python tools/homework.py release

# JOBS=N grades N submissions at a time, each in its own sandbox (course/README.md, "A class on every core").
autograde: setup
	$(BIN)/python tools/homework.py autograde --jobs $(or $(JOBS),1)

feedback: setup
	$(BIN)/python tools/homework.py feedback

lab: setup
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root,)

lint: $(STAMP)
	$(BIN)/ruff check gnnrec_lite tests tools benchmarks

strip: $(STAMP)
	$(BIN)/gnnrec strip lectures/*.ipynb solutions/*/*.ipynb course/header.ipynb

# docs/results.md is generated; the benchmarks/ scripts write the JSON (see benchmarks/README.md).
results: $(STAMP)
	$(BIN)/python tools/make_results.py

clean:
	rm -rf build .pytest_cache
