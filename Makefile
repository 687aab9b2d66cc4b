# Two commands set everything up on a fresh clone:
#   make repro   create the environment if needed, then run the pipeline (dvc repro)
#   make test    same environment, then the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DVC_NO_ANALYTICS := 1
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup repro test bench mutation clean-env

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml src/climbpose/report/plot_page.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m climbpose.report.plot_page
	touch $@

repro: setup
	$(BIN)/dvc repro

# Tests run in a new random order each time (pytest-random-order); the seed is printed first so a
# failing order can be rerun: make test ORDER_SEED=N.
ifndef ORDER_SEED
ORDER_SEED := $(shell od -An -N3 -tu4 /dev/urandom | tr -d ' ')
endif
test: setup
	@echo "test order: --random-order-seed=$(ORDER_SEED)"
	$(BIN)/python -m pytest -q --random-order-seed=$(ORDER_SEED)

# Benchmarks print JSON lines (median of repetitions); see docs/performance.md#performance.
bench: setup
	$(BIN)/python bench/bench_extract.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_precision.py
	$(BIN)/python bench/bench_predict.py
	$(BIN)/python bench/bench_predict_memory.py
	$(BIN)/python bench/bench_depthwise.py

# Mutation testing of the metric and transform core ([tool.mutmut] in pyproject.toml): under two
# minutes on 2 cores, but not part of make test. Survivors: mutmut results, then mutmut show NAME.
mutation: setup
	$(BIN)/python -m pip install --quiet mutmut==3.8.1
	rm -rf mutants
	# One OpenMP thread: a worker forked from a process whose thread pool is running can hang in it.
	OMP_NUM_THREADS=1 HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

clean-env:
	rm -rf $(VENV)

# The thesis' 24 runs through the DVC queue, then the report. JOBS queue workers (one GPU each).
JOBS ?= 1
GRID := -S 'model=conv3d,deciwatch,bi_convlstm_sum,bi_convlstm_concat' -S 'experiment=1,2,3' -S 's=1,2'

.PHONY: grid
grid: setup
	$(BIN)/dvc exp run --queue $(GRID)
	$(BIN)/dvc queue start -j $(JOBS)
	while $(BIN)/dvc queue status | grep -qE 'Queued|Running'; do \
	  $(BIN)/dvc queue status | awk '$$NF == "Success" {d++} $$NF == "Failed" {f++} $$NF == "Running" {r++} $$NF == "Queued" {q++} \
	    END {printf "grid: %d done, %d failed, %d running, %d queued\n", d, f, r, q}'; \
	  sleep 30; \
	done
	$(BIN)/climbpose report
