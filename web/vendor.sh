#!/bin/sh
# Copies the browser build of Chart.js from node_modules into vendor/, where
# index.html loads it (/app/vendor/chart.umd.min.js). The version is the one
# pinned in package.json and package-lock.json; `npm ci` runs first when
# node_modules is missing or holds another version. Running the pages needs
# no build step: only this copy, once.
#   sh web/vendor.sh            copy (installing with npm ci if needed)
#   sh web/vendor.sh --check    exit 1 unless vendor/ matches package.json
set -eu
cd "$(dirname "$0")"

want=$(node -p 'require("./package.json").dependencies["chart.js"]')
src=node_modules/chart.js/dist/chart.umd.min.js
dst=vendor/chart.umd.min.js

have_version() { sed -n '2s/^ \* Chart\.js v\([0-9.]*\)$/\1/p' "$1" 2>/dev/null; }

if [ "${1:-}" = "--check" ]; then
    got=$(have_version "$dst")
    if [ "$got" = "$want" ]; then
        echo "vendor.sh: $dst is Chart.js $want"
        exit 0
    fi
    echo "vendor.sh: $dst is '${got:-missing}', package.json pins $want: run sh web/vendor.sh" >&2
    exit 1
fi

if [ "$(have_version "$src")" != "$want" ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p vendor
cp "$src" "$dst"
cp node_modules/chart.js/LICENSE.md vendor/chart.js.LICENSE.md
echo "vendor.sh: Chart.js $want -> web/$dst ($(wc -c <"$dst") bytes)"
