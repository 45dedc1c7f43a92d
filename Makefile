# Two commands on a fresh machine: `make run` (service with the demo crawled and profiled) and `make test` (all tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: install
	$(BIN)/catalog demo

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/crawl_postgres.py

clean:
	rm -rf $(VENV) .catalog sources .pytest_cache
