#!/usr/bin/env bash
# Vendors the browser (UMD) build of @stomp/stompjs into silo-host/wwwroot/chat/vendor/, for the chat page that
# silo-host serves at /chat/. The version is the one the gateway tests pin (tests/OrleansMQ.Gateway.Tests/node/package.json),
# so the page and the Node conformance tests use the same client. Run it after bumping that version and commit the result;
# ChatPageTests checks that the vendored file is byte-identical to the npm package's.
#
#   ./scripts/vendor-stompjs.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
version="$(node -p "require('./tests/OrleansMQ.Gateway.Tests/node/package.json').dependencies['@stomp/stompjs']")"
target="silo-host/wwwroot/chat/vendor"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

npm install --prefix "$staging" "@stomp/stompjs@$version" --no-audit --no-fund --ignore-scripts
package="$staging/node_modules/@stomp/stompjs"
mkdir -p "$target"
cp "$package/bundles/stomp.umd.min.js" "$target/stomp.umd.min.js"
cp "$package/LICENSE" "$target/stompjs-LICENSE.txt"
echo "$version" > "$target/stompjs-VERSION.txt"
echo "Vendored @stomp/stompjs $version into $target"
