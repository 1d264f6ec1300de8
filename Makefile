# tongxin: two commands for a newcomer — `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check install serve bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## make demo: set up, create the database, load demo data, build the index, start http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/tongxin demo --serve

## make check: lint (ruff)
check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

## make test: set up, lint and run the whole suite
test: check
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) data
