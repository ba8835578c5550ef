# dlforge — `make pipeline` and `make test` are all a fresh machine needs (python3 with pip and venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: pipeline results test ui server lock clean

# Create .venv and install the pinned stack: torch first (a CPU wheel where one is offered locally),
# then everything else under the constraints of requirements/lock.txt.
$(BIN)/.installed: pyproject.toml requirements/lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e '.[dev]'
	touch $@

pipeline: $(BIN)/.installed ## prepare → train → evaluate → register every use case (dvc repro)
	dvc repro

results: pipeline ## rewrite the README's results table (model vs baselines on each gate metric)
	python -m pipelines.results --write README.md

test: $(BIN)/.installed ## the whole test suite (unit + end-to-end)
	python -m pytest

ui: $(BIN)/.installed ## MLflow UI on the embedded store: http://127.0.0.1:5000
	mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} --host 127.0.0.1 --port 5000

server: $(BIN)/.installed ## shared MLflow server on PostgreSQL (sudo scripts/postgres-setup.sh first): http://127.0.0.1:5000
	scripts/mlflow-server.sh

lock: $(BIN)/.installed ## re-pin requirements/lock.txt from the current .venv
	(echo "# Exact versions of the whole stack (pip constraints). Regenerate with: make lock"; \
	 pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/') > requirements/lock.txt

clean: ## remove generated data, models, reports and the MLflow store (keeps .venv)
	rm -rf data models reports mlflow.db mlruns logs

# --- benchmarks (issue 12) ---------------------------------------------------------------------
.PHONY: bench
bench: $(BIN)/.installed ## benchmark suite (< 15 min): rewrites docs/benchmarks.md with ratios measured in one run
	python -m benchmarks.run_all
