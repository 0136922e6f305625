# Sourced by scripts/test.sh and scripts/bench-peers.sh (not run on its own).
#
# ensure_peers: installs the peer brokers the peer benchmark (tests/OrleansMQ.Benchmarks `peers`) compares OrleansMQ
# with, from Debian packages, when their programs are missing: rabbitmq-server (with Erlang), redis-server,
# nats-server. Fast when all are there (three file tests, no apt). A package this Debian does not offer is reported
# and left out; the harness then skips that server with a printed reason. The harness never uses the system services:
# it runs the binaries itself on free loopback ports with temporary data directories.
ensure_peers() {
  local -A programs=(
    [rabbitmq-server]=/usr/lib/rabbitmq/bin/rabbitmq-server
    [redis-server]=/usr/bin/redis-server
    [nats-server]=/usr/sbin/nats-server
  )
  local missing=() package
  for package in rabbitmq-server redis-server nats-server; do
    [[ -x "${programs[$package]}" ]] || missing+=("$package")
  done
  if (( ${#missing[@]} == 0 )); then
    return 0
  fi

  local sudo=""
  if (( EUID != 0 )); then sudo="sudo"; fi
  echo "Installing the peer brokers for the peer benchmark (${missing[*]}) ..."
  $sudo apt-get update -qq
  local installable=()
  for package in "${missing[@]}"; do
    if apt-cache show "$package" >/dev/null 2>&1; then
      installable+=("$package")
    else
      echo "note: this Debian has no '$package' package; the peer benchmark will skip it" >&2
    fi
  done
  if (( ${#installable[@]} > 0 )); then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${installable[@]}"
  fi
  for package in "${installable[@]}"; do
    if [[ ! -x "${programs[$package]}" ]]; then
      echo "error: ${programs[$package]} not found after apt-get install $package" >&2
      return 1
    fi
  done
}
