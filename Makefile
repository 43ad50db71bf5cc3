# Two commands are the contract (see README): `make demo` and `make test`.
# Both create the virtual environment and install pinned dependencies on first use;
# a stamp file makes the second run a no-op until pyproject.toml or constraints.txt change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint serve screenshots bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[test,lint]'
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/lexi-tui --demo

serve: $(VENV)/.installed
	$(BIN)/lexi-tui serve --port 8787 --seed-tasks 50

test: $(VENV)/.installed
	$(BIN)/python -m pytest

# ruff (style and bugs), mypy --strict on the layers without Textual, import-linter's layer contracts.
lint: $(VENV)/.installed
	$(BIN)/ruff check lexi_tui tests tools benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

screenshots: $(VENV)/.installed
	$(BIN)/python -m tools.screenshots screenshots

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks

bench-quick: $(VENV)/.installed
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) .pytest_cache
