#!/usr/bin/env bash
# Throughput benchmark for the service's performance bars: the API's create and read rates against raw PostgreSQL baselines (pgbench) measured
# in the same run, on the same machine, against the same server, at the same concurrency. Then a sync invoke of
# an HTTP tool against calling its endpoint directly, and the time of one commit of 100 and of 1,000 drafts
# against one INSERT … SELECT of as many rows. Then MCP: a tools/call of get_artifact against GET /artifacts/{id}, and a
# collection's MCP server listing its committed tools against one GET. See docs/benchmarks.md.
#
#   build/bench.sh                                  defaults: 8 connections, 20 s per measurement, 30 s warm-up
#   BENCH_CONNECTIONS=16 BENCH_SECONDS=30 build/bench.sh
#
# Settings (environment): BENCH_CONNECTIONS (8), BENCH_SECONDS (20), BENCH_WARMUP_SECONDS (30), BENCH_PORT (8091),
# BENCH_PGBENCH_MODE (simple | extended | prepared; pgbench's -M, default simple), BENCH_SKIP_BUILD=1 (reuse the last
# published app in .local/bench/app), BENCH_NPGSQL_OPTIONS (appended to the app's connection string, for experiments),
# BENCH_COMMIT_SIZES (drafts per commit, "100 1000"; empty skips the commit phase), BENCH_COMMIT_REPEATS (3),
# BENCH_INVOKE (1; 0 skips the invoke phase), BENCH_PEER_PORT (8092, the invoke phase's HTTP tool endpoint),
# BENCH_FLOOR (1; 0 skips the HTTP floor phase), BENCH_FLOOR_PORT (8093, where build/bench/floor.cs listens),
# BENCH_SEARCH_ARTIFACTS (100000 artifacts loaded for the search phase; 0 skips it),
# BENCH_MCP (1; 0 skips the MCP phase), BENCH_MCP_TOOLS (200 tools committed into the collection whose MCP server is listed),
# ConnectionStrings__Postgres (use that server instead of build/lib/postgres.sh's;
# the bench always works in its own database, BENCH_DB or agentartifacts_bench, which it drops and recreates).
#
# Exit status: 0 when everything ran (whether or not the targets were met: it measures, it does not gate), non-zero
# when a step failed, a request was answered with a non-2xx status, or a socket error occurred.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source build/lib/postgres.sh
source build/lib/secrets-key.sh

connections=${BENCH_CONNECTIONS:-8}
seconds=${BENCH_SECONDS:-20}
warmup=${BENCH_WARMUP_SECONDS:-30}  # long enough for tiered JIT to settle (docs/benchmarks.md, "Where one write's time goes")
port=${BENCH_PORT:-8091}
pgbench_mode=${BENCH_PGBENCH_MODE:-simple}
commit_sizes=${BENCH_COMMIT_SIZES-100 1000}  # set but empty: no commit phase
commit_repeats=${BENCH_COMMIT_REPEATS:-3}
invoke_phase=${BENCH_INVOKE:-1}                # 0: no invoke phase
floor_port=${BENCH_FLOOR_PORT:-8093}           # the HTTP floor (build/bench/floor.cs); BENCH_FLOOR=0 skips it
floor_phase=${BENCH_FLOOR:-1}
peer_port=${BENCH_PEER_PORT:-8092}             # the invoke phase's HTTP tool endpoint (build/bench/echo-peer.cs)
search_artifacts=${BENCH_SEARCH_ARTIFACTS:-100000}  # 0: no search phase
mcp_phase=${BENCH_MCP:-1}                      # 0: no MCP phase
mcp_tools=${BENCH_MCP_TOOLS:-200}              # tools committed into the collection whose MCP server is listed
db=${BENCH_DB:-agentartifacts_bench}  # another name keeps parallel sessions apart
base="http://127.0.0.1:$port"
bench_dir="$PWD/.local/bench"
app_dir="$bench_dir/app"
project=src/AgentArtifacts.Api
threads=$(( connections < 2 ? connections : 2 ))  # load-generator threads: one per core, at most one per connection
target_create=0.40 target_read=0.60               # the bars: create ≥ 0.40×, read ≥ 0.60× the baseline

load_before=$(cut -d' ' -f1-3 /proc/loadavg)  # before this script adds its own load (building, then the phases)
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# --- tools --------------------------------------------------------------------------------------------------------
need_tool() {  # need_tool <command> <debian-package>
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "bench: '$1' is missing, installing the Debian package '$2'" >&2
  _aa_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >/dev/null ||
    { _aa_as_root apt-get update >/dev/null && _aa_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >/dev/null; }
}
need_tool wrk wrk
need_tool jq jq
need_tool curl curl
[[ $connections =~ ^[1-9][0-9]*$ && $seconds =~ ^[1-9][0-9]*$ && $warmup =~ ^[0-9]+$ ]] ||
  die "BENCH_CONNECTIONS and BENCH_SECONDS must be positive integers, BENCH_WARMUP_SECONDS a non-negative one"
[[ $pgbench_mode =~ ^(simple|extended|prepared)$ ]] || die "BENCH_PGBENCH_MODE must be simple, extended or prepared"
for size in $commit_sizes; do
  # 5000: CommitPlan.MaxDrafts, the most one commit may cover
  if ! [[ $size =~ ^[1-9][0-9]*$ ]] || (( size > 5000 )); then die "BENCH_COMMIT_SIZES must list integers from 1 to 5000, not '$size'"; fi
done
[[ $commit_repeats =~ ^[1-9][0-9]*$ ]] || die "BENCH_COMMIT_REPEATS must be a positive integer"
[[ $mcp_tools =~ ^[1-9][0-9]*$ ]] && (( mcp_tools <= 5000 )) || die "BENCH_MCP_TOOLS must be an integer from 1 to 5000 (one commit)"

# --- one bench at a time --------------------------------------------------------------------------------------------
# Two runs would drop each other's database (the name is fixed and the server is shared), collide on the port and
# measure each other's load. The lock is machine-wide so it also covers runs from other worktrees; the kernel releases
# it when this script exits, however it exits.
lock_file=${BENCH_LOCK_FILE:-/tmp/agentartifacts-bench.lock}
exec 9>>"$lock_file"
flock -n 9 || die "another build/bench.sh is running on this machine (lock $lock_file held by pid(s) $(fuser "$lock_file" 2>/dev/null | xargs)); wait for it to finish"
if curl -s -o /dev/null --max-time 2 "$base/"; then
  die "something already answers on $base; stop it or choose another BENCH_PORT"
fi

# --- 1. PostgreSQL: a fresh database --------------------------------------------------------------------------------
log "PostgreSQL"
ensure_postgres "$db" 9>&-  # a server started here must not inherit the lock
# Split the connection string into libpq settings for psql and pgbench.
declare -A cs=()
IFS=';' read -ra cs_parts <<<"$ConnectionStrings__Postgres"
for part in "${cs_parts[@]}"; do
  [[ $part == *=* ]] || continue
  key=${part%%=*}; key=${key,,}; key=${key// /}
  cs[$key]=${part#*=}
done
export PGHOST=${cs[host]:-${cs[server]:-127.0.0.1}} PGPORT=${cs[port]:-5432}
export PGUSER=${cs[username]:-${cs[userid]:-${cs[user]:-postgres}}} PGPASSWORD=${cs[password]:-}
# The app uses the bench database whatever database the given connection string named: the bench drops it.
export ConnectionStrings__Postgres="Host=$PGHOST;Port=$PGPORT;Database=$db;Username=$PGUSER;Password=$PGPASSWORD"
# Experiments with Npgsql settings need no code change, e.g. BENCH_NPGSQL_OPTIONS='No Reset On Close=true;Max Auto Prepare=20'
[[ -z ${BENCH_NPGSQL_OPTIONS:-} ]] || ConnectionStrings__Postgres+=";${BENCH_NPGSQL_OPTIONS}"

pg_bin=$(dirname "$(printf '%s\n' /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -n1)")
[[ -x $pg_bin/pgbench ]] || need_tool pgbench postgresql-contrib
[[ -x $pg_bin/pgbench ]] || pg_bin=$(dirname "$(command -v pgbench)")
psql() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

psql -d postgres -c "drop database if exists $db with (force)" -c "create database $db"
echo "database $db recreated on $PGHOST:$PGPORT ($("$pg_bin/postgres" --version 2>/dev/null || psql -d "$db" -tAc 'show server_version'))" >&2

# --- 2. Build and publish the production way (build/Dockerfile), then start the app -----------------------------------
if [[ ${BENCH_SKIP_BUILD:-} == 1 && -f $app_dir/AgentArtifacts.Api.dll ]]; then
  log "Reusing the published app in $app_dir (BENCH_SKIP_BUILD=1)"
else
  log "Building and publishing (Release, Wolverine static codegen) into $app_dir"
  mkdir -p "$bench_dir"
  # 9>&-: the lock's descriptor must not leak into MSBuild's and the compiler server's long-lived processes
  dotnet build "$project" -c Release -nologo -v quiet >&2 9>&-
  # codegen needs a connection string to build the host but never connects, so a placeholder will do.
  ConnectionStrings__Postgres="Host=localhost;Database=codegen;Username=postgres" \
    dotnet run --project "$project" -c Release --no-build -- codegen write >"$bench_dir/codegen.log" 2>&1 9>&- ||
    { tail -n 20 "$bench_dir/codegen.log" >&2; die "codegen write failed"; }
  rm -rf "$app_dir"
  dotnet publish "$project" -c Release --no-restore -nologo -v quiet -p:WolverineStaticCodegen=true -o "$app_dir" >&2 9>&-
fi

app_pid=""
work_dir=$(mktemp -d)
peer_pid="" floor_pid=""
cleanup() {
  if [[ -n $peer_pid ]]; then kill "$peer_pid" 2>/dev/null || true; fi
  if [[ -n $floor_pid ]]; then kill "$floor_pid" 2>/dev/null || true; fi
  if [[ -n $app_pid ]] && kill -0 "$app_pid" 2>/dev/null; then
    kill "$app_pid" 2>/dev/null || true
    for _ in {1..50}; do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$app_pid" 2>/dev/null || true
  fi
  rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "Starting the app on $base"
ensure_secrets_key  # the production build refuses to start without one
mkdir -p "$bench_dir"
app_log="$bench_dir/app.log"
(
  cd "$app_dir"
  export ASPNETCORE_URLS="$base" Wolverine__StaticCodegen=true Marten__DaemonMode=Solo \
    RateLimiting__PermitLimit=100000000 RateLimiting__TokenPermitLimit=1000000 Logging__LogLevel__Default=Warning \
    Egress__AllowPrivateNetworks=true  # the invoke phase's tool endpoint listens on loopback
  exec dotnet AgentArtifacts.Api.dll 9>&-
) >"$app_log" 2>&1 &
app_pid=$!

# Dies with the app's exit status and the end of its log when the app is no longer running.
assert_app_running() {
  kill -0 "$app_pid" 2>/dev/null && return 0
  local status=0
  wait "$app_pid" || status=$?
  app_pid=""
  tail -n 30 "$app_log" >&2
  die "the app exited with status $status$( ((status > 128)) && echo " (signal $((status - 128)))") $1 (log: $app_log)"
}

ready=""
for _ in {1..120}; do
  assert_app_running "during start-up"
  if [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/health/ready" || true) == 200 ]]; then ready=1; break; fi
  sleep 0.5
done
[[ -n $ready ]] || { tail -n 30 "$app_log" >&2; die "GET /health/ready did not answer 200 within 60 s (log: $app_log)"; }
echo "ready (pid $app_pid, log $app_log)" >&2

# --- 3. Arrange through the API ---------------------------------------------------------------------------------------
# api <method> <path> [curl args...]: prints the body; fails the bench on a non-2xx answer.
api() {
  local method=$1 path=$2 out status
  shift 2
  out="$work_dir/response.json"
  status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$base$path" "$@") || die "$method $path: curl failed"
  [[ $status == 2?? ]] || die "$method $path answered $status: $(head -c 500 "$out")"
  cat "$out"
}
json=(-H 'Content-Type: application/json')

log "Arranging: user, token, workspace, one artifact"
email="bench@example.com" password="bench-password-0123"
api POST /auth/register "${json[@]}" -d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Bench\"}" >/dev/null
token=$(api POST /auth/token --data-urlencode grant_type=password --data-urlencode "username=$email" \
  --data-urlencode "password=$password" | jq -er .access_token)
auth=(-H "Authorization: Bearer $token")
workspace=$(api POST /workspaces "${json[@]}" "${auth[@]}" -d '{"title":"bench"}' | jq -er .id)
create_body="{\"containerId\":\"$workspace\",\"contentType\":\"text/markdown\",\"title\":\"bench\",\"content\":\"hello\"}"
artifact=$(api POST /artifacts "${json[@]}" "${auth[@]}" -d "$create_body" | jq -er .id)
api GET "/artifacts/$artifact" "${auth[@]}" >/dev/null
echo "workspace $workspace, artifact $artifact" >&2

# --- load generation and measurement helpers -------------------------------------------------------------------------
# CPU accounting for each measured phase, in core-seconds: the whole machine (/proc/stat), the app (/proc/<pid>/stat),
# the load client (bash's `time`), the PostgreSQL server (postmaster and its children, live ones plus the reaped ones
# accumulated in the postmaster's cutime/cstime; only if the server runs on this machine); the rest is everything else
# that ran meanwhile (other users of the machine, the kernel).
clk_tck=$(getconf CLK_TCK)
postmaster_pid=$(head -n1 "$(psql -d postgres -tAc 'show data_directory')/postmaster.pid" 2>/dev/null || true)
[[ -n $postmaster_pid && -r /proc/$postmaster_pid/stat ]] || postmaster_pid=""
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# proc_ticks <pid> [with-children]: utime + stime (+ cutime + cstime); 0 for a process that is gone
proc_ticks() {
  awk -v children="${2:-}" '{ sub(/^.*\) /, ""); print $12 + $13 + (children ? $14 + $15 : 0) }' "/proc/$1/stat" 2>/dev/null || echo 0
}
pg_ticks() {
  local children
  [[ -n $postmaster_pid ]] || { echo 0; return; }
  # All live children in one read rather than one awk each: around a commit of some 70 ms the forks would show.
  children=$(pgrep -P "$postmaster_pid" | sed 's|.*|/proc/&/stat|')
  # shellcheck disable=SC2086  # one path per word; a child that exited meanwhile is skipped (its time is in cutime)
  echo $(( $(proc_ticks "$postmaster_pid" with-children) + $(cat $children 2>/dev/null | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }') ))
}
# The "app" is the service, or during the HTTP floor phase the floor (measured_pid).
cpu_start() { cpu_busy0=$(machine_busy) cpu_app0=$(proc_ticks "${measured_pid:-$app_pid}") cpu_pg0=$(pg_ticks); }
# cpu_end <client user+sys seconds>: the phase's CPU use in ticks, the client's in seconds
cpu_end() {
  cpu_busy=$(( $(machine_busy) - cpu_busy0 )) cpu_app=$(( $(proc_ticks "${measured_pid:-$app_pid}") - cpu_app0 )) cpu_pg=$(( $(pg_ticks) - cpu_pg0 ))
  cpu_client=$1
}
# cpu_report <requests or transactions>: sets cpu_summary, shares of the machine and CPU milliseconds per request
cpu_report() {
  cpu_summary=$(awk -v busy="$cpu_busy" -v app="$cpu_app" -v pg="$cpu_pg" -v has_pg="$postmaster_pid" -v client="$cpu_client" \
      -v secs="$seconds" -v n="$1" -v hz="$clk_tck" -v cores="$(nproc)" 'BEGIN {
    b = busy / hz; a = app / hz; p = pg / hz; rest = b - a - p - client; if (rest < 0) rest = 0
    pct = 100 / secs / cores; ms = 1000 / n
    printf "CPU, %% of %d cores: machine %.0f%% = app %.0f%% + load client %.0f%% + ", cores, b * pct, a * pct, client * pct
    if (has_pg) printf "PostgreSQL %.0f%% + other %.0f%%\n", p * pct, rest * pct
    else printf "PostgreSQL and other %.0f%%\n", rest * pct
    printf "CPU per request: app %.3f ms, load client %.3f ms", a * ms, client * ms
    if (has_pg) printf ", PostgreSQL %.3f ms", p * ms }')
  # Share of the machine used by neither the app, the load client nor PostgreSQL: other users disturbing the measurement.
  cpu_other=$(awk -v busy="$cpu_busy" -v app="$cpu_app" -v pg="$cpu_pg" -v client="$cpu_client" -v secs="$seconds" \
      -v hz="$clk_tck" -v cores="$(nproc)" 'BEGIN { o = (busy - app - pg) / hz - client; printf "%.0f", (o < 0 ? 0 : o) * 100 / secs / cores }')
}

# Lua for wrk: prints one machine-readable line at the end (latencies in microseconds).
wrk_report='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %.0f %.0f %.0f %d %d %.0f\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(95)))
end'

# warm_wrk <lua-script> <path>: the unmeasured warm-up (JIT, connection pools, caches)
warm_wrk() {
  local url=$2
  [[ $url == http* ]] || url="$base$url"
  if (( warmup > 0 )); then wrk -t "$threads" -c "$connections" -d "${warmup}s" -s "$1" "$url" >/dev/null; fi
}

# run_wrk <name> <lua-script> <path>: the measured run; sets rps, p50_ms, p99_ms, requests, cpu_summary
run_wrk() {
  local name=$1 script=$2 path=$3 out="$work_dir/wrk-$1.txt" timing="$work_dir/time-$1.txt" result
  cpu_start
  TIMEFORMAT='%U %S'
  [[ $path == http* ]] || path="$base$path"  # a full URL (the invoke phase's direct calls) is used as it is
  { time wrk -t "$threads" -c "$connections" -d "${seconds}s" --latency -s "$script" "$path" >"$out"; } 2>"$timing"
  cpu_end "$(awk '{ print $1 + $2 }' "$timing")"
  sed '/^BENCH_RESULT/d' "$out" >&2
  assert_app_running "during the $name load"
  result=$(grep '^BENCH_RESULT' "$out") || die "wrk $name printed no result"
  read -r _ requests duration_us p50_us p99_us non2xx socket_errors p95_us <<<"$result"
  (( non2xx == 0 )) || die "$name: $non2xx responses with status >= 400 (bench fails)"
  (( socket_errors == 0 )) || die "$name: $socket_errors socket errors (connect/read/write/timeout; bench fails)"
  (( requests > 0 )) || die "$name: no request completed"
  rps=$(awk -v n="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", n / d * 1e6 }')
  p50_ms=$(awk -v v="$p50_us" 'BEGIN { printf "%.2f", v / 1000 }')
  p99_ms=$(awk -v v="$p99_us" 'BEGIN { printf "%.2f", v / 1000 }')
  p95_ms=$(awk -v v="$p95_us" 'BEGIN { printf "%.2f", v / 1000 }')
  cpu_report "$requests"
  echo "$cpu_summary" >&2
}

# run_pgbench <name> <script>: warm-up, then the measured run with a per-transaction log;
# sets tps, avg_ms, p50_ms, p99_ms, cpu_summary
run_pgbench() {
  local name=$1 script=$2 out="$work_dir/pgbench-$1.txt" timing="$work_dir/time-$1.txt" failed
  local args=(-n -M "$pgbench_mode" -c "$connections" -j "$threads" -f "$script" "$db")
  if (( warmup > 0 )); then "$pg_bin/pgbench" "${args[@]}" -T "$warmup" >/dev/null 2>&1; fi
  cpu_start
  TIMEFORMAT='%U %S'
  { time (cd "$work_dir" && "$pg_bin/pgbench" "${args[@]}" -T "$seconds" -l --log-prefix="pglog-$name" >"$out" 2>&1); } 2>"$timing" ||
    { cat "$out" >&2; die "pgbench $name failed"; }
  cpu_end "$(awk '{ print $1 + $2 }' "$timing")"
  assert_app_running "during the pgbench $name run"
  grep -E '^(number of (clients|threads|transactions actually processed|failed)|latency average|tps)' "$out" >&2
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | head -n1)
  avg_ms=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
  transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
  [[ -n $tps && -n $avg_ms && -n $transactions ]] || { cat "$out" >&2; die "could not parse pgbench $name output"; }
  [[ ${failed:-0} == 0 ]] || die "pgbench $name: $failed failed transactions"
  # Log lines: client_id transaction_no time_us script_no epoch epoch_us; percentiles over every transaction.
  read -r p50_ms p95_ms p99_ms < <(cat "$work_dir"/pglog-"$name".* | awk '{ print $3 }' | sort -n | awk '
    { v[NR] = $1 } END { i50 = int(NR * 0.50); i95 = int(NR * 0.95); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i95 < 1) i95 = 1
      if (i99 < 1) i99 = 1; printf "%.2f %.2f %.2f\n", v[i50] / 1000, v[i95] / 1000, v[i99] / 1000 }')
  rm -f "$work_dir"/pglog-"$name".*
  cpu_report "$transactions"
  echo "$cpu_summary" >&2
}

streams() { psql -d "$db" -tAc 'select count(*) from agentartifacts.mt_streams'; }

# Waits until the async projections have caught up with the events written so far, so the next phase runs on a quiet app.
wait_for_projections() {
  local started=$SECONDS lag
  while :; do
    assert_app_running "while the projections caught up"
    lag=$( (curl -s "$base/health/ready" || true) | jq -r '([.projections[]?.lag] | max) // 0')
    [[ $lag == 0 ]] && break
    (( SECONDS - started < 300 )) || die "async projections still lag by $lag events after 300 s"
    sleep 1
  done
  projection_catchup=$(( SECONDS - started ))
}

# --- 4 and 5. Baselines and API load, create then read -----------------------------------------------------------------
log "pgbench scripts and scratch tables (schema bench in $db)"
psql -d "$db" <<'SQL'
create schema bench;
create table bench.bench_insert (id uuid primary key, data jsonb not null);
create table bench.bench_select (k bigint primary key, id uuid not null, data jsonb not null);
insert into bench.bench_select (k, id, data)
  select g, gen_random_uuid(), jsonb_build_object('title', 'bench ' || g, 'contentType', 'text/markdown', 'content', 'hello')
  from generate_series(1, 10000) as g;
vacuum analyze bench.bench_select;
SQL
cat >"$work_dir/insert.sql" <<SQL
insert into bench.bench_insert (id, data) values (gen_random_uuid(), '$create_body');
SQL
cat >"$work_dir/select.sql" <<'SQL'
\set k random(1, 10000)
select id, data from bench.bench_select where k = :k;
SQL
cat >"$work_dir/create.lua" <<LUA
wrk.method = "POST"
wrk.body = '$create_body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
$wrk_report
LUA
cat >"$work_dir/read.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
$wrk_report
LUA
# The same read by a second user whose access comes from a viewer grant on the workspace, not from ownership.
reader_email="reader@example.com"
reader_id=$(api POST /auth/register "${json[@]}" -d "{\"email\":\"$reader_email\",\"password\":\"$password\",\"name\":\"Reader\"}" | jq -er .id)
reader_token=$(api POST /auth/token --data-urlencode grant_type=password --data-urlencode "username=$reader_email" \
  --data-urlencode "password=$password" | jq -er .access_token)
api POST /grants "${json[@]}" "${auth[@]}" \
  -d "{\"resourceId\":\"$workspace\",\"grantee\":{\"type\":\"user\",\"id\":\"$reader_id\"},\"role\":\"viewer\"}" >/dev/null
api GET "/artifacts/$artifact" -H "Authorization: Bearer $reader_token" >/dev/null
cat >"$work_dir/read-granted.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $reader_token"
$wrk_report
LUA
sed 's/^/  /' "$work_dir/insert.sql" "$work_dir/select.sql" >&2

declare -A r=()
disturbed=()
note_disturbance() { (( cpu_other <= 10 )) || disturbed+=("$1: ${cpu_other}%"); }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

log "Baseline: pgbench single-row INSERT, $connections clients, ${seconds} s"
run_pgbench insert "$work_dir/insert.sql"
r[base_create]=$tps r[base_create_avg]=$avg_ms r[base_create_p50]=$p50_ms r[base_create_p99]=$p99_ms r[cpu_base_create]=$cpu_summary
note_disturbance "pgbench INSERT"

log "API: POST /artifacts, $connections connections, ${seconds} s"
warm_wrk "$work_dir/create.lua" /artifacts
before=$(streams)
run_wrk create "$work_dir/create.lua" /artifacts
created=$(( $(streams) - before ))
# Every counted response must be a new artifact. Requests in flight when the warm-up or the run stopped may add up to
# one per connection each.
(( created >= requests && created <= requests + connections * 2 )) ||
  die "POST /artifacts: wrk counted $requests responses but $created artifacts were created"
r[api_create]=$rps r[api_create_p50]=$p50_ms r[api_create_p99]=$p99_ms r[cpu_api_create]=$cpu_summary
note_disturbance "API create"
wait_for_projections
echo "created $created artifacts; async projections caught up ${projection_catchup} s after the load ended" >&2
r[create_catchup]=$projection_catchup  # the commit phase waits for the projections again

log "Baseline: pgbench SELECT by primary key, $connections clients, ${seconds} s"
run_pgbench select "$work_dir/select.sql"
r[base_read]=$tps r[base_read_avg]=$avg_ms r[base_read_p50]=$p50_ms r[base_read_p99]=$p99_ms r[cpu_base_read]=$cpu_summary
note_disturbance "pgbench SELECT"

log "API: GET /artifacts/{id}, $connections connections, ${seconds} s"
warm_wrk "$work_dir/read.lua" "/artifacts/$artifact"
run_wrk read "$work_dir/read.lua" "/artifacts/$artifact"
r[api_read]=$rps r[api_read_p50]=$p50_ms r[api_read_p99]=$p99_ms r[cpu_api_read]=$cpu_summary
note_disturbance "API read"

log "API: GET /artifacts/{id} by a viewer-grant holder, $connections connections, ${seconds} s"
warm_wrk "$work_dir/read-granted.lua" "/artifacts/$artifact"
run_wrk read-granted "$work_dir/read-granted.lua" "/artifacts/$artifact"
r[api_read_granted]=$rps r[api_read_granted_p50]=$p50_ms r[api_read_granted_p99]=$p99_ms r[cpu_api_read_granted]=$cpu_summary
note_disturbance "API read (granted)"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# start_helper <pid-variable> <build/bench/file.cs> <base-url> <log> <curl args of a probe>: `dotnet run`s one of the
# bench's helper apps on <base-url>, its pid in <pid-variable> at once (so the cleanup stops it whatever happens next),
# then waits until the probe answers (up to 2 minutes: the first run compiles it).
start_helper() {
  local pid_var=$1 file=$2 url=$3 app_log=$4
  shift 4
  if curl -s -o /dev/null "$url/"; then die "something already answers on $url (see BENCH_PEER_PORT / BENCH_FLOOR_PORT)"; fi
  (ASPNETCORE_URLS="$url" exec dotnet run "$file" 9>&-) >"$app_log" 2>&1 &
  printf -v "$pid_var" '%s' "$!"
  for _ in {1..240}; do curl -sf -o /dev/null "$@" && return 0; sleep 0.5; done
  tail -n 20 "$app_log" >&2
  die "$file did not start"
}

# --- 5a. The HTTP floor: pgbench's INSERT and SELECT behind the thinnest ASP.NET Core service (build/bench/floor.cs), so
# the gap between pgbench and the API splits into what HTTP and .NET cost at all and what the service adds on top.
if [[ $floor_phase == 1 ]]; then
  floor="http://127.0.0.1:$floor_port"
  log "HTTP floor: starting build/bench/floor.cs on $floor"
  start_helper floor_pid build/bench/floor.cs "$floor" "$bench_dir/floor.log" "$floor/rows/1"
  # dotnet run starts the app as a child: measure that process, not the CLI.
  measured_pid=$(pgrep -P "$floor_pid" -n || echo "$floor_pid")
  cat >"$work_dir/floor-create.lua" <<LUA
wrk.method = "POST"
wrk.body = '$create_body'
wrk.headers["Content-Type"] = "application/json"
$wrk_report
LUA
  cp "$work_dir/floor-create.lua" "$work_dir/floor-read.lua" && sed -i '1,3d' "$work_dir/floor-read.lua"
  log "HTTP floor: POST /rows (pgbench's INSERT), $connections connections, ${seconds} s"
  warm_wrk "$work_dir/floor-create.lua" "$floor/rows"
  run_wrk floor-create "$work_dir/floor-create.lua" "$floor/rows"
  r[floor_create]=$rps r[floor_create_p50]=$p50_ms r[floor_create_p99]=$p99_ms r[cpu_floor_create]=$cpu_summary
  log "HTTP floor: GET /rows/{k} (pgbench's SELECT), $connections connections, ${seconds} s"
  warm_wrk "$work_dir/floor-read.lua" "$floor/rows/42"
  run_wrk floor-read "$work_dir/floor-read.lua" "$floor/rows/42"
  r[floor_read]=$rps r[floor_read_p50]=$p50_ms r[floor_read_p99]=$p99_ms r[cpu_floor_read]=$cpu_summary
  kill "$measured_pid" "$floor_pid" 2>/dev/null || true
  measured_pid="" floor_pid=""
fi

# --- 5b. Invoke: sync invoke of an HTTP tool against calling its endpoint directly, same load generator -----
if [[ $invoke_phase == 1 ]]; then
  log "Invoke: starting the tool endpoint (build/bench/echo-peer.cs) on 127.0.0.1:$peer_port"
  peer_url="http://127.0.0.1:$peer_port/echo"
  start_helper peer_pid build/bench/echo-peer.cs "http://127.0.0.1:$peer_port" "$bench_dir/peer.log" -X POST "$peer_url" -d '{}'
  tool_body="{\"containerId\":\"$workspace\",\"contentType\":\"application/vnd.agience.http-tool+json\",\"title\":\"bench tool\",\"context\":{\"endpoint\":{\"url\":\"$peer_url\"}}}"
  tool=$(api POST /artifacts "${json[@]}" "${auth[@]}" -d "$tool_body" | jq -er .id)
  tool_input='{"q":"bench","n":1}'
  [[ $(api POST "/artifacts/$tool/invoke" "${json[@]}" "${auth[@]}" -d "{\"input\":$tool_input}" | jq -er .status) == completed ]] ||
    die "the bench tool's invoke did not complete"
  cat >"$work_dir/direct.lua" <<LUA
wrk.method = "POST"
wrk.body = '$tool_input'
wrk.headers["Content-Type"] = "application/json"
$wrk_report
LUA
  cat >"$work_dir/invoke.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"input":$tool_input}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
$wrk_report
LUA
  log "Direct: POST $peer_url, $connections connections, ${seconds} s"
  warm_wrk "$work_dir/direct.lua" "$peer_url"
  run_wrk direct "$work_dir/direct.lua" "$peer_url"
  r[direct]=$rps r[direct_p50]=$p50_ms r[direct_p99]=$p99_ms r[cpu_direct]=$cpu_summary
  log "API: POST /artifacts/{tool}/invoke (sync), $connections connections, ${seconds} s"
  warm_wrk "$work_dir/invoke.lua" "/artifacts/$tool/invoke"
  run_wrk invoke "$work_dir/invoke.lua" "/artifacts/$tool/invoke"
  r[invoke]=$rps r[invoke_p50]=$p50_ms r[invoke_p99]=$p99_ms r[cpu_invoke]=$cpu_summary
  note_disturbance "API invoke"
  # A 200 can carry a failed run: the bench counts them and fails on any.
  failed_runs=$(psql -d "$db" -tAc "select count(*) from agentartifacts.mt_events where type = 'run_failed'")
  (( failed_runs == 0 )) || die "invoke: $failed_runs runs failed (see $app_log)"
  kill "$peer_pid" 2>/dev/null || true
  peer_pid=""
fi

# --- 5c. Search: N artifacts through the API, the projection's catch-up, then four queries, API against the
# same SQL run directly with pgbench (the endpoint's hits and facets statements, with the caller's readable containers).
if (( search_artifacts > 0 )); then
  log "Search: loading $search_artifacts artifacts through POST /artifacts ($connections at a time)"
  search_ws=$(api POST /workspaces "${json[@]}" "${auth[@]}" -d '{"title":"search bench"}' | jq -er .id)
  indexed_before=$(psql -d "$db" -tAc 'select count(*) from agentartifacts.search_artifacts')
  # A fixed vocabulary and seed: every run loads the same corpus. One artifact in 100 holds "machine learning pipeline",
  # one in 37 "gradient"; text/markdown and text/plain alternate by the hundred.
  awk -v n="$search_artifacts" -v ws="$search_ws" -v base="$base" -v token="$token" 'BEGIN {
    srand(42); split("alpha beta gamma delta river stone cloud forest engine report budget schedule network storage " \
      "kernel widget planet garden market signal vector matrix summer winter harbor bridge castle mirror lantern " \
      "orchard meadow canyon glacier desert prairie island valley summit harvest compass anchor beacon", w, " ")
    nw = length(w)
    for (i = 1; i <= n; i++) {
      title = w[int(rand() * nw) + 1] " " w[int(rand() * nw) + 1] " " i
      content = ""
      for (j = 0; j < 12; j++) content = content w[int(rand() * nw) + 1] " "
      if (i % 100 == 0) content = content "machine learning pipeline "
      if (i % 37 == 0) content = content "gradient "
      type = (int(i / 100) % 2 ? "text/markdown" : "text/plain")
      printf "url = \"%s/artifacts\"\nrequest = \"POST\"\nheader = \"Content-Type: application/json\"\n", base
      printf "header = \"Authorization: Bearer %s\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code}\\n\"\n", token
      printf "data = \"{\\\"containerId\\\":\\\"%s\\\",\\\"contentType\\\":\\\"%s\\\",\\\"title\\\":\\\"%s\\\",\\\"content\\\":\\\"%s\\\"}\"\n", ws, type, title, content
      if (i < n) print "next"
    } }' >"$work_dir/search-load.curl"
  load_started=${EPOCHREALTIME/,/.}
  curl -sS --no-progress-meter --parallel --parallel-max "$connections" -K "$work_dir/search-load.curl" >"$work_dir/search-load.codes" \
    2>"$work_dir/search-load.err" || { head -n 5 "$work_dir/search-load.err" >&2; die "search load: curl failed"; }
  load_ended=${EPOCHREALTIME/,/.}
  loaded=$(grep -cx 201 "$work_dir/search-load.codes" || true)
  (( loaded == search_artifacts )) || die "search load: $(( search_artifacts - loaded )) of $search_artifacts answers were not 201"
  for _ in {1..1200}; do
    indexed=$(( $(psql -d "$db" -tAc 'select count(*) from agentartifacts.search_artifacts') - indexed_before ))
    (( indexed >= search_artifacts )) && break
    sleep 0.5
  done
  (( indexed >= search_artifacts )) || die "search: the projection indexed $indexed of $search_artifacts artifacts within 10 minutes"
  indexed_at=${EPOCHREALTIME/,/.}
  r[search_load]=$(awk -v a="$load_started" -v b="$load_ended" -v c="$indexed_at" -v n="$search_artifacts" 'BEGIN {
    printf "loaded in %.1f s (%.0f creates/s); indexed %.1f s after the load ended; %.0f artifact events/s indexed from the load'"'"'s start", b - a, n / (b - a), c - b, n / (c - a) }')
  echo "${r[search_load]}" >&2

  readable="'{$workspace,$search_ws}'::uuid[]"
  matches() { echo "(plainto_tsquery('english', '$1') || plainto_tsquery('simple', '$1'))"; }
  phrase="(phraseto_tsquery('english', 'machine learning') || phraseto_tsquery('simple', 'machine learning'))"
  declare -A search_q=(
    [word]="pipeline;$(matches pipeline);"
    [phrase]='"machine learning";'"$phrase"';'
    [filtered]="pipeline type:text/markdown;$(matches pipeline);and content_type = 'text/markdown'"
    [or]="pipeline OR gradient;($(matches pipeline) || $(matches gradient));"
  )
  for name in word phrase filtered or; do
    IFS=';' read -r text match extra <<<"${search_q[$name]}"
    match="(select $match)"  # a scalar subquery, as SearchSql.Translate writes it
    where="(s.container_id = any($readable) or s.id = any($readable)) and not (s.id = any('{}'::uuid[]) or s.container_id = any('{}'::uuid[]))
      and search_vector @@ $match $extra"
    cat >"$work_dir/search-$name.sql" <<SQL
with hits as (select s.id, s.container_id, s.member, s.title, s.content_type, s.state, s.revision, s.updated_at, ts_rank_cd(s.search_vector, $match) as score
  from agentartifacts.search_artifacts s where $where),
page as (select * from hits order by score desc, updated_at desc, id desc, container_id desc limit 21)
select h.id, h.title, h.score, ts_headline('english', h.title, $match, 'HighlightAll=true'),
  ts_headline('english', coalesce(r.data->>'Content', a.data->>'Content', ''), $match, 'MaxFragments=2, MaxWords=30, MinWords=10')
from page h left join agentartifacts.mt_doc_artifact a on not h.member and a.id = h.id
  left join agentartifacts.mt_doc_artifactrevision r on h.member and r.id = h.id::text || ':' || h.revision::text
order by h.score desc, h.updated_at desc, h.id desc, h.container_id desc;
select s.content_type, s.state, count(*) from agentartifacts.search_artifacts s where $where group by grouping sets ((s.content_type), (s.state));
SQL
    cat >"$work_dir/search-$name.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
$wrk_report
LUA
    query=$(jq -rn --arg q "$text" '$q | @uri')
    [[ $(api GET "/search?q=$query" "${auth[@]}" | jq -er '.items | length') -gt 0 ]] || die "search $name: no hits for $text"
    log "Search ($name: $text): raw SQL with pgbench, then GET /search, $connections connections, ${seconds} s each"
    run_pgbench "search-$name" "$work_dir/search-$name.sql"
    r[search_${name}_raw]="$tps $p50_ms $p95_ms $p99_ms"
    warm_wrk "$work_dir/search-$name.lua" "/search?q=$query"
    run_wrk "search-$name" "$work_dir/search-$name.lua" "/search?q=$query"
    r[search_${name}_api]="$rps $p50_ms $p95_ms $p99_ms"
    note_disturbance "search $name"
  done
fi

# --- 6. Commit: one POST /workspaces/{id}/commit of N drafts against one INSERT … SELECT of N rows ---------
# For each size, R times, alternating: a fresh collection and a workspace that targets it, N drafts created through the API,
# then one timed commit (curl's time_total), then one timed raw INSERT … SELECT of N rows (psql's \timing). Before each
# timed step the async projections have caught up, so the daemon's work on the drafts or the commit is not in the timing.
draft_body="$work_dir/draft.json"
# create_drafts <workspace> <count>: POST /artifacts <count> times, $connections at a time (one curl, --parallel, kept-alive
# connections); fails the bench unless every answer is 201.
# A third argument is the body to create instead of a markdown draft (the MCP phase's tools).
create_drafts() {
  local config="$work_dir/drafts.curl" codes="$work_dir/drafts.codes" ok i
  if [[ -n ${3:-} ]]; then printf '%s' "$3" >"$draft_body"
  else printf '{"containerId":"%s","contentType":"text/markdown","title":"bench draft","content":"hello"}' "$1" >"$draft_body"; fi
  {
    printf 'request = "POST"\nheader = "Content-Type: application/json"\nheader = "Authorization: Bearer %s"\n' "$token"
    printf 'data-binary = "@%s"\nwrite-out = "%%{http_code}\\n"\n' "$draft_body"
    for (( i = 0; i < $2; i++ )); do printf 'url = "%s/artifacts"\noutput = "/dev/null"\n' "$base"; done
  } >"$config"
  curl -sS --no-progress-meter --parallel --parallel-max "$connections" -K "$config" >"$codes" 2>"$work_dir/drafts.err" ||
    { head -n 5 "$work_dir/drafts.err" >&2; die "POST /artifacts (drafts for the commit): curl failed"; }
  ok=$(grep -cx 201 "$codes" || true)
  (( ok == $2 )) || die "POST /artifacts (drafts for the commit): $(( $2 - ok )) of $2 answers were not 201 ($(sort "$codes" | uniq -c | xargs))"
}
# commit_drafts <workspace> <count>: the timed commit; sets commit_ms and commit_id, adds to the size's CPU counters
commit_drafts() {
  local out="$work_dir/commit.json" result status total items started=${EPOCHREALTIME/,/.}
  cpu_start
  result=$(curl -sS -o "$out" -w '%{http_code} %{time_total}' -X POST "$base/workspaces/$1/commit" "${json[@]}" "${auth[@]}" \
    -d '{"message":"bench"}') || die "POST /workspaces/$1/commit: curl failed"
  cpu_end 0
  commit_window=$(awk -v w="$commit_window" -v a="$started" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { print w + b - a }')
  read -r status total <<<"$result"
  [[ $status == 201 ]] || die "POST /workspaces/$1/commit answered $status, not 201: $(head -c 500 "$out")"
  items=$(jq -e '.items | length' "$out") || die "POST /workspaces/$1/commit: no items in the answer"
  (( items == $2 )) || die "POST /workspaces/$1/commit: $items items in the commit, $2 drafts in the workspace"
  commit_id=$(jq -er .id "$out")
  commit_ms=$(awk -v s="$total" 'BEGIN { printf "%.1f", s * 1000 }')
  commit_busy=$(( commit_busy + cpu_busy )) commit_app=$(( commit_app + cpu_app )) commit_pg=$(( commit_pg + cpu_pg ))
}
# raw_insert <rows> <workspace> <collection> <commit>: one INSERT … SELECT in its own transaction (autocommit), a jsonb
# shaped like the commit's revision event per row; psql's \timing is the client's wall time from sending the statement
# to the server's answer, which comes after the commit (WAL flush included). Sets raw_ms.
raw_insert() {
  local out
  out=$(psql -d "$db" -v rows="$1" -v ws="$2" -v coll="$3" -v commit="$4" <<'SQL'
truncate bench.commit_baseline;
\timing on
insert into bench.commit_baseline (id, data)
  select id, jsonb_build_object('ArtifactId', id, 'LineId', id, 'SourceId', id, 'CommitId', :'commit', 'Revision', 1,
    'Kind', 0, 'WorkspaceId', :'ws', 'CollectionIds', jsonb_build_array(:'coll'), 'ContentType', 'text/markdown',
    'Title', 'bench draft', 'Description', null, 'Tags', '[]'::jsonb, 'Context', '{}'::jsonb, 'Content', 'hello')
  from (select gen_random_uuid() as id from generate_series(1, :rows)) as g;
SQL
  ) || die "INSERT … SELECT of $1 rows failed"
  raw_ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | tail -n1)
  [[ -n $raw_ms ]] || die "psql printed no timing for the INSERT … SELECT: $out"
}
# min_median <decimals> <values...>: "min median" (the mean of the middle two for an even count)
min_median() {
  local decimals=$1
  shift
  printf '%s\n' "$@" | sort -g | awk -v d="$decimals" '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.*f %.*f\n", d, v[1], d, m }'
}
# commit_round <drafts> <label>: a fresh collection and workspace, the drafts, the timed commit, the timed INSERT … SELECT
commit_round() {
  local collection commit_workspace
  collection=$(api POST /collections "${json[@]}" "${auth[@]}" -d "{\"title\":\"bench commit $2\"}" | jq -er .id)
  commit_workspace=$(api POST /workspaces "${json[@]}" "${auth[@]}" \
    -d "{\"title\":\"bench commit $2\",\"targetCollectionIds\":[\"$collection\"]}" | jq -er .id)
  create_drafts "$commit_workspace" "$1"
  wait_for_projections
  commit_drafts "$commit_workspace" "$1"
  assert_app_running "during the commit"
  wait_for_projections
  raw_insert "$1" "$commit_workspace" "$collection" "$commit_id"
  echo "workspace $commit_workspace: commit $commit_ms ms, INSERT … SELECT $raw_ms ms (projections caught up ${projection_catchup} s after the commit)" >&2
}

commit_rows=()
if [[ -n ${commit_sizes// /} ]]; then
  psql -d "$db" -c 'create table bench.commit_baseline (id uuid primary key, data jsonb not null)'
  log "Commit warm-up (unmeasured): 10 drafts, so that the first measured commit does not pay for JIT compilation"
  commit_window=0 commit_busy=0 commit_app=0 commit_pg=0
  commit_round 10 warm-up
  commit_load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  for size in $commit_sizes; do
    api_times=() raw_times=() commit_window=0 commit_busy=0 commit_app=0 commit_pg=0
    for (( rep = 1; rep <= commit_repeats; rep++ )); do
      log "Commit of $size drafts, $rep of $commit_repeats: collection, workspace, drafts, POST /workspaces/{id}/commit, INSERT … SELECT"
      commit_round "$size" "$size #$rep"
      api_times+=("$commit_ms") raw_times+=("$raw_ms")
    done
    read -r api_min api_median < <(min_median 1 "${api_times[@]}")
    read -r raw_min raw_median < <(min_median 2 "${raw_times[@]}")
    # CPU while the commits ran, summed over the repeats (in ticks of 1/CLK_TCK s, so coarse for short commits)
    read -r app_per_draft pg_per_draft other_pct < <(awk -v app="$commit_app" -v pg="$commit_pg" -v busy="$commit_busy" \
        -v wall="$commit_window" -v n=$(( size * commit_repeats )) -v hz="$clk_tck" -v cores="$(nproc)" 'BEGIN {
      o = (busy - app - pg) / hz; if (o < 0) o = 0
      printf "%.3f %.3f %.0f\n", app / hz * 1000 / n, pg / hz * 1000 / n, o * 100 / wall / cores }')
    (( other_pct <= 10 )) || disturbed+=("commit of $size drafts: ${other_pct}%")
    commit_rows+=("$size $api_min $api_median $raw_min $raw_median $app_per_draft $pg_per_draft $other_pct")
  done
  commit_load_end=$(cut -d' ' -f1-3 /proc/loadavg)
fi

# --- 6b. MCP: one tools/call of get_artifact on /mcp against GET /artifacts/{id}, at the same concurrency; then tools/list on a
# collection's own MCP server (/collections/{id}/mcp, BENCH_MCP_TOOLS committed HTTP tools) against one GET, at one connection.
# Each request is one JSON-RPC POST without initialize (the server is stateless), as a client of the 2026 protocol sends it.
mcp_json_headers='wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"'
# mcp_post <path> <json-rpc body> [bearer]: prints the JSON-RPC response (the data: line of the event stream); fails on non-200.
mcp_post() {
  local out="$work_dir/mcp.txt" status
  status=$(curl -sS -o "$out" -w '%{http_code}' -X POST "$base$1" "${json[@]}" -H 'Accept: application/json, text/event-stream' \
    -H "Authorization: Bearer ${3:-$token}" -d "$2") || die "POST $1: curl failed"
  [[ $status == 200 ]] || { echo "$status"; return 1; }
  sed -n 's/^data: //p' "$out" | head -n1
}
if [[ $mcp_phase == 1 ]]; then
  call_body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_artifact\",\"arguments\":{\"id\":\"$artifact\"}}}"
  answer=$(mcp_post /mcp "$call_body") || die "POST /mcp tools/call answered $answer"
  [[ $(jq -r '.result.structuredContent.id // empty' <<<"$answer") == "$artifact" ]] || die "tools/call get_artifact: unexpected answer: ${answer:0:500}"
  cat >"$work_dir/mcp-call.lua" <<LUA
wrk.method = "POST"
wrk.body = '$call_body'
$mcp_json_headers
wrk.headers["Authorization"] = "Bearer $token"
$wrk_report
LUA
  log "MCP: GET /artifacts/{id} again, next to the MCP call, $connections connections, ${seconds} s"
  warm_wrk "$work_dir/read.lua" "/artifacts/$artifact"
  run_wrk mcp-get "$work_dir/read.lua" "/artifacts/$artifact"
  r[mcp_get]=$rps r[mcp_get_p50]=$p50_ms r[mcp_get_p99]=$p99_ms r[cpu_mcp_get]=$cpu_summary
  note_disturbance "MCP phase: GET"
  log "MCP: POST /mcp tools/call get_artifact, $connections connections, ${seconds} s"
  warm_wrk "$work_dir/mcp-call.lua" /mcp
  run_wrk mcp-call "$work_dir/mcp-call.lua" /mcp
  r[mcp_call]=$rps r[mcp_call_p50]=$p50_ms r[mcp_call_p99]=$p99_ms r[cpu_mcp_call]=$cpu_summary
  note_disturbance "MCP tools/call"

  log "MCP: $mcp_tools HTTP tools committed into a collection"
  mcp_collection=$(api POST /collections "${json[@]}" "${auth[@]}" -d '{"title":"bench mcp tools"}' | jq -er .id)
  mcp_workspace=$(api POST /workspaces "${json[@]}" "${auth[@]}" \
    -d "{\"title\":\"bench mcp tools\",\"targetCollectionIds\":[\"$mcp_collection\"]}" | jq -er .id)
  create_drafts "$mcp_workspace" "$mcp_tools" "{\"containerId\":\"$mcp_workspace\",\"contentType\":\"application/vnd.agience.http-tool+json\",
    \"title\":\"bench tool\",\"description\":\"A tool the MCP phase lists.\",\"context\":{\"endpoint\":{\"url\":\"http://127.0.0.1:9/unused\"},
    \"inputSchema\":{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}}}"
  api POST "/workspaces/$mcp_workspace/commit" "${json[@]}" "${auth[@]}" -d '{"message":"bench mcp tools"}' >/dev/null
  wait_for_projections
  list_body='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
  if answer=$(mcp_post "/collections/$mcp_collection/mcp" "$list_body"); then
    listed=$(jq -r '.result.tools | length' <<<"$answer")
    (( listed > 0 )) || die "tools/list on the collection's MCP server listed no tools: ${answer:0:500}"
    r[mcp_list_tools]=$listed
    cat >"$work_dir/mcp-list.lua" <<LUA
wrk.method = "POST"
wrk.body = '$list_body'
$mcp_json_headers
wrk.headers["Authorization"] = "Bearer $token"
$wrk_report
LUA
    # One connection: the latency of one request, without queueing behind others.
    log "MCP: GET /artifacts/{id}, 1 connection, ${seconds} s"
    connections=1 threads=1 warm_wrk "$work_dir/read.lua" "/artifacts/$artifact"
    connections=1 threads=1 run_wrk mcp-get1 "$work_dir/read.lua" "/artifacts/$artifact"
    r[mcp_get1]=$rps r[mcp_get1_p50]=$p50_ms r[mcp_get1_p99]=$p99_ms
    note_disturbance "MCP phase: GET, 1 connection"
    log "MCP: POST /collections/{id}/mcp tools/list ($mcp_tools tools committed; the first page holds $listed), 1 connection, ${seconds} s"
    connections=1 threads=1 warm_wrk "$work_dir/mcp-list.lua" "/collections/$mcp_collection/mcp"
    connections=1 threads=1 run_wrk mcp-list "$work_dir/mcp-list.lua" "/collections/$mcp_collection/mcp"
    r[mcp_list]=$rps r[mcp_list_p50]=$p50_ms r[mcp_list_p99]=$p99_ms r[cpu_mcp_list]=$cpu_summary
    note_disturbance "MCP collection tools/list"
  else
    echo "POST /collections/{id}/mcp answered $answer: this build has no collection MCP server; its tools/list is not measured" >&2
  fi
fi

# --- 7. Report ---------------------------------------------------------------------------------------------------------
verdict() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { x = a / b; printf "%.2f× %s (target ≥ %.2f×)", x, (x >= t ? "PASS" : "BELOW"), t }'; }
row() { printf '%-8s | %9s | %8s | %8s | %10s | %8s | %8s | %s\n' "$@"; }

printf '\nAgentArtifacts benchmark, %s, %s connections, %s s per measurement (after %s s warm-up), pgbench -M %s\n' \
  "$(date -u '+%Y-%m-%d %H:%M UTC')" "$connections" "$seconds" "$warmup" "$pgbench_mode"
printf 'machine: %s cores; load average (1/5/15 min) before the run %s, when the phases began %s, at the end %s\n' \
  "$(nproc)" "$load_before" "$load_start" "$load_end"
[[ -z ${BENCH_NPGSQL_OPTIONS:-} ]] || printf 'app connection string options: %s\n' "$BENCH_NPGSQL_OPTIONS"
echo
row "" "API req/s" "API p50" "API p99" "pgbench tps" "pg p50" "pg p99" "API / pgbench"
row "--------" "---------" "--------" "--------" "----------" "--------" "--------" "-------------"
row create "${r[api_create]}" "${r[api_create_p50]} ms" "${r[api_create_p99]} ms" "${r[base_create]%.*}" \
  "${r[base_create_p50]} ms" "${r[base_create_p99]} ms" "$(verdict "${r[api_create]}" "${r[base_create]}" $target_create)"
row read "${r[api_read]}" "${r[api_read_p50]} ms" "${r[api_read_p99]} ms" "${r[base_read]%.*}" \
  "${r[base_read_p50]} ms" "${r[base_read_p99]} ms" "$(verdict "${r[api_read]}" "${r[base_read]}" $target_read)"
printf '\nread through a viewer grant: %s req/s, p50 %s ms, p99 %s ms; against the owner'"'"'s read: %s\n' \
  "${r[api_read_granted]}" "${r[api_read_granted_p50]}" "${r[api_read_granted_p99]}" "$(verdict "${r[api_read_granted]}" "${r[api_read]}" 0.90)"
if [[ $floor_phase == 1 ]]; then
  printf '\nHTTP floor (build/bench/floor.cs: the same INSERT and SELECT behind a bare ASP.NET Core endpoint, no auth, no events)\n'
  for op in create read; do
    awk -v op="$op" -v f="${r[floor_$op]}" -v f50="${r[floor_${op}_p50]}" -v f99="${r[floor_${op}_p99]}" -v b="${r[base_$op]}" -v a="${r[api_$op]}" \
      'BEGIN { printf "  %-6s floor %s req/s, p50 %s ms, p99 %s ms; floor / pgbench %.2f×; API / floor %.2f×\n", op, f, f50, f99, f / b, a / f }'
  done
fi
if [[ $invoke_phase == 1 ]]; then
  printf '\ninvoke: sync POST /artifacts/{id}/invoke of an http tool, against POSTing to its endpoint directly\n'
  printf '  direct %s req/s, p50 %s ms, p99 %s ms; invoke %s req/s, p50 %s ms, p99 %s ms\n' "${r[direct]}" "${r[direct_p50]}" \
    "${r[direct_p99]}" "${r[invoke]}" "${r[invoke_p50]}" "${r[invoke_p99]}"
  awk -v d="${r[direct]}" -v i="${r[invoke]}" -v d50="${r[direct_p50]}" -v i50="${r[invoke_p50]}" -v d99="${r[direct_p99]}" -v i99="${r[invoke_p99]}" \
    'BEGIN { printf "  invoke / direct %.2f× in req/s; invoke adds %.2f ms at p50 and %.2f ms at p99\n", i / d, i50 - d50, i99 - d99 }'
fi
if [[ -n ${r[mcp_call]:-} ]]; then
  printf '\nMCP: POST /mcp tools/call get_artifact against GET /artifacts/{id}, %s connections, measured one after the other\n' "$connections"
  printf '  GET %s req/s, p50 %s ms, p99 %s ms; tools/call %s req/s, p50 %s ms, p99 %s ms\n' "${r[mcp_get]}" "${r[mcp_get_p50]}" \
    "${r[mcp_get_p99]}" "${r[mcp_call]}" "${r[mcp_call_p50]}" "${r[mcp_call_p99]}"
  printf '  tools/call / GET %s\n' "$(verdict "${r[mcp_call]}" "${r[mcp_get]}" 0.70)"
fi
if [[ -n ${r[mcp_list]:-} ]]; then
  printf '\nMCP: tools/list on /collections/{id}/mcp (%s tools committed, %s on the first page) against GET /artifacts/{id}, 1 connection\n' \
    "$mcp_tools" "${r[mcp_list_tools]}"
  printf '  GET p50 %s ms, p99 %s ms; tools/list p50 %s ms, p99 %s ms\n' "${r[mcp_get1_p50]}" "${r[mcp_get1_p99]}" "${r[mcp_list_p50]}" "${r[mcp_list_p99]}"
  awk -v l="${r[mcp_list_p50]}" -v g="${r[mcp_get1_p50]}" \
    'BEGIN { x = l / g; printf "  tools/list p50 / GET p50 %.2f× %s (target ≤ 2.00×)\n", x, (x <= 2 ? "PASS" : "ABOVE") }'
elif [[ $mcp_phase == 1 ]]; then
  printf '\nMCP: no collection MCP server in this build; tools/list on /collections/{id}/mcp not measured\n'
fi
if (( search_artifacts > 0 )); then
  printf '\nsearch over %s artifacts: %s\n' "$search_artifacts" "${r[search_load]}"
  printf '  %-9s | %9s | %24s | %9s | %24s | %s\n' query "API req/s" "API p50 / p95 / p99" "raw tps" "raw p50 / p95 / p99" "p95 API / raw"
  for name in word phrase filtered or; do
    read -r a_rps a50 a95 a99 <<<"${r[search_${name}_api]}"
    read -r s_tps s50 s95 s99 <<<"${r[search_${name}_raw]}"
    printf '  %-9s | %9s | %24s | %9.0f | %24s | %s\n' "$name" "$a_rps" "$a50 / $a95 / $a99 ms" "$s_tps" "$s50 / $s95 / $s99 ms" \
      "$(awk -v a="$a95" -v b="$s95" 'BEGIN { x = a / b; printf "%.2f× %s (target ≤ 1.50×)", x, (x <= 1.5 ? "PASS" : "ABOVE") }')"
  done
fi
printf '\nlatencies: API from wrk (--latency); pgbench p50/p99 from its per-transaction log (-l), average: create %s ms, read %s ms\n' \
  "${r[base_create_avg]}" "${r[base_read_avg]}"
echo "where the CPU went (app = the service process; other = the rest of the machine, e.g. other users' processes):"
for phase in "pgbench INSERT:cpu_base_create" "API create:cpu_api_create" "pgbench SELECT:cpu_base_read" "API read:cpu_api_read" \
    "API read (granted):cpu_api_read_granted" ${r[cpu_floor_create]:+"floor create (app = the floor):cpu_floor_create" \
    "floor read (app = the floor):cpu_floor_read"} ${r[cpu_invoke]:+"direct call:cpu_direct" "API invoke:cpu_invoke"} \
    ${r[cpu_mcp_call]:+"GET next to MCP:cpu_mcp_get" "MCP tools/call:cpu_mcp_call"} ${r[cpu_mcp_list]:+"MCP collection tools/list (1 connection):cpu_mcp_list"}; do
  printf '  %s\n' "${phase%%:*}"
  # shellcheck disable=SC2001
  sed 's/^/    /' <<<"${r[${phase#*:}]}"
done
printf 'async projections caught up %s s after the create load (%s artifacts created)\n' "${r[create_catchup]}" "$created"
if (( ${#commit_rows[@]} > 0 )); then
  printf '\ncommit: one POST /workspaces/{id}/commit of N drafts against one INSERT … SELECT of N rows, %s repeats each\n' "$commit_repeats"
  printf 'load average when the commit phase began %s, at its end %s\n\n' "$commit_load_start" "$commit_load_end"
  crow() { printf '%6s | %21s | %24s | %10s | %14s | %s\n' "$@"; }
  crow drafts "API commit min / med" "INSERT…SELECT min / med" "API / raw" "API per draft" "CPU per draft during the commit"
  crow ------ "---------------------" "------------------------" "----------" "--------------" "-------------------------------"
  for line in "${commit_rows[@]}"; do
    read -r size api_min api_median raw_min raw_median app_per_draft pg_per_draft other_pct <<<"$line"
    crow "$size" "$api_min / $api_median ms" "$raw_min / $raw_median ms" \
      "$(awk -v a="$api_median" -v b="$raw_median" 'BEGIN { printf "%.1f×", a / b }')" \
      "$(awk -v a="$api_median" -v n="$size" 'BEGIN { printf "%.2f ms", a / n }')" \
      "app $app_per_draft ms, PostgreSQL $pg_per_draft ms (other $other_pct%)"
  done
  printf '%s\n' "API: curl's time_total; INSERT … SELECT: psql's \\timing, commit included; ratio and per draft from the medians"
fi
if (( ${#disturbed[@]} > 0 )); then
  list=$(printf '%s; ' "${disturbed[@]}")
  printf '\nWARNING: other processes used more than 10%% of the machine during %s.\n' "${list%; }"
  echo "The ratios are unreliable; re-run when the machine is otherwise idle (the CPU ms per request above are less affected)."
fi
