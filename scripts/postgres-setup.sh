#!/usr/bin/env bash
# Install (if missing) and start PostgreSQL from Debian, and create the role and the databases that the
# shared MLflow server uses (the backend store, and the auth app's users: <db>_auth). Run as root (or
# with sudo) on Debian/Ubuntu; safe to run again.
#
#   sudo scripts/postgres-setup.sh            # then: scripts/mlflow-server.sh
#
# PostgreSQL refuses to run as root, so this uses Debian's cluster tools (pg_ctlcluster runs the
# server as the `postgres` user) and `su postgres -c psql` for the admin commands.
# The role may create databases: the tests make a throwaway database per run.
# Prints the backend-store URI on its last line.
set -euo pipefail

ROLE=${DLFORGE_PG_ROLE:-dlforge}            # login role for MLflow
PASSWORD=${DLFORGE_PG_PASSWORD:-dlforge}    # local-only default; set your own on a shared machine
DB=${DLFORGE_PG_DB:-mlflow}                 # the MLflow backend store
PORT=${DLFORGE_PG_PORT:-5432}

if [ "$(id -u)" != 0 ]; then
  echo "error: run as root (sudo $0): it installs packages and starts the PostgreSQL service" >&2
  exit 2
fi
if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing PostgreSQL (apt-get install postgresql)…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
read -r VERSION CLUSTER _ < <(pg_lsclusters --no-header | head -1)
if [ -z "${VERSION:-}" ]; then
  VERSION=$(ls /usr/lib/postgresql | sort -V | tail -1)
  CLUSTER=main
  pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >/dev/null
fi
pg_ctlcluster "$VERSION" "$CLUSTER" start 2>/dev/null || pg_ctlcluster "$VERSION" "$CLUSTER" status >/dev/null
for _ in $(seq 30); do su postgres -c "pg_isready -q -p $PORT" && break; sleep 1; done
su postgres -c "pg_isready -q -p $PORT" || { echo "error: PostgreSQL $VERSION/$CLUSTER did not start; see /var/log/postgresql/" >&2; exit 1; }

psql_admin() { su postgres -c "psql -p $PORT -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
if [ -z "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]; then
  psql_admin "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
fi
for db in "$DB" "${DB}_auth"; do  # the backend store, and the basic-auth app's users and permissions
  if [ -z "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    psql_admin "CREATE DATABASE $db OWNER $ROLE"
  fi
done
echo "postgresql+psycopg2://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
