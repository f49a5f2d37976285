# The book's two commands are `make book` and `make test`; both install what they need into .venv.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
JOBS    ?= 2
PROFILE ?= smoke
SEED    ?= 0
# Per-cell limit for smoke executions: the slowest smoke cell takes well under a minute, so a hang fails fast.
CELL_TIMEOUT ?= 300

NOTEBOOKS := $(sort $(wildcard notebooks/*.md))
# Parameters are injected only when they differ from the notebooks' defaults (smoke, seed 0), so the pages
# do not show a redundant "injected parameters" cell.
PARAMS    := $(if $(filter-out smoke,$(PROFILE))$(filter-out 0,$(SEED)),-p profile $(PROFILE) -p seed $(SEED))
# One folder per profile and seed, so a smoke build is never reused for another profile.
EXEC_DIR  := _build/executed/$(PROFILE)-seed$(SEED)
EXECUTED  := $(patsubst notebooks/%.md,$(EXEC_DIR)/%.ipynb,$(NOTEBOOKS))
# Every library file, subpackages included: a change anywhere in mylib re-executes the pages.
LIBRARY   := $(sort $(shell find mylib -name '*.py' -not -path '*/__pycache__/*'))
RESULTS   := $(sort $(shell find results -name '*.json' -not -name '*.numbers.json' 2>/dev/null))
VENDOR    := _build/vendor/.stamp

# One thread per numerical library: two notebooks run side by side on two cores, and CPU outputs are
# reproducible run to run. Progress bars are off in executed pages (they stay on for interactive users).
export OMP_NUM_THREADS=1
export MKL_NUM_THREADS=1
export OPENBLAS_NUM_THREADS=1
export MYLIB_PROGRESS=0
export PYDEVD_DISABLE_FILE_VALIDATION=1
# CPU kernels pinned to AVX2, so every x86-64 CPU with AVX2 (AVX-512 ones included) computes the committed
# reference outputs bit for bit. Override on the command line, e.g. `make test ATEN_CPU_CAPABILITY=default`.
export ATEN_CPU_CAPABILITY ?= avx2
export ONEDNN_MAX_CPU_ISA ?= AVX2
export MKL_CBWR ?= AVX2
export OPENBLAS_CORETYPE ?= Haswell
# The checkout's own mylib first, whichever virtual environment runs it (a shared venv, a git worktree).
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: help venv test unit notebooks nbval keynumbers dryrun book executed vendor references experiments clean repo-url

help:
	@echo "make book        build the HTML book (executes every notebook at smoke scale with papermill)"
	@echo "make test        unit tests + papermill smoke execution + nbval against committed references"
	@echo "make references  re-execute notebooks and rewrite the committed .ipynb references (NB=one.md)"
	@echo "make experiments PROFILE=full [ONLY=part1]   run notebooks into results/<profile>/ (resumable)"
	@echo "make experiments PROFILE=full DRYRUN=1       the full configuration on the CPU, capped (results/full-dryrun/)"

# --- environment -------------------------------------------------------------------------------------------
$(STAMP): requirements/torch.txt requirements/book.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/torch.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/book.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

venv: $(STAMP)

# --- notebooks executed by papermill (smoke profile), shared by `make test` and `make book` ------------------
# The source is the .md (converted by jupytext), so an edited notebook is re-executed even before its reference
# .ipynb is rewritten; so is every notebook when any library file changes. Each run leaves its summary numbers in
# <stem>.numbers.json (MYLIB_RECORD) for the key-number test.
$(EXEC_DIR)/%.ipynb: notebooks/%.md $(LIBRARY) $(STAMP)
	@mkdir -p $(@D)
	@echo "papermill $< (profile=$(PROFILE), seed=$(SEED))"
	@rm -f $(@D)/$*.numbers.json
	@$(BIN)/jupytext --quiet --to ipynb --output $(@D)/$*.source.ipynb $<
	@start=$$(date +%s); \
	MYLIB_RECORD=$(CURDIR)/$(@D)/$*.numbers.json \
	$(BIN)/papermill $(@D)/$*.source.ipynb $@ $(PARAMS) --cwd notebooks -k python3 \
	  --execution-timeout $(CELL_TIMEOUT) --no-progress-bar --log-level WARNING \
	  && rm -f $(@D)/$*.source.ipynb && echo "  done $< in $$(( $$(date +%s) - start )) s"

# The results page is re-executed when a run record changes.
$(EXEC_DIR)/results.ipynb: $(RESULTS)

executed: $(EXECUTED)

# --- tests ---------------------------------------------------------------------------------------------------
unit: $(STAMP)
	$(BIN)/python -m pytest tests -q -n $(JOBS)

notebooks: $(STAMP)
	@$(MAKE) --no-print-directory -j$(JOBS) executed

nbval: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadscope --nbval-lax \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout $(CELL_TIMEOUT) notebooks/*.ipynb

# The exact numbers of every notebook's summary against tests/key_numbers/<stem>.json (stated tolerances); the
# references are the smoke profile at seed 0.
keynumbers: $(STAMP)
	MYLIB_KEY_NUMBERS_DIR=$(CURDIR)/_build/executed/smoke-seed0 $(BIN)/python -m pytest -q tests/test_key_numbers.py

# The papermill pass runs the notebooks the way `make book` and `make experiments` do (parameter injection,
# working directory) and leaves the executed pages for `make book`; nbval then re-executes the committed
# references and compares their checked outputs. Both are asked for: a notebook can pass one and fail the other.
test: $(STAMP)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory notebooks PROFILE=smoke SEED=0
	@$(MAKE) --no-print-directory keynumbers
	@$(MAKE) --no-print-directory nbval
	@$(MAKE) --no-print-directory dryrun

# --- book ----------------------------------------------------------------------------------------------------
$(VENDOR): tools/vendor/package.json tools/vendor/package-lock.json
	@rm -rf _build/npm _build/vendor && mkdir -p _build/npm _build/vendor
	cp tools/vendor/package.json tools/vendor/package-lock.json _build/npm/
	cd _build/npm && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cp -r _build/npm/node_modules/mathjax _build/vendor/mathjax
	cp -r _build/npm/node_modules/@jupyter-widgets/html-manager/dist _build/vendor/html-manager
	cp _build/npm/node_modules/requirejs/require.js _build/vendor/require.js
	@touch $@

vendor: $(VENDOR)

book: $(STAMP) $(VENDOR)
	@$(MAKE) --no-print-directory -j$(JOBS) executed
	@rm -rf _build/src && mkdir -p _build/src/notebooks _build/src/_extra
	cp -r book _config.yml _toc.yml _build/src/
	cp $(EXECUTED) _build/src/notebooks/
	cp -r _build/vendor _build/src/_extra/vendor
	$(BIN)/python benchmarks/bench_training.py --flops --markdown > _build/src/book/cost_table.md
	rm -rf _build/html
	$(BIN)/jupyter-book build _build/src --path-output . -n -W --keep-going
	@echo "The book is in _build/html/index.html"

# --- references (deliberate) ---------------------------------------------------------------------------------
NB ?= $(NOTEBOOKS)
references: $(STAMP)
	$(BIN)/python tools/execute_notebook.py $(NB)
	@echo "Review the changed reference outputs with: git diff --stat notebooks/ && git diff notebooks/"

# --- experiments at any profile, resumable, with run records (results/<profile>/) -------------------------------
# TIMEOUT= per-cell limit in seconds (default by profile: 600 smoke, 72 h full); RERUN=1 trains again from scratch;
# DRYRUN=1 runs the profile's configuration on the CPU with trainings capped at a few steps (results/<profile>-dryrun).
# A full run uses every core for its CPU side (data, evaluation): the one-thread pins above are lifted.
ONLY    ?=
SEEDS   ?= $(SEED)
TIMEOUT ?=
DRYRUN  ?=
RERUN   ?=
THREADS := $(if $(and $(filter full,$(PROFILE)),$(if $(DRYRUN),,1)),env -u OMP_NUM_THREADS -u MKL_NUM_THREADS -u OPENBLAS_NUM_THREADS)
experiments: $(STAMP)
	MYLIB_PROGRESS=1 $(THREADS) $(BIN)/python -m mylib.experiments --profile $(PROFILE) --seeds $(SEEDS) \
	  $(if $(ONLY),--only $(ONLY)) $(if $(FORCE),--force) $(if $(RERUN),--rerun) \
	  $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(DRYRUN),--dry-run --jobs $(JOBS))

# The dry run of the full profile (part of `make test`): every notebook, $(JOBS) at a time (one thread each), with the
# full configuration (trainings capped at a few steps), then a check of every record in results/full-dryrun/.
# Notebooks listed in tests/dryrun_pending.txt (not yet dry-run ready) are skipped.
DRYRUN_PENDING := $(shell sed -n 's/^\([a-z0-9_]*\):.*/\1/p' tests/dryrun_pending.txt 2>/dev/null)
dryrun: $(STAMP)
	-$(BIN)/python -m mylib.experiments --profile full --dry-run --jobs $(JOBS) \
	  --rerun --timeout $(CELL_TIMEOUT) $(if $(ONLY),--only $(ONLY)) $(if $(DRYRUN_PENDING),--exclude $(DRYRUN_PENDING))
	MYLIB_DRYRUN_DIR=$(CURDIR)/results/full-dryrun $(BIN)/python -m pytest -q tests/test_dryrun.py

repo-url: $(STAMP)
	@test -n "$(URL)" || { echo "usage: make repo-url URL=https://github.com/OWNER/REPO [REF=tag-or-commit]"; exit 2; }
	$(BIN)/python tools/set_repo_url.py "$(URL)" $(REF)

clean:
	rm -rf _build
