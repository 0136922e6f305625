#!/usr/bin/env bash
# Peer benchmark: OrleansMQ vs RabbitMQ (quorum and classic queues), Redis Streams (appendfsync always / everysec) and
# NATS JetStream, through their real .NET clients, with the OpenMessaging-style workloads in
# tests/OrleansMQ.Benchmarks/Peers/workloads/ (see tests/OrleansMQ.Benchmarks/README.md, "Peers").
#
#   scripts/bench-peers.sh --quick              # the quick set (W1 100 B, W2 100 B, W5, W6), a few seconds each: < 5 min
#   scripts/bench-peers.sh                      # full: every workload as written (W1-W6, 100 B and 1 KiB): < 40 min
#   scripts/bench-peers.sh --smoke              # ~2 s per run (what CI runs through the xunit smoke test)
#   scripts/bench-peers.sh --quick --out DIR -- --workloads W3 W4 --servers orleansmq redis
#
# 1. Installs the peer servers from Debian packages when missing (apt-get; scripts/peers-install.sh).
# 2. Builds the harness (Release; it builds silo-host too).
# 3. Runs it: for each server in turn the harness starts the server binary itself as a child process on 127.0.0.1
#    (free ports, a temporary data directory, its own config, never the system service), runs the workloads against
#    each of its drivers, stops it by PID, and finally writes report.md, report.json and PNG plots to the output
#    directory (default: bench-results/peers-<mode>-<UTC time>/).
# Arguments after `--` go to the harness (`peers --help` lists them).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/peers-install.sh
source scripts/peers-install.sh

mode="full"
out=""
while (( $# > 0 )); do
  case "$1" in
    --quick) mode="quick" ;;
    --full) mode="full" ;;
    --smoke) mode="smoke" ;;
    --out) out="$2"; shift ;;
    --) shift; break ;;
    *) echo "usage: $0 [--quick|--full|--smoke] [--out DIR] [-- harness arguments]" >&2; exit 2 ;;
  esac
  shift
done
out="${out:-bench-results/peers-$mode-$(date -u +%Y%m%dT%H%M%SZ)}"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
ensure_peers
dotnet build tests/OrleansMQ.Benchmarks/OrleansMQ.Benchmarks.csproj -c Release --disable-build-servers -v quiet -nologo
exec dotnet tests/OrleansMQ.Benchmarks/bin/Release/net10.0/OrleansMQ.Benchmarks.dll peers --mode "$mode" --out "$out" "$@"
