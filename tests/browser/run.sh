#!/bin/sh
# Browser tests of the web pages (web/): Debian's chromium driven by
# playwright-core (tests/browser/package.json), against the real server.
# Makes a fresh registry with tenants NL and BE, starts `avrr serve
# --web-root web` on a free loopback port, then runs web.test.mjs:
# sign in, a check that hits, the explanation chart, registering, a link
# resolved, the dashboard's charts. Screenshots go to tests/browser/artifacts/.
#
# Needs AVRR_BIN (set by CTest; AVRR_SOURCE_DIR defaults to this checkout).
# Without node or chromium it prints SKIP and exits 0. Installs its npm
# packages with `npm ci` when node_modules is missing, and copies Chart.js
# into web/vendor/ (web/vendor.sh) when that copy is missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${AVRR_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
AVRR=${AVRR_BIN:?AVRR_BIN not set: the avrr program to test}
CHROMIUM=${AVRR_CHROMIUM:-/usr/bin/chromium}

skip() { echo "SKIP: browser tests: $*"; exit 0; }
command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || skip "npm is not installed (apt-get install npm)"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is missing (apt-get install chromium)"

if [ ! -d "$HERE/node_modules/playwright-core" ]; then
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) || {
        echo "FAIL: npm ci in tests/browser" >&2
        exit 1
    }
fi
if [ ! -f "$SRC/web/vendor/chart.umd.min.js" ]; then
    sh "$SRC/web/vendor.sh" || {
        echo "FAIL: web/vendor.sh could not copy Chart.js" >&2
        exit 1
    }
fi

T=$(mktemp -d /tmp/avrr-browser-XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

DB=$T/reg.db
"$AVRR" init --db "$DB" >/dev/null || exit 1
"$AVRR" tenant add --db "$DB" --code NL --name "Netherlands (DT&V)" >/dev/null || exit 1
"$AVRR" tenant add --db "$DB" --code BE --name "Belgium (Fedasil)" >/dev/null || exit 1
key() { "$AVRR" key create --db "$DB" --tenant "$1" --role "$2" | tail -n 1; }
NL_KEY=$(key NL caseworker) && BE_KEY=$(key BE caseworker) || exit 1
# The statistician role may not exist yet in every build; the test then skips that step.
STAT_KEY=$(key BE statistician 2>/dev/null) || STAT_KEY=""

"$AVRR" serve --db "$DB" --listen 127.0.0.1:0 --web-root "$SRC/web" >"$T/serve.out" 2>"$T/serve.err" &
SERVER_PID=$!
BASE=""
i=0
while [ $i -lt 100 ]; do
    BASE=$(sed -n 's|^avrr: serving \(http://[^/ ]*\)/.*|\1|p' "$T/serve.out")
    [ -n "$BASE" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if [ -z "$BASE" ]; then
    echo "FAIL: the server did not start: $(cat "$T/serve.err")" >&2
    exit 1
fi

mkdir -p "$HERE/artifacts"
AVRR_BASE=$BASE NL_KEY=$NL_KEY BE_KEY=$BE_KEY STAT_KEY=$STAT_KEY CHROMIUM=$CHROMIUM \
    ARTIFACTS="$HERE/artifacts" PROFILE_DIR="$T/profile" \
    node "$HERE/web.test.mjs"
rc=$?
if [ $rc -ne 0 ]; then
    echo "server log (last lines):" >&2
    tail -n 20 "$T/serve.err" >&2
fi
exit $rc
