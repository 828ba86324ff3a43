# shellcheck shell=bash
# Sourced by build/*.sh. Provides:
#   ensure_postgres <database-name>  ends with ConnectionStrings__Postgres exported
#   stop_postgres                    stops the PostgreSQL that ensure_postgres started
# Order: an already set ConnectionStrings__Postgres, else compose.yaml's postgres if a Docker engine
# answers, else a local server from Debian's PostgreSQL packages, kept under .local/pg.

AA_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

_aa_docker_available() {
  command -v docker >/dev/null 2>&1 && timeout 5 docker info >/dev/null 2>&1
}

_aa_as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "error: need root (or sudo) to run: $*" >&2; return 1
  fi
}

# Runs a PostgreSQL tool as the owner of the data folder: PostgreSQL refuses to run as root.
_aa_pg() {
  if [[ $EUID -eq 0 ]]; then (cd / && runuser -u postgres -- "$@")
  else "$@"
  fi
}

# Folder holding data/, log/ and run/ (unix socket). The repo's .local/pg unless the postgres OS user
# cannot reach it (repo under /root, say) or the socket path would pass the ~107-byte limit.
_aa_pg_root() {
  local root="$AA_REPO_ROOT/.local/pg"
  if { [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$AA_REPO_ROOT"; } ||
     (( ${#root} > 80 )); then
    root="/var/tmp/agentartifacts-pg-$(printf '%s' "$AA_REPO_ROOT" | sha256sum | cut -c1-12)"
  fi
  echo "$root"
}

# bin/ of the PostgreSQL version that made the data folder, else the newest installed one.
_aa_pg_bin() {
  local data="$1" version
  if [[ -f $data/PG_VERSION ]]; then
    version=$(cat "$data/PG_VERSION")
    echo "/usr/lib/postgresql/$version/bin"
  else
    printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1 | xargs dirname
  fi
}

_aa_install_postgres() {
  echo "PostgreSQL: no initdb under /usr/lib/postgresql/*/bin, installing the Debian package 'postgresql'" >&2
  _aa_as_root apt-get update
  _aa_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
}

_aa_docker_postgres() {
  local db="$1" port="${AA_PG_PORT:-55432}"
  cd "$AA_REPO_ROOT"
  docker compose up -d --wait postgres
  if ! docker compose exec -T postgres psql -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    docker compose exec -T postgres createdb -U postgres "$db"
  fi
  echo "PostgreSQL: Docker compose service 'postgres' on 127.0.0.1:$port, database $db" >&2
  _aa_cs="Host=127.0.0.1;Port=$port;Database=$db;Username=postgres;Password=postgres"
}

_aa_local_postgres() {
  local db="$1" port="${AA_PG_PORT:-55432}" root data bin
  root=$(_aa_pg_root)
  data="$root/data"
  [[ $root == "$AA_REPO_ROOT"/* ]] ||
    echo "PostgreSQL: the repo's .local/pg is unusable here (postgres OS user cannot reach it, or the socket path is too long); using $root" >&2

  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || _aa_install_postgres
  bin=$(_aa_pg_bin "$data")

  if [[ $EUID -eq 0 ]]; then
    # .local: created world-traversable, the postgres OS user must pass through it
    [[ -d ${root%/*} ]] || mkdir -m 755 "${root%/*}"
    install -d -o postgres -g postgres -m 700 "$root" "$root/log" "$root/run"
  else
    install -d -m 700 "$root" "$root/log" "$root/run"
  fi

  if [[ ! -f $data/PG_VERSION ]]; then
    printf 'postgres\n' | _aa_pg tee "$root/pwfile" >/dev/null
    # Trust only on the unix socket, which lives in a private folder; TCP needs the password.
    _aa_pg "$bin/initdb" -D "$data" -U postgres --pwfile="$root/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >/dev/null
    rm -f "$root/pwfile"
  fi

  if ! _aa_pg "$bin/pg_ctl" status -D "$data" >/dev/null; then
    # Another server (another checkout's, say) may already listen on the port: take the next free one rather than fail.
    local wanted=$port
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
      (( port < wanted + 20 )) || { echo "error: ports $wanted to $port on 127.0.0.1 are all taken" >&2; return 1; }
      port=$((port + 1))
    done
    [[ $port == "$wanted" ]] || echo "PostgreSQL: 127.0.0.1:$wanted is taken by another server; this one listens on $port" >&2
    # Settings go on the command line so a changed AA_PG_PORT takes effect on the next start.
    if ! _aa_pg "$bin/pg_ctl" start -D "$data" -l "$root/log/postgresql.log" -w -t 60 \
         -o "-c listen_addresses=127.0.0.1 -p $port -k '$root/run' -c unix_socket_permissions=0700 -c max_connections=300" >/dev/null; then
      echo "--- last lines of $root/log/postgresql.log:" >&2
      tail -n 8 "$root/log/postgresql.log" >&2
      return 1
    fi
  fi
  port=$(sed -n 4p "$data/postmaster.pid")  # the port it really listens on, if started earlier with another

  local tries=0
  until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
    (( ++tries < 60 )) || { echo "error: PostgreSQL on 127.0.0.1:$port does not answer" >&2; return 1; }
    sleep 0.5
  done

  export PGPASSWORD=postgres
  if [[ -z $("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  fi
  echo "PostgreSQL: local $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, database $db, data in $data" >&2
  _aa_cs="Host=127.0.0.1;Port=$port;Database=$db;Username=postgres;Password=postgres"
}

ensure_postgres() {
  local db="${1:?usage: ensure_postgres <database-name>}" cs
  if [[ -n ${ConnectionStrings__Postgres:-} ]]; then
    echo "PostgreSQL: using ConnectionStrings__Postgres from the environment" >&2
    return 0
  fi
  [[ $db =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "error: bad database name '$db'" >&2; return 1; }
  # The work runs in a subshell with errexit on, so a failed step stops it even when the caller
  # sourced this file without `set -e`. Tool output goes to stderr and only the connection string
  # comes back on stdout; fd 3 is closed meanwhile, else the server would inherit it and keep $(...) waiting.
  cs=$(
    set -euo pipefail
    exec 3>&1 1>&2
    if _aa_docker_available; then _aa_docker_postgres "$db" 3>&-; else _aa_local_postgres "$db" 3>&-; fi
    echo "$_aa_cs" >&3
  )
  [[ -n $cs ]] || return 1
  export ConnectionStrings__Postgres="$cs"
}

stop_postgres() {
  local data bin
  data="$(_aa_pg_root)/data"
  if [[ -f $data/PG_VERSION ]]; then
    bin=$(_aa_pg_bin "$data")
    if _aa_pg "$bin/pg_ctl" status -D "$data" >/dev/null; then
      _aa_pg "$bin/pg_ctl" stop -D "$data" -m fast -w >/dev/null
      echo "PostgreSQL: stopped the local server ($data)" >&2
    fi
  fi
  if _aa_docker_available; then
    (cd "$AA_REPO_ROOT" && docker compose stop postgres)
  fi
}
