# cleartune: the commands a new user runs.  `make demo` and `make test` work on a fresh
# Debian/Ubuntu clone (they install what they need; apt needs root or sudo).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data/default
RUNS ?= runs

.PHONY: help setup setup-edge demo lint test test-fast model pi-check bench clean

help:
	@echo "make demo      set up (edge only) and run the tuner on the shipped demo recording"
	@echo "make test      set up everything, lint (ruff) and run the test suite"
	@echo "make model     rebuild the shipped edge model from scratch (data, train, quantize)"
	@echo "make bench     benchmarks into bench/results/"
	@echo "make pi-check  install and test the edge side on emulated aarch64 (Raspberry Pi)"

setup:
	PYTHON=$(PY) VENV=$(VENV) scripts/setup.sh all

setup-edge:
	PYTHON=$(PY) VENV=$(VENV) scripts/setup.sh edge

demo: setup-edge
	$(BIN)/cleartune analyze edge/demo/demo.wav

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q tests

model: setup
	scripts/make_model.sh

bench: setup
	$(BIN)/cleartune bench --out bench/results

pi-check:
	scripts/pi_check.sh

clean:
	rm -rf build dist *.egg-info .pytest_cache
