#!/usr/bin/env bash
# Refreshes the management page's vendored front-end assets from npm (versions pinned in
# src/OrleansMQ.Management/web/package.json and its lock file): Chart.js's UMD build goes to
# src/OrleansMQ.Management/Assets/lib/, embedded in the assembly. Run it after changing a version; commit the result.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$repo_root/src/OrleansMQ.Management/web"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$web/package.json" "$work/"
if [[ -f "$web/package-lock.json" ]]; then cp "$web/package-lock.json" "$work/"; npm ci --prefix "$work" --no-audit --no-fund; else npm install --prefix "$work" --no-audit --no-fund; cp "$work/package-lock.json" "$web/"; fi
cp "$work/node_modules/chart.js/dist/chart.umd.min.js" "$repo_root/src/OrleansMQ.Management/Assets/lib/chart.umd.min.js"
cp "$work/node_modules/chart.js/LICENSE.md" "$repo_root/src/OrleansMQ.Management/Assets/lib/chart.js.LICENSE.md"
echo "vendored chart.js $(node -p "require('$work/node_modules/chart.js/package.json').version")"
