#!/usr/bin/env bash
# Coverage-guided fuzzing of the byte-level decoders with SharpFuzz + afl-fuzz (AFL++).
#
#   scripts/fuzz.sh <target> [seconds]    one target, resuming its findings (default 300 s)
#   scripts/fuzz.sh --smoke [seconds]     every target for a few seconds each (default 10) from the committed corpus into
#                                         fresh findings; the test suite runs this (tests/OrleansMQ.Fuzz/AflSmokeTests.cs)
#   scripts/fuzz.sh --install            only install afl++ and the SharpFuzz tool (scripts/test.sh does this)
#   OMQ_FUZZ_BUILD_DIR=<dir>              instrument a copy of this Release build instead of publishing one
#   targets: log-record, segment, stomp-frame, stomp-header, filter
#
# Installs what it needs: Debian's afl++ (apt-get, as root or through sudo) and the SharpFuzz.CommandLine 2.3.0 tool
# (into .tools/sharpfuzz). Publishes tests/OrleansMQ.Fuzz into .tools/fuzz/<target>/bin (smoke: .tools/fuzz/smoke/bin),
# instruments the broker assemblies there (OrleansMQ.Server.dll, OrleansMQ.Gateway.dll; the test build is untouched),
# and runs afl-fuzz from the committed corpus (tests/OrleansMQ.Fuzz/corpus/<target>) into .../findings.
# At the end it replays every crash and hang afl-fuzz saved through the uninstrumented target and prints them; a real
# finding exits 1. Fix it, then copy the input into the corpus so the CI replay keeps it fixed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly repo_root="$PWD"
readonly sharpfuzz_version="2.3.0"
readonly all_targets=(log-record segment stomp-frame stomp-header filter)
readonly usage="usage: scripts/fuzz.sh <log-record|segment|stomp-frame|stomp-header|filter> [seconds] | --smoke [seconds] | --install"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

install_tools() {
  if ! command -v afl-fuzz >/dev/null; then
    echo "Installing Debian's afl++ ..."
    local sudo=""
    if (( EUID != 0 )); then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends afl++
  fi
  sharpfuzz="$repo_root/.tools/sharpfuzz/sharpfuzz"
  if [[ ! -x "$sharpfuzz" ]]; then
    dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$repo_root/.tools/sharpfuzz"
  fi
}

# prepare_bin <dir>: an instrumented copy of the fuzz targets: published here, or copied from OMQ_FUZZ_BUILD_DIR (an
# existing Release build of tests/OrleansMQ.Fuzz; the test suite passes its own so nothing is rebuilt under it).
prepare_bin() {
  local bin="$1"
  rm -rf "$bin"
  if [[ -n "${OMQ_FUZZ_BUILD_DIR:-}" ]]; then
    mkdir -p "$bin"
    cp -r "$OMQ_FUZZ_BUILD_DIR"/. "$bin"/
  else
    dotnet publish tests/OrleansMQ.Fuzz/OrleansMQ.Fuzz.csproj -c Release -o "$bin" --disable-build-servers -v quiet -nologo
  fi
  for assembly in OrleansMQ.Server.dll OrleansMQ.Gateway.dll; do
    "$sharpfuzz" "$bin/$assembly" >/dev/null
  done
}

# fuzz_target <target> <seconds> <bin> <work>: runs afl-fuzz (resuming <work>/findings when it holds a queue), prints
# its statistics, then replays what it saved through the uninstrumented build. Returns 1 on a finding.
fuzz_target() {
  local target="$1" seconds="$2" bin="$3" work="$4"
  local corpus="$repo_root/tests/OrleansMQ.Fuzz/corpus/$target"
  if [[ ! -d "$corpus" ]]; then
    echo "error: no corpus at ${corpus#"$repo_root"/} (unknown target '$target'?)" >&2
    return 2
  fi

  local input="$corpus"
  if [[ -d "$work/findings/default/queue" ]]; then input="-"; fi
  mkdir -p "$work/findings"
  echo "Fuzzing $target for ${seconds}s (corpus ${corpus#"$repo_root"/}, findings ${work#"$repo_root"/}/findings) ..."
  # AFL_SKIP_BIN_CHECK: the executable is the .NET host, not an afl-instrumented binary (SharpFuzz instruments the IL).
  # AFL_NO_AFFINITY: the machine is shared; do not pin a core.
  # More attempts (up to 4, 2 s apart) when the very first (dry) run saw no coverage at all: seen in CI only on a machine
  # with 5-10x more runnable tasks than cores, always for stomp-frame, while the same build fuzzed every other target
  # fine (once two attempts in a row failed). A build that is really not instrumented fails every attempt.
  local attempt
  for attempt in 1 2 3 4; do
    if AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
      AFL_AUTORESUME=1 \
      afl-fuzz -i "$input" -o "$work/findings" -t 10000 -m none -V "$seconds" -- "$bin/OrleansMQ.Fuzz" "$target" \
      > "$work/afl.log" 2>&1; then
      break
    fi
    if (( attempt < 4 )) && grep -q "No instrumentation detected" "$work/afl.log"; then
      echo "$target: afl-fuzz's dry run saw no coverage (attempt $attempt); trying again"
      sleep 2
      continue
    fi
    echo "afl-fuzz failed; the end of ${work#"$repo_root"/}/afl.log:" >&2
    tail -30 "$work/afl.log" >&2
    return 1
  done

  local stats="$work/findings/default/fuzzer_stats"
  if [[ -f "$stats" ]]; then
    grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg|stability) ' "$stats" | sed "s/^/$target: /" || true
  fi

  local replay=()
  for dir in crashes hangs; do
    if compgen -G "$work/findings/default/$dir/id:*" >/dev/null; then replay+=("$work/findings/default/$dir"); fi
  done
  if (( ${#replay[@]} == 0 )); then
    echo "$target: no crashes or hangs saved."
    return 0
  fi
  # Replay through the plain (uninstrumented) build: it prints each finding with its exception.
  local plain="${OMQ_FUZZ_BUILD_DIR:-}"
  if [[ -z "$plain" ]]; then
    dotnet build tests/OrleansMQ.Fuzz/OrleansMQ.Fuzz.csproj -c Release --disable-build-servers -v quiet -nologo >/dev/null
    plain="tests/OrleansMQ.Fuzz/bin/Release/net10.0"
  fi
  dotnet "$plain/OrleansMQ.Fuzz.dll" "$target" --replay "${replay[@]}"
}

case "${1:-}" in
  "") echo "$usage" >&2; exit 2 ;;
  --install) install_tools ;;
  --smoke)
    seconds="${2:-10}"
    install_tools
    smoke="$repo_root/.tools/fuzz/smoke"
    prepare_bin "$smoke/bin"
    failed=0
    for target in "${all_targets[@]}"; do
      rm -rf "${smoke:?}/$target"
      fuzz_target "$target" "$seconds" "$smoke/bin" "$smoke/$target" || failed=1
    done
    if (( failed )); then echo "fuzz smoke: FINDINGS (see above)"; exit 1; fi
    echo "fuzz smoke: ${#all_targets[@]} targets, ${seconds}s each, no findings"
    ;;
  -*) echo "$usage" >&2; exit 2 ;;
  *)
    target="$1"
    seconds="${2:-300}"
    install_tools
    work="$repo_root/.tools/fuzz/$target"
    prepare_bin "$work/bin"
    fuzz_target "$target" "$seconds" "$work/bin" "$work"
    ;;
esac
