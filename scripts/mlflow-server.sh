#!/usr/bin/env bash
# A shared MLflow tracking server: runs and registry in PostgreSQL, artifacts proxied by the server
# (--serve-artifacts: clients upload and download through HTTP and need no access to the folder).
#
#   sudo scripts/postgres-setup.sh     # once: installs PostgreSQL (Debian `postgresql`), role and database
#   scripts/mlflow-server.sh           # http://127.0.0.1:5000 (or: make server)
#   MLFLOW_TRACKING_URI=http://127.0.0.1:5000 dvc repro
#
# Binds to 127.0.0.1 unless DLFORGE_SERVER_HOST says otherwise: MLflow has no authentication, so
# put it behind a proxy with auth before exposing it.
set -euo pipefail

HOST=${DLFORGE_SERVER_HOST:-127.0.0.1}                                          # listen address
PORT=${DLFORGE_SERVER_PORT:-5000}                                               # listen port
BACKEND=${DLFORGE_BACKEND_URI:-postgresql+psycopg2://dlforge:dlforge@127.0.0.1:5432/mlflow}  # runs + registry (psycopg2 driver)
ARTIFACTS=${DLFORGE_ARTIFACTS_DIR:-$PWD/mlartifacts}                            # where uploaded artifacts land
MLFLOW=${MLFLOW:-mlflow}

if ! "$(dirname "$(command -v "$MLFLOW")")/python" -c "import psycopg2" 2>/dev/null; then
  echo "error: the PostgreSQL driver is missing: pip install psycopg2-binary (it is in the lock file: make test installs it)" >&2
  exit 2
fi
if [[ $BACKEND == postgresql* ]] && command -v pg_isready >/dev/null && ! pg_isready -q -d "${BACKEND/+psycopg2/}"; then
  shown=$(sed -E 's#://([^:/@]+):[^@]*@#://\1:***@#' <<<"$BACKEND")  # never print the password
  echo "error: PostgreSQL not reachable at $shown; start it with: sudo scripts/postgres-setup.sh" >&2
  exit 2
fi
mkdir -p "$ARTIFACTS"
exec "$MLFLOW" server --backend-store-uri "$BACKEND" --serve-artifacts --artifacts-destination "$ARTIFACTS" \
  --host "$HOST" --port "$PORT" --workers "${DLFORGE_SERVER_WORKERS:-2}"
