# gnnrec: the two commands that matter are `make course` and `make test`.
# Each one sets itself up on a fresh machine (a .venv, the pinned packages, the data).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup data test test-fast course release autograde feedback lab lint strip clean help
.DEFAULT_GOAL := help

help:
	@echo "make course   build and check the whole course (data, lectures, homework, grades)"
	@echo "make test     run every test (sets itself up first)"
	@echo "make setup    create .venv, install the pinned packages, fetch the data"
	@echo "make release  student versions of the homework: solutions/ -> assignments/ (nbgrader)"
	@echo "make autograde grade course/submitted/STUDENT/hwN/ with nbgrader (see course/README.md)"
	@echo "make feedback feedback pages, hidden tests removed, into course/feedback/"
	@echo "make lab      open JupyterLab on 127.0.0.1"
	@echo "make lint     ruff over the library, tests and tools"
	@echo "make strip    clear notebook outputs before a commit (keeps tags and nbgrader metadata)"

# Reinstall only when the package list or the pins change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[course,dev]'
	touch $@

# Quick when the cache already holds a verified copy.
data: $(STAMP)
	$(BIN)/gnnrec data fetch ml-100k

setup: $(STAMP) data

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

course: setup
	$(BIN)/python tools/build_course.py

# Homework with nbgrader (course/ is the course root; see course/README.md).
release: setup
	$(BIN)/python tools/homework.py release

autograde: setup
	$(BIN)/python tools/homework.py autograde

feedback: setup
	$(BIN)/python tools/homework.py feedback

lab: setup
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root,)

lint: $(STAMP)
	$(BIN)/ruff check gnnrec_lite tests tools benchmarks

strip: $(STAMP)
	$(BIN)/gnnrec strip lectures/*.ipynb solutions/*/*.ipynb course/header.ipynb

clean:
	rm -rf build .pytest_cache
