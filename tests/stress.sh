#!/usr/bin/env bash
# Stress test of the engine commands: STRESS_CYCLES (default 50) cycles of
# up / down / up / down --volumes --yes on a Redis-only stack. In every second cycle another
# process holds the port the stack wants (so `up` must remap it), and in every fifth cycle a
# second project goes through the same steps at the same time. Every failure prints the full
# output of the command; the script ends with the cycles, the failures and the wall time, and
# exits 1 unless there were no failures. Its projects live in a temporary directory and are
# torn down (containers, network, volumes) however the script ends.
#
# Usage: tests/stress.sh [DEVENV_BINARY]   (default: target/debug/devenv)
# Needs a Docker Engine, the fixture image devenv-fixture/redis:7 (tests/images/build.sh) and
# python3 (the process that holds the port).
set -uo pipefail

devenv=$(realpath "${1:-${CARGO_TARGET_DIR:-target}/debug/devenv}")
cycles=${STRESS_CYCLES:-50}
work=$(mktemp -d "${TMPDIR:-/tmp}/devenv-stress.XXXXXX")
holder=""
projects=(a b)

# devenv ARGS in project $1, with the test config and a bound against hangs.
run() {
  local project=$1
  shift
  XDG_CONFIG_HOME="$work/config" NO_COLOR=1 timeout 180 "$devenv" -C "$work/$project" "$@"
}

release_port() {
  if [[ -n $holder ]]; then
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
    holder=""
  fi
}

teardown() {
  release_port
  for project in "${projects[@]}"; do
    [[ -f $work/$project/devenv.toml ]] && run "$project" down --volumes --yes >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

[[ -x $devenv ]] || { echo "error: no devenv binary at $devenv (build it with cargo build)" >&2; exit 1; }
mkdir -p "$work/config/devenv"
printf '[images]\n"redis:7" = "devenv-fixture/redis:7"\n' >"$work/config/devenv/config.toml"
for project in "${projects[@]}"; do
  mkdir "$work/$project"
  printf '[project]\nname = "devenvstress%s-%s"\n\n[services.cache]\nuse = "redis"\nimage = "redis:7"\n' \
    "$$" "$project" >"$work/$project/devenv.toml"
done

# Runs devenv ARGS in project $2 for cycle $1; a failure is recorded with its full output.
attempt() {
  local cycle=$1 project=$2 code=0
  shift 2
  run "$project" "$@" >"$work/$project.log" 2>&1 || code=$?
  if ((code != 0)); then
    { printf 'FAIL cycle %s, project %s: devenv %s exited with %s\n' "$cycle" "$project" "$*" "$code"
      sed 's/^/    /' "$work/$project.log"; } >>"$work/failures-$project"
  fi
}

# Runs the same step in each project of the cycle at the same time.
together() {
  local cycle=$1 count=$2
  shift 2
  local pids=()
  for project in "${projects[@]:0:count}"; do
    attempt "$cycle" "$project" "$@" &
    pids+=($!)
  done
  wait "${pids[@]}"
}

cache_port() {
  local port
  port=$(sed -n 's/^CACHE_PORT=//p' "$work/a/.env" 2>/dev/null)
  echo "${port:-6379}"
}

# Starts a process listening on $1 and waits until the port answers.
hold_port() {
  python3 -m http.server "$1" --bind 127.0.0.1 >/dev/null 2>&1 &
  holder=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "FAIL: the port holder did not listen on $1" >>"$work/failures-a"
}

# Flushes the failures recorded so far to the terminal and counts them.
failures=0
report() {
  for file in "$work"/failures-*; do
    [[ -f $file ]] || continue
    cat "$file"
    failures=$((failures + $(grep -c '^FAIL' "$file")))
    rm "$file"
  done
}

SECONDS=0
for ((cycle = 1; cycle <= cycles; cycle++)); do
  count=$((cycle % 5 == 0 ? 2 : 1))
  held=""
  if ((cycle % 2 == 0)); then
    held=$(cache_port)
    hold_port "$held"
  fi
  together "$cycle" "$count" up
  if [[ -n $held ]]; then
    [[ $(cache_port) != "$held" ]] ||
      echo "FAIL cycle $cycle, project a: up kept CACHE_PORT=$held, held by another process" >>"$work/failures-a"
    release_port
  fi
  together "$cycle" "$count" down
  together "$cycle" "$count" up
  together "$cycle" "$count" down --volumes --yes
  report
done
printf 'stress: %d cycles (%d with a held port, %d with two projects at once), %d failure(s), %d s\n' \
  "$cycles" $((cycles / 2)) $((cycles / 5)) "$failures" "$SECONDS"
((failures == 0))
