#!/usr/bin/env bash
# Measures devenv against docker-compose 1.29 on the PostgreSQL + Redis example, images present:
#   cold  `up` with fresh volumes until psql logs in and Redis answers PING
#   warm  `up` with nothing to change
#   status
# and the same stack under docker-compose (generated file, `name:` removed, `-p` instead).
# Prints medians of RUNS runs (default 5) and the ratios. Needs the fixture images
# (tests/images/build.sh), psql and docker-compose. Uses a release build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-5}

# shellcheck source=bench/lib.sh
. bench/lib.sh
build_devenv
work=$(mktemp -d)
use_fixture_images "$work" postgres:16=devenv-fixture/postgres:16 redis:7=devenv-fixture/redis:7
project=devenvbench
mkdir "$work/stack"
# The services only: the example's apps (under its apps heading) need its directories.
sed -e "s/name = \"shop\"/name = \"$project\"/" -e "/^# --- The shop's own apps/,\$d" examples/shop/devenv.toml >"$work/stack/devenv.toml"
cd "$work/stack"
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'DB_PORT=%s\nCACHE_PORT=%s\nDB_PASSWORD=benchpassword\n' "$pg_port" "$redis_port" >.env
"$devenv" generate -q
# docker-compose 1.29 predates `name:`; it gets -p, and the fixture images by name.
grep -v '^name:' docker-compose.yml |
  sed 's#image: postgres:16#image: devenv-fixture/postgres:16#; s#image: redis:7#image: devenv-fixture/redis:7#' >compose-1.29.yml
compose=(docker-compose -f compose-1.29.yml -p "${project}c" --env-file .env)

now_ms() { date +%s%3N; }
answers() { # psql login and Redis PING on the given ports
  PGPASSWORD=benchpassword PGCONNECT_TIMEOUT=1 psql -h 127.0.0.1 -p "$1" -U shop -d shop -tAc 'select 1' >/dev/null 2>&1 || return 1
  exec 3<>"/dev/tcp/127.0.0.1/$2" || return 1
  printf 'PING\r\n' >&3
  local reply=""
  read -r -t 1 reply <&3 || true
  exec 3<&-
  [[ $reply == +PONG* ]]
}
wait_answers() { until answers "$1" "$2"; do sleep 0.02; done; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
cleanup() {
  "$devenv" down --volumes --yes -q >/dev/null 2>&1 || true
  "${compose[@]}" down -v >/dev/null 2>&1 || true
}
trap 'cleanup; rm -rf "$work"' EXIT
cleanup

declare -a dev_cold dev_warm dev_status dc_cold dc_warm
for i in $(seq 1 "$runs"); do
  # devenv: separate host ports from compose's so both can be measured in turn.
  t0=$(now_ms); "$devenv" up -q >/dev/null; wait_answers "$pg_port" "$redis_port"; t1=$(now_ms)
  dev_cold+=($((t1 - t0)))
  t0=$(now_ms); "$devenv" up -q >/dev/null; t1=$(now_ms); dev_warm+=($((t1 - t0)))
  t0=$(now_ms); "$devenv" status >/dev/null || true; t1=$(now_ms); dev_status+=($((t1 - t0)))
  "$devenv" down --volumes --yes -q >/dev/null

  t0=$(now_ms); "${compose[@]}" up -d >/dev/null 2>&1; wait_answers "$pg_port" "$redis_port"; t1=$(now_ms)
  dc_cold+=($((t1 - t0)))
  t0=$(now_ms); "${compose[@]}" up -d >/dev/null 2>&1; t1=$(now_ms); dc_warm+=($((t1 - t0)))
  "${compose[@]}" down -v >/dev/null 2>&1
  echo "run $i: devenv cold ${dev_cold[-1]} warm ${dev_warm[-1]} status ${dev_status[-1]} | docker-compose cold ${dc_cold[-1]} warm ${dc_warm[-1]} (ms)"
done

m() { printf '%s\n' "$@" | median; }
dc=$(m "${dev_cold[@]}"); dw=$(m "${dev_warm[@]}"); ds=$(m "${dev_status[@]}")
cc=$(m "${dc_cold[@]}"); cw=$(m "${dc_warm[@]}")
echo
echo "medians of $runs runs (ms):"
printf '  %-28s %6s   %s\n' "devenv up, cold" "$dc" "docker-compose up -d, cold: $cc"
printf '  %-28s %6s   %s\n' "devenv up, warm" "$dw" "docker-compose up -d, warm: $cw"
printf '  %-28s %6s\n' "devenv status" "$ds"
awk -v a="$dc" -v b="$cc" -v c="$dw" -v d="$cw" 'BEGIN {
  printf "ratios: cold %.2fx of docker-compose (target <= 0.60), warm %.2fx (target <= 0.15)\n", a / b, c / d }'
echo "status target: <= 50 ms"
