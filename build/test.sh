#!/usr/bin/env bash
# Runs every test against a real PostgreSQL. Extra arguments go to `dotnet test` (e.g. --filter ...).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source build/lib/postgres.sh

if [[ -z ${ConnectionStrings__Postgres:-} ]] && _aa_docker_available; then
  echo "PostgreSQL: Docker engine found, the tests start their own with Testcontainers" >&2
else
  ensure_postgres agentartifacts_test
fi

# The third-party MCP servers the invoke tests run against (tests/peers), installed again only when the lock file changed
# (node_modules keeps a copy of the lock it came from). Offline, what is installed is used; tests needing a missing one fail saying so.
peers=tests/peers
if cmp -s "$peers/package-lock.json" "$peers/node_modules/.installed-lock.json"; then
  :
elif command -v npm >/dev/null; then
  if npm ci --prefix "$peers" --no-audit --no-fund --loglevel=error >/dev/null; then
    cp "$peers/package-lock.json" "$peers/node_modules/.installed-lock.json"
  else
    echo "tests/peers: npm ci failed; the MCP server tests use what is installed" >&2
  fi
else
  echo "tests/peers: npm not found; the MCP server tests will fail" >&2
fi

rm -rf "$root/TestResults"
rc=0
# The committed clients must be what docs/openapi.json generates now (the generators are local dotnet tools, restored
# first so a clean machine needs nothing installed by hand). A drift fails the run after the tests.
dotnet tool restore >/dev/null
clients_rc=0
build/clients.sh --check || clients_rc=$?
# Default TRX file names: a fixed LogFileName would make each test project overwrite the previous one's results.
if (( $# > 0 )); then
  dotnet test AgentArtifacts.sln -c Release --logger trx --results-directory "$root/TestResults" "$@" || rc=$?
else
  dotnet test AgentArtifacts.sln -c Release --logger trx --results-directory "$root/TestResults" --filter "Category!=MultiProcess" || rc=$?
  # The multi-process node tests (tests/.../Nodes: built nodes killed, database cut; ~2 min) run alone afterwards, so
  # their fail-over timings are not measured while the rest of the suite loads both cores.
  dotnet test AgentArtifacts.sln -c Release --no-build --logger trx --results-directory "$root/TestResults" --filter "Category=MultiProcess" || rc=$?
fi

summary_rc=0
build/lib/test-summary.sh "$root/TestResults" || summary_rc=$?
(( rc != 0 )) && exit "$rc"
(( clients_rc != 0 )) && exit "$clients_rc"
exit "$summary_rc"
