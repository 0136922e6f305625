#!/usr/bin/env bash
# Builds the solution once (Release) and runs every test project.
#
# Needs the .NET 10 SDK and node/npm (Azurite, the Azure Storage emulator the Azure tests run against, and the STOMP
# clients the gateway tests drive come from npm).
# The last line printed is the totals, e.g. "42 passed, 0 failed" (", N skipped" only when N > 0).
# Exits non-zero when the build fails, a test fails, or the test run itself fails (crash, hang, abort).
#
# Environment:
#   (always)                   npm ci the gateway tests' STOMP clients into .tools/gateway-node (when their lock file
#                              changed) and export OMQ_GATEWAY_NODE_MODULES
#   (always)                   apt-get install rabbitmq-server redis-server nats-server when missing (the peer
#                              benchmark smoke test starts them itself on loopback; scripts/peers-install.sh)
#   (always)                   apt-get install afl++ when missing, and the SharpFuzz tool into .tools/sharpfuzz
#                              (scripts/fuzz.sh --install; the fuzz smoke test runs scripts/fuzz.sh --smoke)
#   OMQ_TEST_HANG_TIMEOUT=10m  per-test-host hang timeout before blame kills it (and dumps it)
# Extra arguments go to `dotnet test`, e.g. ./scripts/test.sh --filter "FullyQualifiedName~Partition"
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly repo_root="$PWD"
readonly results_dir="$repo_root/TestResults"
readonly azurite_version="3.37.0"
readonly azurite_prefix="$repo_root/.tools/azurite"
readonly gateway_node_source="$repo_root/tests/OrleansMQ.Gateway.Tests/node"
readonly gateway_node_prefix="$repo_root/.tools/gateway-node"
readonly browser_node_source="$repo_root/tests/browser-node"
readonly browser_node_prefix="$repo_root/.tools/browser-node"

export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"
export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"

# Installs the pinned Azurite from npm into .tools/azurite (gitignored) unless it is already
# there at the pinned version, and exports OMQ_AZURITE_BIN for tests that start their own instance
# (tests/OrleansMQ.Server.Tests/Azure/AzuriteFixture.cs: free loopback ports, fresh data folder, stopped by PID).
ensure_azurite() {
  local bin="$azurite_prefix/node_modules/.bin/azurite"
  local manifest="$azurite_prefix/node_modules/azurite/package.json"
  local installed=""
  if [[ -x "$bin" && -f "$manifest" ]]; then
    installed="$(node -p "require(process.argv[1]).version" "$manifest" 2>/dev/null || true)"
  fi
  if [[ "$installed" != "$azurite_version" ]]; then
    echo "Installing azurite@$azurite_version into ${azurite_prefix#"$repo_root"/} ..."
    mkdir -p "$azurite_prefix"
    npm install --prefix "$azurite_prefix" "azurite@$azurite_version" --no-audit --no-fund
  fi
  if [[ ! -x "$bin" ]]; then
    echo "error: azurite not found at $bin after npm install" >&2
    return 1
  fi
  export OMQ_AZURITE_BIN="$bin"
  echo "Using Azurite $azurite_version: $OMQ_AZURITE_BIN"
}

# Installs the gateway tests' npm packages (@stomp/stompjs, @stomp/tcp-wrapper, ws; pinned by package-lock.json) into
# .tools/gateway-node (gitignored) with npm ci, only when the lock file differs from the installed one, and exports
# OMQ_GATEWAY_NODE_MODULES for the tests.
ensure_gateway_node() {
  local lock="$gateway_node_source/package-lock.json"
  local installed_lock="$gateway_node_prefix/package-lock.json"
  if [[ ! -d "$gateway_node_prefix/node_modules/@stomp/stompjs" ]] || ! cmp -s "$lock" "$installed_lock"; then
    echo "Installing the gateway tests' STOMP clients into ${gateway_node_prefix#"$repo_root"/} ..."
    rm -rf "$gateway_node_prefix"
    mkdir -p "$gateway_node_prefix"
    cp "$gateway_node_source/package.json" "$lock" "$gateway_node_prefix/"
    npm ci --prefix "$gateway_node_prefix" --no-audit --no-fund
  fi
  export OMQ_GATEWAY_NODE_MODULES="$gateway_node_prefix/node_modules"
}

# The browser tests drive Debian's Chromium with playwright-core (no browser download: this machine's network allows
# only package registries). Installs the `chromium` Debian package when /usr/bin/chromium is missing (apt-get, as root or
# through sudo), npm ci's playwright-core into .tools/browser-node when its lock file changed, and exports
# OMQ_CHROMIUM and OMQ_BROWSER_NODE_MODULES (tests/OrleansMQ.Testing/Browser/HeadlessChromium.cs reads them).
ensure_browser() {
  local chromium="${OMQ_CHROMIUM:-/usr/bin/chromium}"
  if [[ ! -x "$chromium" ]]; then
    echo "Installing Debian's chromium (for the browser tests) ..."
    local sudo=""
    if (( EUID != 0 )); then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
  fi
  if [[ ! -x "$chromium" ]]; then
    echo "error: chromium not found at $chromium after apt-get install" >&2
    return 1
  fi
  export OMQ_CHROMIUM="$chromium"
  local lock="$browser_node_source/package-lock.json"
  if [[ ! -d "$browser_node_prefix/node_modules/playwright-core" ]] || ! cmp -s "$lock" "$browser_node_prefix/package-lock.json"; then
    echo "Installing playwright-core into ${browser_node_prefix#"$repo_root"/} ..."
    rm -rf "$browser_node_prefix"
    mkdir -p "$browser_node_prefix"
    cp "$browser_node_source/package.json" "$lock" "$browser_node_prefix/"
    npm ci --prefix "$browser_node_prefix" --no-audit --no-fund
  fi
  export OMQ_BROWSER_NODE_MODULES="$browser_node_prefix/node_modules"
}

# ensure_peers (scripts/peers-install.sh): RabbitMQ, Redis and NATS from Debian packages for the peer benchmark's smoke
# test (tests/OrleansMQ.SiloHost.Tests/PeerBenchmarkSmokeTests.cs); no apt-get when they are installed already.
# shellcheck source=scripts/peers-install.sh
source "$repo_root/scripts/peers-install.sh"

# Sums the <Counters .../> of the given TRX files and prints "N passed, N failed[, N skipped]".
# Node is used because it is always present on CI (python may not be) and it copes with any attribute order.
# TRX "error", "timeout" and "aborted" outcomes count as failures. Skipped = total - passed - failures:
# VSTest's TRX logger leaves the notExecuted counter at 0 even for skipped tests (seen with SDK 10.0.401).
print_totals() {
  node - "$@" <<'JS'
const fs = require('fs');
let passed = 0, failed = 0, skipped = 0;
const failedTests = [];
const decode = (text) => text
  .replace(/&#x([0-9a-fA-F]+);/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const head = (text, lines) => {
  const all = decode(text).replace(/\r/g, '').split('\n');
  return all.slice(0, lines).map(l => '    ' + l.slice(0, 400)).join('\n') + (all.length > lines ? `\n    ... (${all.length - lines} more lines)` : '');
};
for (const file of process.argv.slice(2)) {
  const xml = fs.readFileSync(file, 'utf8');
  const counters = /<Counters\b([^>]*)>/.exec(xml);
  if (!counters) {
    console.error(`warning: ${file}: no <Counters> element; counting 1 failure`);
    failed += 1;
    continue;
  }
  const attrs = Object.fromEntries([...counters[1].matchAll(/(\w+)\s*=\s*"(\d+)"/g)].map(m => [m[1], Number(m[2])]));
  const n = (name) => attrs[name] ?? 0;
  const failures = n('failed') + n('error') + n('timeout') + n('aborted');
  for (const m of xml.matchAll(/<UnitTestResult\b([^>]*)>([\s\S]*?)<\/UnitTestResult>/g)) {
    const outcome = /\boutcome="(\w+)"/.exec(m[1])?.[1];
    if (!['Failed', 'Error', 'Timeout', 'Aborted'].includes(outcome)) continue;
    const name = decode(/\btestName="([^"]*)"/.exec(m[1])?.[1] ?? '?');
    const message = /<Message>([\s\S]*?)<\/Message>/.exec(m[2])?.[1] ?? '';
    const stack = /<StackTrace>([\s\S]*?)<\/StackTrace>/.exec(m[2])?.[1] ?? '';
    failedTests.push(`  ${outcome.toUpperCase()} ${name}\n${head(message, 25)}` + (stack ? `\n${head(stack, 6)}` : ''));
  }
  passed += n('passed');
  failed += failures;
  skipped += Math.max(0, n('total') - n('passed') - failures);
  // A crashed or hung (blame-killed) test host leaves its last test out of the counters but marks the
  // run as failed: count that as one failure so the totals never read as green.
  const outcome = /<ResultSummary\b[^>]*\boutcome="(\w+)"/.exec(xml)?.[1] ?? 'unknown';
  if (failures === 0 && !['Completed', 'Passed', 'Warning'].includes(outcome)) {
    console.error(`warning: ${file}: run outcome is ${outcome} though no test failed (test host crashed, hung or aborted); counting 1 failure`);
    failed += 1;
  }
}
if (failedTests.length > 0) {
  // CI keeps only the tail of the output: name each failure and the start of its message right above the totals.
  console.log(`\n${failedTests.length} failed test(s):`);
  for (const t of failedTests) console.log(t);
  console.log('');
}
console.log(`${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : ''));
process.exit(failed > 0 ? 1 : 0);
JS
}

rm -rf "$results_dir"

# Always: the Azure storage tests run against a real Azurite and are never skipped. Installs once into .tools/.
ensure_azurite

ensure_gateway_node

ensure_browser
ensure_peers
# afl++ (apt) and the SharpFuzz tool for the coverage-guided fuzz smoke (tests/OrleansMQ.Fuzz/AflSmokeTests.cs).
bash "$repo_root/scripts/fuzz.sh" --install

# --disable-build-servers: no MSBuild nodes or compiler server outlive the script (CI jobs stay clean).
build_rc=0
dotnet build OrleansMQ.sln -c Release --disable-build-servers || build_rc=$?
if (( build_rc != 0 )); then
  echo "error: build failed (exit $build_rc); no tests were run" >&2
  exit "$build_rc"
fi

test_rc=0
dotnet test OrleansMQ.sln -c Release --no-build --disable-build-servers \
  --results-directory "$results_dir" \
  --logger "trx;LogFilePrefix=omq" \
  --blame-hang-timeout "${OMQ_TEST_HANG_TIMEOUT:-10m}" --blame-hang-dump-type mini \
  "$@" || test_rc=$?

mapfile -t trx_files < <(find "$results_dir" -name '*.trx' -type f 2>/dev/null | sort)
if (( ${#trx_files[@]} == 0 )); then
  echo "error: dotnet test (exit $test_rc) wrote no TRX files to ${results_dir#"$repo_root"/}" >&2
  echo "0 passed, 0 failed"
  exit $(( test_rc != 0 ? test_rc : 1 ))
fi

if (( test_rc != 0 )); then
  # Announce before the totals so the totals stay the last line.
  echo "error: dotnet test exited with code $test_rc (failed tests, or a crashed/hung/aborted test host)" >&2
fi
totals_rc=0
print_totals "${trx_files[@]}" || totals_rc=$?

if (( test_rc != 0 )); then
  exit "$test_rc"
fi
exit "$totals_rc"
