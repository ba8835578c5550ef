# dlforge — `make pipeline` and `make test` are all a fresh machine needs (python3 with pip and venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: pipeline results seeds test test-fast lint ui server lock clean dvc-sync dockerfile dashboard

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
	python -m tools.results --write README.md

seeds: $(BIN)/.installed ## train every use case under seeds 42 43 44 outside DVC (seeds/, no MLflow) → docs/seeds.json; then make results
	python -m tools.seeds

# Both cores: pytest-xdist runs test files in two workers (--dist loadfile: a file's tests stay together,
# so module fixtures are built once); every test writes only under its own tmp_path.
XDIST := -n 2 --dist loadfile

test: lint ## the whole test suite (lint, unit, stages, end-to-end, servers): what CI runs
	python -m pytest $(XDIST)

test-fast: $(BIN)/.installed ## the inner loop: unit and stage tests on tiny data; no dvc repro, no servers, no DDP
	python -m pytest $(XDIST) -m "not e2e and not slow" -q

lint: $(BIN)/.installed ## ruff format --check and ruff check (configured in pyproject.toml)
	ruff format --check .
	ruff check .

ui: $(BIN)/.installed ## MLflow UI on the embedded store: http://127.0.0.1:5000
	mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} --host 127.0.0.1 --port 5000

server: $(BIN)/.installed ## shared MLflow server with basic auth on PostgreSQL (sudo scripts/postgres-setup.sh; export MLFLOW_AUTH_ADMIN_PASSWORD): http://127.0.0.1:5000
	scripts/mlflow-server.sh

dvc-sync: $(BIN)/.installed ## rewrite dvc.yaml's generated blocks: the use cases (conf/experiment/), each stage's code deps (dlforge.code_deps) and the data plots
	python -m tools.dvc_sync --write

dockerfile: $(BIN)/.installed ## Docker build context serving a registered model: make dockerfile MODEL=digits [DIR=build/digits]
	dlforge dockerfile $(MODEL) $(or $(DIR),build/$(MODEL))

dashboard: $(BIN)/.installed ## optuna-dashboard on the sweeps' study storage: http://127.0.0.1:8080
	optuna-dashboard $${STUDY_STORAGE:-sqlite:///optuna.db} --host 127.0.0.1 --port 8080

lock: $(BIN)/.installed ## re-pin requirements/lock.txt from the current .venv
	(echo "# Exact versions of the whole stack (pip constraints). Regenerate with: make lock"; \
	 pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/') > requirements/lock.txt

clean: ## remove generated data, models, reports and the MLflow store (keeps .venv)
	rm -rf data models reports mlflow.db mlruns logs build checkpoints seeds

# --- benchmarks (issue 12) ---------------------------------------------------------------------
.PHONY: bench
# PostgreSQL for the sweeps' shared-storage rows: DLFORGE_BENCH_PG_URI, else the local server that
# scripts/postgres-setup.sh installs and starts (root or sudo; it prints the URI on its last line).
bench: $(BIN)/.installed ## benchmark suite (< 15 min): rewrites docs/benchmarks.md with ratios measured in one run
	set -o pipefail; uri=$${DLFORGE_BENCH_PG_URI:-}; \
	if [ -z "$$uri" ]; then uri=$$($$( [ "$$(id -u)" = 0 ] || echo sudo) bash scripts/postgres-setup.sh | tail -1) || exit 1; fi; \
	DLFORGE_BENCH_PG_URI=$$uri python -m benchmarks.run_all $(BENCH_ARGS)
