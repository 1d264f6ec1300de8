# tongxin: two commands for a newcomer — `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages (scripts/system-deps.sh): as root it installs what is missing, otherwise it prints
# the sudo apt-get command and stops. SKIP_SYSTEM_DEPS=1 skips the check.
SYSDEPS := PY=$(PY) bash scripts/system-deps.sh

.PHONY: demo test check install serve bench clean system-deps-demo system-deps-test

system-deps-demo:
	@$(SYSDEPS) demo

system-deps-test:
	@$(SYSDEPS) test

$(BIN)/python: | system-deps-demo
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## make demo: set up, create the database, load demo data, build the index, start http://127.0.0.1:8000
demo: system-deps-demo $(STAMP)
	$(BIN)/tongxin demo --serve

## make check: lint (ruff) and types (mypy: strict on src/tongxin/core, see [tool.mypy] in pyproject.toml)
check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

## make test: system packages (chromium, CJK and emoji fonts, poppler), set up, lint and run the whole suite
test: system-deps-test check
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) data
