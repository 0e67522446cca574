#!/bin/sh
# A throw-away PostgreSQL cluster for the test suite.
#
#   scripts/pg-test-cluster.sh start DIR   initdb in DIR, start postgres,
#                                          create database "avrr", print its URI
#   scripts/pg-test-cluster.sh stop DIR    stop that postgres, remove DIR
#
# initdb and postgres refuse to run as root, and `make test` runs as root in
# CI: as root the cluster belongs to a system user "avrr-test" (created when
# missing) and runs through runuser; otherwise it runs as the caller. The
# server listens on 127.0.0.1 on a free port and on a Unix socket inside DIR;
# the printed URI goes through the socket. Authentication is "trust": the
# cluster holds nothing but test data and only local processes reach it.
# Durability is switched off (fsync, full_page_writes) because a crashed test
# cluster is simply thrown away; it makes CREATE DATABASE per test cheap.
#
# A failed start stops whatever it started (trap), so that nothing is left
# running; `stop` is safe to call twice and on a half-made DIR.
set -eu

TEST_USER=avrr-test
DB=avrr

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

# Debian installs the server programs outside PATH, one folder per major
# version: take the newest.
pg_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        echo "$PG_BIN"
        return
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ]; then
            echo "$d"
            return
        fi
    done
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    echo "pg-test-cluster: initdb not found (install the Debian package" \
         "postgresql, e.g. through scripts/deps.sh)" >&2
    exit 1
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$TEST_USER" -- "$@"
    else
        "$@"
    fi
}

owner_name() {
    if [ "$(id -u)" -eq 0 ]; then
        echo "$TEST_USER"
    else
        id -un
    fi
}

# A port nobody listens on yet, in the ephemeral range. Without ss or
# netstat we guess, and postgres itself tells us when the guess was taken.
random_port() {
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + n % 30000))
}

stop_cluster() {
    bin=$(pg_bin)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
            >/dev/null 2>&1 || true
    fi
    # pg_ctl gave up, or the pid file is stale: end the postmaster by its
    # own pid only.
    if [ -f "$dir/data/postmaster.pid" ]; then
        pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
        case "$pid" in
        '' | *[!0-9]*) ;;
        *) kill -9 "$pid" 2>/dev/null || true ;;
        esac
    fi
    rm -rf "$dir"
}

start_cluster() {
    bin=$(pg_bin)
    owner=$(owner_name)
    if [ "$(id -u)" -eq 0 ] && ! id -u "$TEST_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$TEST_USER"
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$TEST_USER" "$dir"
    fi
    chmod 700 "$dir"
    trap 'stop_cluster' EXIT
    trap 'exit 1' INT TERM

    as_owner "$bin/initdb" -D "$dir/data" -U "$owner" --auth=trust \
        --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        echo "pg-test-cluster: initdb failed" >&2
        exit 1
    }
    started=""
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$(random_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
            -t 60 -o "-p $port -k $dir -c listen_addresses=127.0.0.1 \
-c fsync=off -c full_page_writes=off -c synchronous_commit=off \
-c max_connections=200" start >/dev/null 2>&1; then
            started=yes
            break
        fi
        # Most likely the port was taken: try another one.
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop \
            >/dev/null 2>&1 || true
    done
    if [ -z "$started" ]; then
        cat "$dir/server.log" >&2 2>/dev/null || true
        echo "pg-test-cluster: postgres did not start" >&2
        exit 1
    fi
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U "$owner" "$DB" || {
        echo "pg-test-cluster: createdb failed" >&2
        exit 1
    }
    trap - EXIT INT TERM
    echo "postgresql://$owner@/$DB?host=$dir&port=$port"
}

case "$cmd" in
start) start_cluster ;;
stop) stop_cluster ;;
*) usage ;;
esac
