#!/usr/bin/env bash
# Measures how `devenv up` scales from 2 services to 12, images present
# (tests/images/build.sh builds the fixtures, the scale set included):
#   2 services   the example (PostgreSQL + Redis), cold, fresh volumes
#   12 services  catalog entries: postgres, mysql, mariadb, redis (twice), mongodb, rabbitmq,
#                nats, redpanda, memcached, minio, mailpit; cold, fresh volumes; then warm
#                `up` (nothing to change) and `status`
# Cold times are medians of RUNS runs (default 3), until `up` returns (every service answers
# its probe). Prints the ratio of 12 to 2 services and the median phase breakdown of both
# (`up --timings --json`): what the 10 extra services add, and which one is ready last.
# devenv runs with --no-cache where it has that flag. Needs python3. Uses a release build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
runs=${RUNS:-3}
((runs >= 1)) || { echo "RUNS must be 1 or more" >&2; exit 2; }

build_devenv
bench="$PWD/bench"
work=$(mktemp -d)
use_fixture_images "$work" \
  postgres:16=devenv-fixture/postgres:16 redis:7=devenv-fixture/redis:7 \
  mariadb:11=devenv-fixture/mariadb:11 mysql:8.4=devenv-fixture/mysql:8.4 \
  memcached:1.6=devenv-fixture/memcached:1.6 \
  rabbitmq:3-management=devenv-fixture/rabbitmq:3-management \
  nats:2=devenv-fixture/nats:2 mongo:7=devenv-fixture/mongo:7 \
  redpandadata/redpanda:v24.2.7=devenv-fixture/redpanda:v24.2.7 \
  minio/minio:latest=devenv-fixture/minio:latest \
  axllent/mailpit:v1.21=devenv-fixture/mailpit:v1.21
for image in $(sed -n 's/^".*" = "\(.*\)"$/\1/p' "$XDG_CONFIG_HOME/devenv/config.toml"); do
  docker image inspect "$image" >/dev/null 2>&1 ||
    { echo "missing fixture image $image: run tests/images/build.sh" >&2; exit 1; }
done
no_cache=()
if has_flag --no-cache up; then
  no_cache=(--no-cache)
else
  echo "note: devenv up has no --no-cache flag (no cache to turn off): measuring plain up"
fi

p=devenvscale$$
mkdir -p "$work/two" "$work/twelve"
# The example's services (PostgreSQL + Redis): its apps, below their heading, are not measured.
sed -e "s/name = \"shop\"/name = \"${p}two\"/" -e "/^# --- The shop's own apps/,\$d" \
  examples/shop/devenv.toml >"$work/two/devenv.toml"
# Two services of one kind may not share a default host port: the second MySQL-like and the
# second Redis get a fixed free one.
{
  printf '[project]\nname = "%s"\n' "${p}twelve"
  for pair in db=postgres mysql=mysql mariadb=mariadb cache=redis sessions=redis \
    mongo=mongodb rabbit=rabbitmq nats=nats redpanda=redpanda memcached=memcached \
    minio=minio mail=mailpit; do
    printf '\n[services.%s]\nuse = "%s"\n' "${pair%%=*}" "${pair#*=}"
    case ${pair%%=*} in
      mariadb) printf 'ports = ["%s:3306"]\n' "$(free_port)" ;;
      sessions) printf 'ports = ["%s:6379"]\n' "$(free_port)" ;;
    esac
  done
} >"$work/twelve/devenv.toml"
dv() { # STACK ARGS...
  local s=$1
  shift
  "$devenv" -C "$work/$s" "$@"
}
# .env with free host ports and generated secrets, kept across runs.
for s in two twelve; do dv "$s" env init -q >/dev/null; done
trap 'for s in two twelve; do dv "$s" down --volumes --yes -q >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT

declare -a two twelve warm status
for i in $(seq 1 "$runs"); do
  t0=$(now_ms); dv two up --timings --json "${no_cache[@]}" >>"$work/two.timings"; two+=($(($(now_ms) - t0)))
  dv two down --volumes --yes -q >/dev/null
  t0=$(now_ms); dv twelve up --timings --json "${no_cache[@]}" >>"$work/twelve.timings"; twelve+=($(($(now_ms) - t0)))
  t0=$(now_ms); dv twelve up -q >/dev/null; warm+=($(($(now_ms) - t0)))
  t0=$(now_ms); dv twelve status >/dev/null || true; status+=($(($(now_ms) - t0)))
  dv twelve down --volumes --yes -q >/dev/null
  echo "run $i: cold 2 services ${two[-1]} | 12 services cold ${twelve[-1]} warm ${warm[-1]} status ${status[-1]} (ms)"
done

c2=$(m "${two[@]}")
c12=$(m "${twelve[@]}")
echo
echo "medians of $runs runs (ms); devenv ${no_cache[*]:-(no --no-cache flag)}:"
printf '  %-34s %7s ms\n' "devenv up, cold, 2 services" "$c2"
printf '  %-34s %7s ms  %s of 2 services (target <= 1.50x)\n' "devenv up, cold, 12 services" "$c12" "$(ratio "$c12" "$c2")"
printf '  %-34s %7s ms  (target < 100 ms)\n' "devenv up, warm, 12 services" "$(m "${warm[@]}")"
printf '  %-34s %7s ms  (target < 100 ms)\n' "devenv status, 12 services" "$(m "${status[@]}")"
echo
echo "devenv up --timings, cold (medians of $runs runs):"
python3 "$bench/timings.py" "2 services=$work/two.timings" "12 services=$work/twelve.timings"
