#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for the test suite and the benchmarks.
#
#   scripts/pg-cluster.sh start DIR [PORT]   # prints the database URL on stdout
#   scripts/pg-cluster.sh stop DIR           # stops the server and removes DIR
#   scripts/pg-cluster.sh crash DIR          # immediate shutdown, as in a crash (data kept)
#   scripts/pg-cluster.sh resume DIR         # starts a crashed or stopped cluster again
#
# PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` system
# user (or a `patron-pg` user created for it). Data lives in DIR; nothing else is touched.
# The default collation is ICU's en-US, as on a typical production server (not "C", which
# would hide any query that depends on the database's collation); patron's sort keys pin
# their own collation and must give the same answers as SQLite regardless.
set -euo pipefail

find_bin() {
    local name=$1
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/$name" ] && { echo "$dir/$name"; return; }
    done
    {
        echo "error: PostgreSQL server binaries (initdb, pg_ctl) not found: $name is neither on PATH nor in /usr/lib/postgresql/*/bin."
        echo "       Install PostgreSQL 15, e.g. 'apt-get install postgresql-15' (Debian/Ubuntu) or 'brew install postgresql@15' (macOS),"
        echo "       or run only the SQLite half of the suite with 'make test-sqlite'."
    } >&2
    exit 3
}

run_as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

pick_user() {
    if [ "$(id -u)" -ne 0 ]; then PG_USER=$(id -un); return; fi
    if id postgres >/dev/null 2>&1; then PG_USER=postgres; return; fi
    id patron-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin patron-pg
    PG_USER=patron-pg
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() {
    run_as "$PG_CTL" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $1 -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200 -c shared_buffers=256MB" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

usage="usage: pg-cluster.sh start|stop|crash|resume DIR [PORT]"
cmd=${1:?$usage}
dir=${2:?$usage}

case "$cmd" in
start)
    INITDB=$(find_bin initdb)
    PG_CTL=$(find_bin pg_ctl)
    pick_user
    port=${3:-$(free_port)}
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$dir"
    if ! run_as test -w "$dir"; then
        echo "error: the cluster's user ($PG_USER) cannot write to $dir (is a parent directory private?); use a directory under /tmp" >&2
        exit 1
    fi
    locale=(--locale=C.UTF-8)
    if "$INITDB" --help | grep -q -- --locale-provider; then
        locale+=(--locale-provider=icu --icu-locale=en-US)
    fi
    run_as "$INITDB" -D "$dir/data" -U patron --auth=trust --encoding=UTF8 "${locale[@]}" >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    start_server "$port"
    echo "$port" >"$dir/port"
    echo "postgresql://patron@127.0.0.1:$port/postgres"
    ;;
crash)
    PG_CTL=$(find_bin pg_ctl)
    pick_user
    run_as "$PG_CTL" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
resume)
    PG_CTL=$(find_bin pg_ctl)
    pick_user
    start_server "$(cat "$dir/port")"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        PG_CTL=$(find_bin pg_ctl)
        pick_user
        run_as "$PG_CTL" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
