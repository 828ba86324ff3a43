#!/usr/bin/env bash
# Runs the API locally against PostgreSQL (see build/lib/postgres.sh). `build/run.sh --stop-db` stops the database.
# Extra arguments are passed to the application.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source build/lib/postgres.sh
source build/lib/secrets-key.sh

if [[ ${1:-} == --stop-db ]]; then
  stop_postgres
  exit 0
fi

ensure_postgres agentartifacts
ensure_secrets_key
export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://127.0.0.1:8080}"
url="${ASPNETCORE_URLS%%;*}"
echo "AgentArtifacts listening on $url — API reference at $url/docs; stop with Ctrl+C (PostgreSQL keeps running; \`build/run.sh --stop-db\` stops it)" >&2
exec dotnet run --project src/AgentArtifacts.Api -c Release --no-launch-profile -- "$@"
