#!/usr/bin/env bash
# Coverage-guided fuzzing of one decoder with SharpFuzz + afl-fuzz (AFL++).
#
#   scripts/fuzz.sh <target> [seconds]      targets: log-record, segment, stomp-frame, stomp-header, filter (default 300 s)
#
# Installs what it needs: Debian's afl++ (apt-get, as root or through sudo) and the SharpFuzz.CommandLine 2.3.0 tool
# (into .tools/sharpfuzz). Publishes tests/OrleansMQ.Fuzz into .tools/fuzz/<target>/bin, instruments the broker
# assemblies there (OrleansMQ.Server.dll, OrleansMQ.Gateway.dll; the test build is untouched), and runs afl-fuzz from
# the committed corpus (tests/OrleansMQ.Fuzz/corpus/<target>) into .tools/fuzz/<target>/findings.
# At the end it replays every crash and hang afl-fuzz saved through the uninstrumented target and prints them; a real
# finding exits 1. Fix it, then copy the input into the corpus so the CI replay keeps it fixed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly repo_root="$PWD"
readonly target="${1:?usage: scripts/fuzz.sh <log-record|segment|stomp-frame|stomp-header|filter> [seconds]}"
readonly seconds="${2:-300}"
readonly sharpfuzz_version="2.3.0"
readonly work="$repo_root/.tools/fuzz/$target"
readonly corpus="$repo_root/tests/OrleansMQ.Fuzz/corpus/$target"

if [[ ! -d "$corpus" ]]; then
  echo "error: no corpus at ${corpus#"$repo_root"/} (unknown target '$target'?)" >&2
  exit 2
fi

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

if ! command -v afl-fuzz >/dev/null; then
  echo "Installing Debian's afl++ ..."
  sudo=""
  if (( EUID != 0 )); then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends afl++
fi

sharpfuzz="$repo_root/.tools/sharpfuzz/sharpfuzz"
if [[ ! -x "$sharpfuzz" ]]; then
  dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$repo_root/.tools/sharpfuzz"
fi

rm -rf "$work/bin"
dotnet publish tests/OrleansMQ.Fuzz/OrleansMQ.Fuzz.csproj -c Release -o "$work/bin" --disable-build-servers -v quiet -nologo
for assembly in OrleansMQ.Server.dll OrleansMQ.Gateway.dll; do
  "$sharpfuzz" "$work/bin/$assembly"
done

# The findings folder is kept between runs; afl-fuzz resumes from it with -i - when it exists.
input="$corpus"
if [[ -d "$work/findings/default/queue" ]]; then input="-"; fi
mkdir -p "$work/findings"

echo "Fuzzing $target for ${seconds}s (corpus ${corpus#"$repo_root"/}, findings ${work#"$repo_root"/}/findings) ..."
# AFL_SKIP_BIN_CHECK: the executable is the .NET host, not an afl-instrumented binary (SharpFuzz instruments the IL).
# AFL_NO_AFFINITY: the machine is shared; do not pin a core.
AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
AFL_AUTORESUME=1 \
  afl-fuzz -i "$input" -o "$work/findings" -t 10000 -m none -V "$seconds" -- "$work/bin/OrleansMQ.Fuzz" "$target" \
  > "$work/afl.log" 2>&1 || { echo "afl-fuzz failed; the end of ${work#"$repo_root"/}/afl.log:" >&2; tail -30 "$work/afl.log" >&2; exit 1; }

stats="$work/findings/default/fuzzer_stats"
if [[ -f "$stats" ]]; then
  grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg|stability) ' "$stats" || true
fi

# Replay what afl-fuzz saved through the plain (uninstrumented) build: it prints each finding with its exception.
dotnet build tests/OrleansMQ.Fuzz/OrleansMQ.Fuzz.csproj -c Release --disable-build-servers -v quiet -nologo >/dev/null
replay=()
for dir in crashes hangs; do
  if compgen -G "$work/findings/default/$dir/id:*" >/dev/null; then replay+=("$work/findings/default/$dir"); fi
done
if (( ${#replay[@]} == 0 )); then
  echo "$target: no crashes or hangs saved."
  exit 0
fi
dotnet tests/OrleansMQ.Fuzz/bin/Release/net10.0/OrleansMQ.Fuzz.dll "$target" --replay "${replay[@]}"
