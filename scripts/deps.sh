#!/bin/sh
# Installs the Debian packages avrr needs to build, test and run.
# As root it runs apt-get for what is missing; otherwise it prints the exact
# command to run and fails, so that nothing half-works later.
set -eu

# One package per line: what it is for is in the comment beside it.
PKGS="
gcc
make
cmake
pkg-config
libsqlite3-dev
sqlite3
libmicrohttpd-dev
libjson-c-dev
libsodium-dev
libicu-dev
libcmocka-dev
libcurl4-openssl-dev
curl
chromium
libpq-dev
postgresql
openssl
clang
libclang-rt-14-dev
valgrind
"
# sqlite3: the CLI, used by tests to inspect and tamper with registries.
# libcurl + curl: API tests speak HTTP to the real server.
# chromium: the browser tests (playwright-core, from npm, drives the system
# chromium; no browser is downloaded). Node.js and npm come with the machine;
# without them the browser tests report SKIP.
# libpq-dev: the PostgreSQL backend; postgresql: the server, for the throw-away
# test cluster of scripts/pg-test-cluster.sh (`make test`).
# clang, libclang-rt-14-dev: the libFuzzer targets (`make fuzz`, the end of
#   `make test`); valgrind: `make valgrind`.
# openssl: scripts/tls-selfsigned.sh makes the TLS test's certificate (Debian
#   marks it optional; a minimal system may lack it).

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "avrr: missing Debian packages:$missing" >&2
    echo "avrr: install them with:  sudo apt-get install -y$missing" >&2
    exit 1
fi

echo "avrr: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
