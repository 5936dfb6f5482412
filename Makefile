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

.PHONY: install run test ui validate kpi clean

install: $(STAMP)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

run: $(STAMP)
	$(VENV)/bin/esante run

test: $(STAMP)
	$(VENV)/bin/python -m pytest

# The Dagster UI and daemon on 127.0.0.1 with the project's instance (dagster.yaml, storage in .dagster/).
ui: $(STAMP)
	DAGSTER_HOME=$(CURDIR) DAGSTER_STORAGE_DIR=$(CURDIR)/.dagster DAGSTER_COMPUTE_LOGS_DIR=$(CURDIR)/.dagster/compute_logs \
	DAGSTER_DISABLE_TELEMETRY=1 $(VENV)/bin/dagster dev -m pipelines.definitions -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) $(TOOLS) .dagster warehouse/.build warehouse/versions warehouse/*.duckdb
