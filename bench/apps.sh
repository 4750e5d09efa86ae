#!/usr/bin/env bash
# Measures the example project's apps (examples/shop, copied to a temporary directory, the api's
# virtualenv made once before timing):
#   cold  `devenv up` after `down --volumes --yes`: containers and volumes created, migrations
#         and seeds applied, apps started
#   warm  `devenv up` with the containers running and the apps stopped (their supervisors sent
#         SIGTERM, as `down` does): only the apps start
# each until the api's GET /health says "ok" (polled while `up` runs; `up` itself returns once
# the web app is ready too, also shown), beside the same by hand: `docker run` of the same
# images, psql for the migration and seed, the api started from its venv, /health polled.
# Then the supervisors' CPU use on the idle stack: utime + stime of each `devenv supervise`
# from /proc/<pid>/stat over IDLE_SECONDS (default 10).
# Prints medians of RUNS runs (default 5). Needs the fixture images (tests/images/build.sh),
# psql, curl, python3 with venv, Node 20.6+ and PyPI (the venv). Uses a release build, or the
# binary named by DEVENV.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-5}
idle_seconds=${IDLE_SECONDS:-10}

# shellcheck source=bench/lib.sh
. bench/lib.sh
if [[ -z ${DEVENV:-} ]]; then
  build_devenv
else
  devenv=$(realpath "$DEVENV")
fi
work=$(mktemp -d)
use_fixture_images "$work" postgres:16=devenv-fixture/postgres:16 redis:7=devenv-fixture/redis:7
project=devenvbenchapps
hand=devenvbenchhand
mkdir "$work/shop"
tar -C examples/shop --exclude=.venv --exclude=__pycache__ --exclude=.env --exclude=.env.local \
  --exclude=.devenv -cf - . | tar -C "$work/shop" -xf -
sed -i "s/name = \"shop\"/name = \"$project\"/" "$work/shop/devenv.toml"
cd "$work/shop"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg=$(free_port) redis=$(free_port) api=$(free_port) web=$(free_port)
hand_pg=$(free_port) hand_redis=$(free_port) hand_api=$(free_port)
printf 'DB_PORT=%s\nCACHE_PORT=%s\nAPI_PORT=%s\nWEB_PORT=%s\nDB_PASSWORD=benchpassword\n' \
  "$pg" "$redis" "$api" "$web" >.env

now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
health_ok() { curl -fsS --max-time 1 "http://127.0.0.1:$1/health" 2>/dev/null | grep -q '"status": "ok"'; }
supervisors() { # pids of the apps' supervisors, from their state files
  python3 -c 'import json, pathlib
for f in sorted(pathlib.Path(".devenv/apps").glob("*.json")):
    print(json.loads(f.read_text())["supervisor"]["pid"])'
}

# `devenv up` in the background: sets up_health (ms until /health is ok) and up_done (until
# `up` returned).
timed_up() {
  local t0 pid
  t0=$(now_ms)
  "$devenv" up -q >/dev/null 2>"$work/up.err" &
  pid=$!
  until health_ok "$api"; do
    if ! kill -0 "$pid" 2>/dev/null && ! health_ok "$api"; then
      wait "$pid" || { echo "devenv up failed:" >&2; cat "$work/up.err" >&2; exit 1; }
    fi
    sleep 0.02
  done
  up_health=$(($(now_ms) - t0))
  wait "$pid" || { echo "devenv up failed:" >&2; cat "$work/up.err" >&2; exit 1; }
  up_done=$(($(now_ms) - t0))
}

# Stops the apps only: SIGTERM to each supervisor (it stops its app's tree and removes its
# state), then waits until the state files are gone.
stop_apps() {
  local pid
  for pid in $(supervisors); do kill -TERM "$pid"; done
  while compgen -G ".devenv/apps/*.json" >/dev/null; do sleep 0.02; done
}

hand_api_pid=""
hand_url="postgres://shop:benchpassword@127.0.0.1:$hand_pg/shop"
# The api started by hand from its venv, as devenv would start it; sets hand_api_pid.
hand_start_api() {
  (cd api && DATABASE_URL=$hand_url REDIS_URL="redis://127.0.0.1:$hand_redis/0" PORT=$hand_api \
    exec .venv/bin/python app.py >>"$work/hand-api.log" 2>&1) &
  hand_api_pid=$!
  until health_ok "$hand_api"; do sleep 0.02; done
}
hand_stop_api() {
  [[ -n $hand_api_pid ]] && kill "$hand_api_pid" 2>/dev/null && wait "$hand_api_pid" 2>/dev/null || true
  hand_api_pid=""
}
# The services by hand: the same images, ports on 127.0.0.1, named volumes; then the
# migration and the seed with psql, as devenv applies them.
hand_services() {
  docker run -d --name "$hand-db" -e POSTGRES_USER=shop -e POSTGRES_PASSWORD=benchpassword \
    -e POSTGRES_DB=shop -p "127.0.0.1:$hand_pg:5432" -v "$hand-db-data:/var/lib/postgresql/data" \
    devenv-fixture/postgres:16 >/dev/null
  docker run -d --name "$hand-cache" -p "127.0.0.1:$hand_redis:6379" -v "$hand-cache-data:/data" \
    devenv-fixture/redis:7 >/dev/null
  until PGCONNECT_TIMEOUT=1 psql "$hand_url" -tAc 'select 1' >/dev/null 2>&1; do sleep 0.02; done
  for sql in migrations/*.sql seeds/*.sql; do psql "$hand_url" -q -v ON_ERROR_STOP=1 -f "$sql" >/dev/null; done
}
hand_down() {
  hand_stop_api
  docker rm -f -v "$hand-db" "$hand-cache" >/dev/null 2>&1 || true
  docker volume rm "$hand-db-data" "$hand-cache-data" >/dev/null 2>&1 || true
}
cleanup() {
  hand_down
  "$devenv" down --volumes --yes -q >/dev/null 2>&1 || true
}
trap 'cleanup; rm -rf "$work"' EXIT
cleanup

echo "preparing: first up (the api's venv from PyPI) ..."
"$devenv" up -q >/dev/null 2>"$work/up.err" || { cat "$work/up.err" >&2; exit 1; }
"$devenv" down --volumes --yes -q >/dev/null

declare -a cold_health cold_done warm_health warm_done hand_cold hand_warm
for i in $(seq 1 "$runs"); do
  timed_up
  cold_health+=("$up_health") cold_done+=("$up_done")
  stop_apps
  timed_up
  warm_health+=("$up_health") warm_done+=("$up_done")
  "$devenv" down --volumes --yes -q >/dev/null

  t0=$(now_ms); hand_services; hand_start_api; hand_cold+=($(($(now_ms) - t0)))
  hand_stop_api
  t0=$(now_ms); hand_start_api; hand_warm+=($(($(now_ms) - t0)))
  hand_down
  echo "run $i: devenv cold ${cold_health[-1]} (up ${cold_done[-1]}) warm ${warm_health[-1]} (up ${warm_done[-1]}) | by hand cold ${hand_cold[-1]} warm ${hand_warm[-1]} (ms)"
done

# The supervisors' CPU on the idle stack (everything running, nothing asked of it).
"$devenv" up -q >/dev/null
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
mapfile -t pids < <(supervisors)
declare -a before
for pid in "${pids[@]}"; do before+=("$(ticks "$pid")"); done
sleep "$idle_seconds"
cpu_lines=()
total=0
for n in "${!pids[@]}"; do
  used=$(($(ticks "${pids[$n]}") - before[n]))
  total=$((total + used))
  cpu_lines+=("$(awk -v t="$used" -v hz="$hz" -v s="$idle_seconds" -v p="${pids[$n]}" \
    'BEGIN { printf "supervisor pid %s: %d ticks, %.2f%% of one core", p, t, 100 * t / hz / s }')")
done
"$devenv" down --volumes --yes -q >/dev/null

m() { printf '%s\n' "$@" | median; }
echo
echo "medians of $runs runs (ms), until the api's /health says ok (in brackets: until \`up\` returned):"
printf '  %-52s %6s   [%s]\n' "devenv up, cold (fresh volumes, migrate, seed, apps)" "$(m "${cold_health[@]}")" "$(m "${cold_done[@]}")"
printf '  %-52s %6s   [%s]\n' "devenv up, warm (containers running, apps stopped)" "$(m "${warm_health[@]}")" "$(m "${warm_done[@]}")"
printf '  %-52s %6s\n' "by hand, cold (docker run, psql, api from its venv)" "$(m "${hand_cold[@]}")"
printf '  %-52s %6s\n' "by hand, warm (containers running, api started)" "$(m "${hand_warm[@]}")"
echo "supervisors' CPU on the idle stack over ${idle_seconds}s (clock ticks of ${hz} Hz):"
printf '  %s\n' "${cpu_lines[@]}"
awk -v t="$total" -v hz="$hz" -v s="$idle_seconds" \
  'BEGIN { printf "  all supervisors: %.2f%% of one core\n", 100 * t / hz / s }'
