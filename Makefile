# The backprop kata. `make help` lists the targets.
# Students: install, test, submit. Instructors: release, autograde, feedback, grades, demo.
# Maintainers: selftest (what CI runs), generate, bench.

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
IMPL    ?= exercises
STUDENT ?= $(shell id -un)
SUBMISSIONS ?= submissions/*
OUT     ?= graded
COURSE  := grading/course
# nbgrader runs some tools (alembic) by name: the venv's bin/ comes first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help install install-instructor test submit selftest demo release autograde \
        feedback grades bench-autograde autograde-kata gradescope generate bench clean

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# --- environments: the student's is small, the instructor's adds nbgrader & co. ---------
$(VENV)/.kata-base: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: could not create $(VENV) with $(PYTHON) (need Python >= 3.11 with venv)"; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.kata-instructor: $(VENV)/.kata-base
	@test -d grading || { echo "error: this is the student kit: the instructor's targets need the full kata repository (grading/)"; exit 2; }
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[instructor]"
	@# jsonschema imports this optional grammar package if present, costing every nbgrader
	@# command about a second at start-up; nothing here validates IRIs, so leave it out.
	$(PY) -m pip uninstall --quiet -y rfc3987-syntax >/dev/null 2>&1 || true
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null 2>&1; } || \
	  echo "note: bubblewrap is not installed; the grader will run submissions with process limits only"
	@touch $@

install: $(VENV)/.kata-base ## create .venv with numpy, pytest and pytest-check

install-instructor: $(VENV)/.kata-instructor ## add the instructor's tools (nbgrader, rich, bubblewrap)

# --- student ---------------------------------------------------------------------------
test: install ## run the public tests on exercises/ (IMPL=solutions or IMPL=<folder> elsewhere)
	@KATA_IMPL="$(IMPL)" $(PY) -m pytest tests

# In an nbgrader course the fetched notebook sits here (backprop/backprop.ipynb), and
# `make submit` hands it in through the exchange instead (NBGRADER_ASSIGNMENT=backprop
# forces that, NBGRADER_ASSIGNMENT= the zip; STUDENT=<id> passes --student).
NBGRADER_ASSIGNMENT ?= $(if $(wildcard backprop/backprop.ipynb),backprop)

submit: $(if $(NBGRADER_ASSIGNMENT),,install) ## check your work, then pack exercises/ as submission-<you>.zip (nbgrader course: nbgrader submit)
ifneq ($(NBGRADER_ASSIGNMENT),)
	@command -v nbgrader >/dev/null || { echo "error: nbgrader is not installed here: submit from the course's Jupyter (Assignments tab)"; exit 1; }
	nbgrader submit $(NBGRADER_ASSIGNMENT) $(if $(filter command line environment,$(origin STUDENT)),--student=$(STUDENT))
else
	@KATA_IMPL="$(IMPL)" $(PY) -m pytest tests -q --no-header >/dev/null 2>&1 \
	  && echo "public tests: all pass" \
	  || echo "public tests: some fail (run 'make test' to see which); packing anyway"
	@$(PY) -m zipfile -c submission-$(STUDENT).zip $(IMPL)/layers.py $(IMPL)/optimizer.py \
	  && echo "wrote submission-$(STUDENT).zip: hand this file in"
endif

# --- instructor ------------------------------------------------------------------------
# The nbgrader course: grading/course. Exchange: EXCHANGE=<folder>, else $KATA_EXCHANGE,
# else nbgrader's /usr/local/share/nbgrader/exchange.
LOOP := $(PY) -m grading.course.loop $(if $(EXCHANGE),--exchange "$(EXCHANGE)")

release: install-instructor ## check all first, then publish: the nbgrader assignment to the exchange and dist/student-kit.zip (nothing when refused)
	$(LOOP) release

autograde: install-instructor ## collect and autograde in sandboxed kernels, JOBS=N at once (default: cores; FORCE=1: all again)
	$(if $(UNSAFE_KERNEL),KATA_KERNEL_SANDBOX=off) $(LOOP) autograde $(if $(FORCE),--force) $(if $(JOBS),--jobs $(JOBS))

feedback: install-instructor ## feedback HTML (leak-scanned), released to the students
	$(LOOP) feedback

grades: install-instructor ## nbgrader export + graded/nbgrader-grades.csv: trusted scores, MISMATCH where a kernel claimed others
	$(LOOP) grades --out "$(OUT)"

demo: install-instructor ## the instructor's work on bundled sample students, in demo/ (its own exchange)
	$(PY) -m grading.course.loop demo $(if $(JOBS),--jobs $(JOBS))

bench-autograde: install-instructor ## seconds per student of make autograde, JOBS=1 and JOBS=2, on 24 sample students
	$(PY) -m grading.course.bench --students 24 --jobs 2

autograde-kata: install-instructor ## grade SUBMISSIONS=... (folders, zips, notebooks) into OUT=graded
	$(PY) -m grading grade $(SUBMISSIONS) --out $(OUT)

gradescope: install-instructor ## build dist/gradescope-autograder.zip
	$(PY) -m grading.gradescope build dist/gradescope-autograder.zip

# --- maintainer ------------------------------------------------------------------------
generate: install-instructor ## regenerate exercises/ and the course notebook from solutions/
	$(PY) -m grading.tools.gen_stubs
	$(PY) -m grading.course.build_assignment

selftest: install-instructor ## prove the kata: reference, stubs, catalogue, sandbox, nbgrader loop
	$(PY) -m grading.selftest

bench: install-instructor ## print timing figures (public suite, grader throughput)
	$(PY) -m grading.bench

clean: ## remove generated outputs (keeps .venv)
	rm -rf graded dist demo submission-*.zip .pytest_cache
