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

rm -rf "$root/TestResults"
rc=0
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
exit "$summary_rc"
