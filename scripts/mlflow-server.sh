#!/usr/bin/env bash
# A shared MLflow tracking server with authentication: runs and registry in PostgreSQL, artifacts
# proxied by the server (--serve-artifacts), users and permissions by MLflow's basic-auth app
# (its own user database, also on PostgreSQL).
#
#   sudo scripts/postgres-setup.sh                       # once: PostgreSQL, role, databases mlflow + mlflow_auth
#   export MLFLOW_AUTH_ADMIN_PASSWORD=…                  # required, no default (or DLFORGE_CREDENTIALS_FILE, below)
#   scripts/mlflow-server.sh                             # http://127.0.0.1:5000 (or: make server)
#   MLFLOW_TRACKING_USERNAME=alice MLFLOW_TRACKING_PASSWORD=… MLFLOW_TRACKING_URI=http://127.0.0.1:5000 dvc repro
#
# Credentials come only from the environment or from a credentials file outside the git checkout
# (DLFORGE_CREDENTIALS_FILE: KEY=VALUE lines, mode 600; read, never executed). Nothing secret is
# written anywhere but a private temporary auth config (mode 600, removed when the server stops).
# Binds to 127.0.0.1 unless DLFORGE_SERVER_HOST says otherwise; put TLS in front before exposing it
# (basic auth sends the password with every request).
set -euo pipefail

# shellcheck disable=SC2329  # read_credentials is called below
read_credentials() {  # KEY=VALUE lines of the credentials file into the environment (no eval)
  local file=$1 repo
  [[ -f $file ]] || { echo "error: DLFORGE_CREDENTIALS_FILE: no file '$file'" >&2; exit 2; }
  repo=$(git -C "$(dirname "$file")" rev-parse --show-toplevel 2>/dev/null || true)
  if [[ -n $repo ]]; then
    echo "error: DLFORGE_CREDENTIALS_FILE '$file' is inside the git checkout $repo; keep credentials outside git" >&2
    exit 2
  fi
  if [[ $(stat -c %a "$file") != 600 && $(stat -c %a "$file") != 400 ]]; then
    echo "error: DLFORGE_CREDENTIALS_FILE '$file' is readable by others (mode $(stat -c %a "$file")); chmod 600 it" >&2
    exit 2
  fi
  local key value
  while IFS='=' read -r key value; do
    [[ -z $key || $key == \#* ]] && continue
    case $key in
      MLFLOW_AUTH_ADMIN_PASSWORD|DLFORGE_BACKEND_URI|DLFORGE_AUTH_DB_URI|MLFLOW_FLASK_SERVER_SECRET_KEY) export "$key=$value" ;;
      *) echo "error: DLFORGE_CREDENTIALS_FILE: unknown key '$key'" >&2; exit 2 ;;
    esac
  done <"$file"
}
[[ -n ${DLFORGE_CREDENTIALS_FILE:-} ]] && read_credentials "$DLFORGE_CREDENTIALS_FILE"

HOST=${DLFORGE_SERVER_HOST:-127.0.0.1}                                          # listen address
PORT=${DLFORGE_SERVER_PORT:-5000}                                               # listen port
BACKEND=${DLFORGE_BACKEND_URI:-postgresql+psycopg2://dlforge:dlforge@127.0.0.1:5432/mlflow}  # runs + registry (psycopg2 driver)
AUTH_DB=${DLFORGE_AUTH_DB_URI:-${BACKEND%/*}/mlflow_auth}                       # users + permissions (basic-auth app)
# Verified passwords are cached per worker this long: without it every request re-runs PBKDF2 and a few busy
# clients saturate the workers (a changed password may still work on another worker until it expires).
PERMISSION=${DLFORGE_AUTH_DEFAULT_PERMISSION:-READ}                             # a user's right on what others created: READ|EDIT|MANAGE|NO_PERMISSIONS
ARTIFACTS=${DLFORGE_ARTIFACTS_DIR:-$PWD/mlartifacts}                            # where uploaded artifacts land
MLFLOW=${MLFLOW:-mlflow}
hide() { sed -E 's#://([^:/@]+):[^@]*@#://\1:***@#' <<<"$1"; }                  # never print a password

if [[ -z ${MLFLOW_AUTH_ADMIN_PASSWORD:-} ]]; then
  echo "error: MLFLOW_AUTH_ADMIN_PASSWORD is not set: the admin password has no default (export it, or put it in DLFORGE_CREDENTIALS_FILE)" >&2
  exit 2
fi
if ! "$(dirname "$(command -v "$MLFLOW")")/python" -c "import psycopg2" 2>/dev/null; then
  echo "error: the PostgreSQL driver is missing: pip install psycopg2-binary (it is in the lock file: make test installs it)" >&2
  exit 2
fi
for uri in "$BACKEND" "$AUTH_DB"; do
  if [[ $uri == postgresql* ]] && command -v pg_isready >/dev/null && ! pg_isready -q -d "${uri/+psycopg2/}"; then
    echo "error: PostgreSQL not reachable at $(hide "$uri"); start it with: sudo scripts/postgres-setup.sh" >&2
    exit 2
  fi
done
mkdir -p "$ARTIFACTS"

child=""
private=$(mktemp -d)                     # mode 700: the auth config holds the auth database's URI
trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; rm -rf "$private"' EXIT
trap 'exit 143' TERM INT
umask 077
cat >"$private/auth.ini" <<EOF
[mlflow]
default_permission = $PERMISSION
database_uri = $AUTH_DB
admin_username = ${DLFORGE_ADMIN_USERNAME:-admin}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = true
auth_cache_ttl_seconds = ${DLFORGE_AUTH_CACHE_SECONDS:-60}
EOF
export MLFLOW_AUTH_CONFIG_PATH="$private/auth.ini"
# Sessions/CSRF of the auth app: one key shared by the workers (a fresh one each start unless given).
MLFLOW_FLASK_SERVER_SECRET_KEY=${MLFLOW_FLASK_SERVER_SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export MLFLOW_FLASK_SERVER_SECRET_KEY MLFLOW_AUTH_ADMIN_PASSWORD

"$MLFLOW" server --app-name basic-auth --backend-store-uri "$BACKEND" --serve-artifacts \
  --artifacts-destination "$ARTIFACTS" --host "$HOST" --port "$PORT" --workers "${DLFORGE_SERVER_WORKERS:-2}" &
child=$!
wait "$child"
