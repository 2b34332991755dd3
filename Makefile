# The backprop kata. `make help` lists the targets.
# Students: install, test, submit. Instructors: release, autograde, feedback, grades, demo.
# Maintainers: selftest (what CI runs), generate, bench.

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
IMPL    ?= exercises
# `make submit STUDENT=<id>` once: the id is remembered here and names every later zip.
STUDENT_FILE := .kata-student
STUDENT ?= $(shell cat $(STUDENT_FILE) 2>/dev/null)
SUBMISSIONS ?= submissions/*
OUT     ?= graded
COURSE  := grading/course
# nbgrader runs some tools (alembic) by name: the venv's bin/ comes first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help install install-instructor test submit selftest demo release autograde \
        feedback grades bench-autograde autograde-kata gradescope generate bench clean \
        venv-check impl-check train

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# --- environments: the student's is small, the instructor's adds nbgrader & co. ---------
# The oldest Python the kata runs on (pyproject.toml's requires-python says the same).
MIN_PYTHON := 3.10
comma := ,
# Prints a Python's "major.minor"; exits 1 if it is older than MIN_PYTHON.
PYVERSION  := import sys; print("%d.%d" % sys.version_info[:2]); sys.exit(sys.version_info < ($(subst .,$(comma),$(MIN_PYTHON)),))
# Before .venv is used or made: is it (or will it be) a Python the kata runs on, and the one
# PYTHON=... asks for? Every refusal says how to rebuild (English, then Korean).
venv-check:
	@if [ -e $(VENV) ]; then \
	  have=$$($(PY) -c '$(PYVERSION)' 2>/dev/null); ok=$$?; \
	  if [ -z "$$have" ]; then \
	    echo "error: $(VENV) does not run (its Python was moved or removed). Rebuild it: rm -rf $(VENV), then make test"; \
	    echo "오류: $(VENV)가 실행되지 않습니다 (Python이 옮겨졌거나 삭제됨). rm -rf $(VENV) 후 make test 로 다시 만드세요"; exit 1; \
	  elif [ $$ok != 0 ]; then \
	    echo "error: $(VENV) was made with Python $$have; the kata needs Python >= $(MIN_PYTHON). Rebuild it: rm -rf $(VENV), then make test PYTHON=python3.11 (any 3.10 to 3.13)"; \
	    echo "오류: $(VENV)는 Python $$have 로 만들어졌고 Python $(MIN_PYTHON) 이상이 필요합니다. rm -rf $(VENV) 후 make test PYTHON=python3.11 (3.10~3.13) 로 다시 만드세요"; exit 1; \
	  fi; \
	  if [ "$(origin PYTHON)" = "command line" ]; then \
	    want=$$($(PYTHON) -c '$(PYVERSION)' 2>/dev/null); \
	    if [ "$$want" != "$$have" ]; then \
	      echo "error: $(VENV) was made with Python $$have, not with PYTHON=$(PYTHON) ($${want:-not found}). To switch: rm -rf $(VENV), then make test PYTHON=$(PYTHON); or leave PYTHON= out to keep $$have"; \
	      echo "오류: $(VENV)는 Python $$have 로 만들어졌습니다 (PYTHON=$(PYTHON): $${want:-없음}). 바꾸려면 rm -rf $(VENV) 후 make test PYTHON=$(PYTHON), 그대로 쓰려면 PYTHON= 없이 실행하세요"; exit 1; \
	    fi; \
	  fi; \
	else \
	  want=$$($(PYTHON) -c '$(PYVERSION)' 2>/dev/null); ok=$$?; \
	  if [ -z "$$want" ]; then \
	    echo "error: $(PYTHON) not found. Install Python >= $(MIN_PYTHON), or name one: make test PYTHON=python3.11"; \
	    echo "오류: $(PYTHON)를 찾을 수 없습니다. Python $(MIN_PYTHON) 이상을 설치하거나 지정하세요: make test PYTHON=python3.11"; exit 1; \
	  elif [ $$ok != 0 ]; then \
	    echo "error: $(PYTHON) is Python $$want; the kata needs Python >= $(MIN_PYTHON). Name a newer one: make test PYTHON=python3.11 (any 3.10 to 3.13)"; \
	    echo "오류: $(PYTHON)는 Python $$want 입니다. Python $(MIN_PYTHON) 이상이 필요합니다: make test PYTHON=python3.11 (3.10~3.13)"; exit 1; \
	  fi; \
	fi

# A venv made here is removed again if its install fails (offline, wrong Python...), so the
# next `make test` starts clean instead of reusing a half-made one.
$(VENV)/.kata-base: pyproject.toml | venv-check
	@if [ ! -e $(VENV) ]; then \
	  echo "making $(VENV) with $$($(PYTHON) -V 2>&1) ($(PYTHON))"; \
	  $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet --disable-pip-version-check -e . \
	  || { rm -rf $(VENV); \
	       echo "error: could not make $(VENV) with $(PYTHON) (see above; on Debian/Ubuntu: apt install python3-venv). Nothing was left behind: fix the cause, then make test again"; \
	       echo "오류: $(PYTHON)로 $(VENV)를 만들지 못했습니다 (위 메시지 참고; Debian/Ubuntu는 apt install python3-venv). 남은 것은 없습니다: 원인을 고친 뒤 make test 를 다시 실행하세요"; exit 1; }; \
	else \
	  $(PY) -m pip install --quiet --disable-pip-version-check -e . \
	  || { echo "error: could not install the kata's packages into $(VENV) (see above). To start over: rm -rf $(VENV), then make test"; \
	       echo "오류: $(VENV)에 패키지를 설치하지 못했습니다 (위 메시지 참고). 처음부터: rm -rf $(VENV) 후 make test"; exit 1; }; \
	fi
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
	@# The selftest's browser step drives Debian's chromium (fonts-nanum: Korean in its screenshots).
	@missing="$$(command -v chromium >/dev/null || echo chromium; test -d /usr/share/fonts/truetype/nanum || echo fonts-nanum)"; \
	  [ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq $$missing) >/dev/null 2>&1; } || \
	  echo "note: could not install" $$missing "(apt-get, as root): the selftest's browser step needs chromium"
	@touch $@

install: $(VENV)/.kata-base ## create .venv with numpy, pytest and pytest-check

install-instructor: $(VENV)/.kata-instructor ## add the instructor's tools (nbgrader, rich, bubblewrap)

# --- student ---------------------------------------------------------------------------
# CLASS=MatMul (any case) runs that class's tests only, FILE=tests/test_x.py one file,
# ARGS=... anything else pytest takes; the public suite's "rerun with" hint uses CLASS.
CLASS_FILE = tests/test_$(shell echo '$(CLASS)' | tr A-Z a-z).py
TEST_PATHS = $(or $(strip $(if $(CLASS),$(CLASS_FILE)) $(FILE)),tests)

impl-check:
	@if [ -f "$(IMPL)" ]; then \
	  echo "error: IMPL=$(IMPL) is a file: give the folder that holds layers.py and optimizer.py: make $(firstword $(MAKECMDGOALS)) IMPL=$(or $(patsubst %/,%,$(dir $(IMPL))),.)"; \
	  echo "오류: IMPL=$(IMPL) 은 파일입니다. layers.py와 optimizer.py가 있는 폴더를 주세요: make $(firstword $(MAKECMDGOALS)) IMPL=$(or $(patsubst %/,%,$(dir $(IMPL))),.)"; exit 2; \
	fi
	@if [ -n "$(CLASS)" ] && [ ! -f "$(CLASS_FILE)" ]; then \
	  echo "error: CLASS=$(CLASS): no such class; one of MatMul, Sigmoid, Affine, SGD"; \
	  echo "오류: CLASS=$(CLASS) 라는 클래스는 없습니다. MatMul, Sigmoid, Affine, SGD 중 하나를 주세요"; exit 2; \
	fi

test: impl-check install ## run the public tests on exercises/ (IMPL=<folder>; CLASS=MatMul, FILE=..., ARGS=... to narrow)
	@KATA_IMPL="$(IMPL)" $(PY) -m pytest $(TEST_PATHS) $(ARGS)

# The chapter's payoff: your classes in the book's two-layer network, on the spiral data.
# matplotlib (for the picture) is installed on first use, here only: make test stays light.
EPOCHS  ?= 300
PICTURE ?= training.png
$(VENV)/.kata-train: $(VENV)/.kata-base
	@echo "installing matplotlib for make train (once) / make train용 matplotlib 설치 (한 번만)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[train]" \
	  || { echo "error: could not install matplotlib (see above); make test still works"; \
	       echo "오류: matplotlib을 설치하지 못했습니다 (위 메시지 참고). make test 는 그대로 쓸 수 있습니다"; exit 1; }
	@touch $@

train: impl-check $(VENV)/.kata-train ## train the book's TwoLayerNet with your classes on the spiral data: accuracy and training.png
	@MPLBACKEND=Agg $(PY) -m network.train --impl "$(IMPL)" --epochs "$(EPOCHS)" --out "$(PICTURE)"

# In an nbgrader course the fetched notebook sits here (backprop/backprop.ipynb), and
# `make submit` hands it in through the exchange instead (NBGRADER_ASSIGNMENT=backprop
# forces that, NBGRADER_ASSIGNMENT= the zip; STUDENT=<id> passes --student).
NBGRADER_ASSIGNMENT ?= $(if $(wildcard backprop/backprop.ipynb),backprop)

submit: $(if $(NBGRADER_ASSIGNMENT),,impl-check install) ## check your work, then pack exercises/ as submission-<id>.zip (STUDENT=<id> once; nbgrader course: nbgrader submit)
ifneq ($(NBGRADER_ASSIGNMENT),)
	@command -v nbgrader >/dev/null || { echo "error: nbgrader is not installed here: submit from the course's Jupyter (Assignments tab)"; exit 1; }
	nbgrader submit $(NBGRADER_ASSIGNMENT) $(if $(filter command line environment,$(origin STUDENT)),--student=$(STUDENT))
else
	@if [ -z "$(STUDENT)" ]; then \
	  echo "error: who is submitting? Give your student id once: make submit STUDENT=<your id> (it is remembered in $(STUDENT_FILE) and names your zip)"; \
	  echo "오류: 학번(학생 ID)이 없습니다. 한 번만 지정하세요: make submit STUDENT=<학번> ($(STUDENT_FILE)에 저장되어 zip 이름이 됩니다)"; exit 2; \
	fi
	@echo '$(STUDENT)' | grep -qE '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$$' || { \
	  echo "error: STUDENT=$(STUDENT): use letters, digits, '.', '_' or '-' only (it becomes a file name)"; \
	  echo "오류: STUDENT=$(STUDENT): 영문자, 숫자, '.', '_', '-' 만 쓸 수 있습니다 (파일 이름이 됩니다)"; exit 2; }
	@if [ "$(origin STUDENT)" = "command line" ] && [ "$$(cat $(STUDENT_FILE) 2>/dev/null)" != "$(STUDENT)" ]; then \
	  echo '$(STUDENT)' > $(STUDENT_FILE) && echo "remembered STUDENT=$(STUDENT) in $(STUDENT_FILE)"; fi
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
	rm -rf graded dist demo submission-*.zip .pytest_cache training.png
