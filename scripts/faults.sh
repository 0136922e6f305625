#!/usr/bin/env bash
# Runs the fault-injection scenarios (tests/OrleansMQ.Faults) for a longer, randomized schedule than CI and writes a
# Markdown report. Real silo-host processes on loopback; the cluster scenarios start their own Azurite (installed like
# scripts/test.sh does, into .tools/azurite). The storage-errors scenario mounts a small tmpfs when run as root.
#
#   scripts/faults.sh [--seed N] [--duration 10m] [--scenario NAME ...] [--out DIR]
#
# --seed      nemesis seed (default: random; always printed and written into the report)
# --duration  total budget, split over the scenarios (e.g. 10m, 600s, 00:10:00)
# --scenario  file-kill file-corruption journal-repair storage-errors cluster-kill cluster-pause cluster-join-leave (default: all)
# --out       output folder (histories, silo logs, report.md); default TestResults/faults-<seed>
# Exit code 0 only when every scenario passed the checker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seed=""
duration="10m"
out=""
args=()
while (( $# > 0 )); do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
seed="${seed:-$(( (RANDOM << 15 | RANDOM) % 1000000 + 1 ))}"
out="${out:-TestResults/faults-$seed}"

# 10m / 600s / 00:10:00 -> a TimeSpan
case "$duration" in
  *m) duration="00:$(printf '%02d' "${duration%m}"):00" ;;
  *s) duration="$(date -u -d "@${duration%s}" +%H:%M:%S)" ;;
esac

if [[ -z "${OMQ_AZURITE_BIN:-}" ]]; then
  bin=".tools/azurite/node_modules/.bin/azurite"
  if [[ ! -x "$bin" ]]; then
    npm install --prefix .tools/azurite "azurite@3.37.0" --no-audit --no-fund
  fi
  export OMQ_AZURITE_BIN="$PWD/$bin"
fi

echo "scripts/faults.sh: seed $seed, duration $duration, output $out"
dotnet build tests/OrleansMQ.Faults/OrleansMQ.Faults.csproj -c Release --disable-build-servers -v quiet -nologo
mkdir -p "$out"
dotnet tests/OrleansMQ.Faults/bin/Release/net10.0/omq-faults.dll run --seed "$seed" --duration "$duration" --out "$out" "${args[@]}"
