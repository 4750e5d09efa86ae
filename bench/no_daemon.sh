#!/usr/bin/env bash
# Measures how long devenv takes to say that no Docker Engine answers: `up`, `status`, `down`
# and `doctor` against a socket nobody listens on, on the example stack. Prints the median of
# RUNS runs (default 5) per command; the target is under 1 s for up/status/down and under 2 s
# for doctor (the integration tests check the messages, not the timing). Uses a release build,
# or the binary named by DEVENV.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-5}

if [[ -z ${DEVENV:-} ]]; then
  cargo build --release --quiet
  DEVENV="${CARGO_TARGET_DIR:-$PWD/target}/release/devenv"
fi
devenv=$(realpath "$DEVENV")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The services only: the example's apps (under its apps heading) need its directories.
sed "/^# --- The shop's own apps/,\$d" examples/shop/devenv.toml >"$work/devenv.toml"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$work/dead.sock"
export DOCKER_HOST="unix://$work/dead.sock" XDG_CONFIG_HOME="$work/config"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
for command in up status down doctor; do
  times=()
  for _ in $(seq 1 "$runs"); do
    t0=$(now_ms)
    "$devenv" -C "$work" "$command" >/dev/null 2>&1 || true
    times+=($(($(now_ms) - t0)))
  done
  printf '%-7s %5d ms (median of %d)\n' "$command" "$(printf '%s\n' "${times[@]}" | median)" "$runs"
done
