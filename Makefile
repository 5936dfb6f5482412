# Two commands do all the set-up on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.installed
# Python here is told not to write bytecode; compile it once at install so imports stay fast.
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test test-daemon lint ui portail docs clean

install: $(STAMP)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups --python $(PYTHON)
	@touch $@

run: $(STAMP)
	$(VENV)/bin/esante run

# Three workers (pytest-xdist): the end-to-end tests mostly wait on real processes, quick ones fill in.
test: $(STAMP)
	$(VENV)/bin/python -m pytest -m "not daemon" -n 3 --dist worksteal

# The real Dagster daemon and webserver: a drop to publication, restarts, thirty drops at once (CI runs it too).
test-daemon: $(STAMP)
	$(VENV)/bin/python -m pytest -m daemon -n 2 --dist worksteal

# ruff (lint and format) and the layers of pipelines/ ([tool.importlinter] in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The Dagster UI and daemon on 127.0.0.1:3000 with the project's instance (dagster.yaml, storage in .dagster/).
ui: $(STAMP)
	$(VENV)/bin/esante ui

# The stewards' portal on 127.0.0.1:8000 (accounts: esante utilisateur ajouter NOM --sources …).
portail: $(STAMP)
	$(VENV)/bin/esante portail

# docs/sources/ and warehouse/DICTIONNAIRE.md, generated from the units (a test fails when they are stale).
docs: $(STAMP)
	$(VENV)/bin/esante docs

clean:
	rm -rf $(VENV) $(TOOLS) .dagster warehouse/.build warehouse/versions warehouse/*.duckdb warehouse/rapports
