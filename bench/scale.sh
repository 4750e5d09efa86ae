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
# Then what the machine allows: each of the 12 alone (a one-service stack, cold) with the CPU
# time its container used until ready (bench/cpu.py), and the lower bound on any tool's cold
# time for the 12 on this machine's cores: the slowest service alone, or the containers' CPU
# time over the cores, whichever is longer; and how busy the cores were (/proc/stat) while
# devenv brought the 12 up, the engine's own work included.
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
# The project name of the stack in $work/STACK (`solo-db` → `${p}solodb`).
project_of() { printf '%s%s' "$p" "${1//-/}"; }
services=(db=postgres mysql=mysql mariadb=mariadb cache=redis sessions=redis mongo=mongodb
  rabbit=rabbitmq nats=nats redpanda=redpanda memcached=memcached minio=minio mail=mailpit)
# The example's services (PostgreSQL + Redis): its apps, below their heading, are not measured.
sed -e "s/name = \"shop\"/name = \"$(project_of two)\"/" -e "/^# --- The shop's own apps/,\$d" \
  examples/shop/devenv.toml >"$work/two/devenv.toml"
# Two services of one kind may not share a default host port: the second MySQL-like and the
# second Redis get a fixed free one.
service_toml() { # NAME=ENTRY
  printf '\n[services.%s]\nuse = "%s"\n' "${1%%=*}" "${1#*=}"
  case ${1%%=*} in
    mariadb) printf 'ports = ["%s:3306"]\n' "$(free_port)" ;;
    sessions) printf 'ports = ["%s:6379"]\n' "$(free_port)" ;;
  esac
}
{
  printf '[project]\nname = "%s"\n' "$(project_of twelve)"
  for pair in "${services[@]}"; do service_toml "$pair"; done
} >"$work/twelve/devenv.toml"
# Each service alone, for what the machine allows.
stacks=(two twelve)
for pair in "${services[@]}"; do
  mkdir -p "$work/solo-${pair%%=*}"
  { printf '[project]\nname = "%s"\n' "$(project_of "solo-${pair%%=*}")"; service_toml "$pair"; } \
    >"$work/solo-${pair%%=*}/devenv.toml"
  stacks+=("solo-${pair%%=*}")
done
dv() { # STACK ARGS...
  local s=$1
  shift
  "$devenv" -C "$work/$s" "$@"
}
# .env with free host ports and generated secrets, kept across runs.
for s in "${stacks[@]}"; do dv "$s" env init -q >/dev/null; done
trap 'for s in "${stacks[@]}"; do dv "$s" down --volumes --yes -q >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
# CPU seconds the containers of STACK used so far.
cpu_total() { python3 "$bench/cpu.py" "$(project_of "$1")" | sed -n 's/^total //p'; }
# The lower median of decimal numbers (one of them, so no rounding).
lower_median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# The machine's busy CPU time so far, in clock ticks (Linux /proc/stat: all but idle and iowait).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

declare -a two twelve twelve_cpu twelve_busy warm status
declare -A solo solo_cpu
for i in $(seq 1 "$runs"); do
  t0=$(now_ms); dv two up --timings --json "${no_cache[@]}" >>"$work/two.timings"; two+=($(($(now_ms) - t0)))
  dv two down --volumes --yes -q >/dev/null
  b0=$(busy_ticks)
  t0=$(now_ms); dv twelve up --timings --json "${no_cache[@]}" >>"$work/twelve.timings"; twelve+=($(($(now_ms) - t0)))
  # How busy the machine was meanwhile: the engine's own work (starting containers, the
  # storage driver, the port proxies) is not in the containers' CPU time.
  twelve_busy+=("$(awk -v t=$(($(busy_ticks) - b0)) -v hz="$(getconf CLK_TCK)" -v ms="${twelve[-1]}" -v n="$(nproc)" \
    'BEGIN { printf "%d", 100 * t / hz / (n * ms / 1000) }')")
  twelve_cpu+=("$(cpu_total twelve)")
  t0=$(now_ms); dv twelve up -q >/dev/null; warm+=($(($(now_ms) - t0)))
  t0=$(now_ms); dv twelve status >/dev/null || true; status+=($(($(now_ms) - t0)))
  dv twelve down --volumes --yes -q >/dev/null
  alone=""
  for pair in "${services[@]}"; do
    s=solo-${pair%%=*}
    t0=$(now_ms); dv "$s" up -q "${no_cache[@]}" >/dev/null; solo[$s]+=" $(($(now_ms) - t0))"
    solo_cpu[$s]+=" $(cpu_total "$s")"
    dv "$s" down --volumes --yes -q >/dev/null
    alone+=" ${pair%%=*} ${solo[$s]##* }"
  done
  echo "run $i: cold 2 services ${two[-1]} | 12 services cold ${twelve[-1]} (CPU ${twelve_cpu[-1]} s, machine ${twelve_busy[-1]}% busy) warm ${warm[-1]} status ${status[-1]} | alone:$alone (ms)"
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

# What the machine allows: no tool can be ready sooner than its slowest service alone, nor
# before the containers got the CPU time they need (here: over all cores, perfectly shared).
cores=$(nproc)
echo
echo "each service alone, cold (medians of $runs runs; CPU: its container's until ready):"
printf '  %-10s %8s %8s\n' service ms CPU-s
slowest=0 slowest_name="" cpu_sum=0
for pair in "${services[@]}"; do
  s=solo-${pair%%=*}
  # shellcheck disable=SC2086 # the lists are space-separated on purpose
  ms=$(m ${solo[$s]}) cpu=$(lower_median ${solo_cpu[$s]})
  printf '  %-10s %8s %8s\n' "${pair%%=*}" "$ms" "$cpu"
  ((ms > slowest)) && slowest=$ms slowest_name=${pair%%=*}
  cpu_sum=$(awk -v a="$cpu_sum" -v b="$cpu" 'BEGIN { print a + b }')
done
c12_cpu=$(lower_median "${twelve_cpu[@]}")
by_cpu=$(awk -v c="$cpu_sum" -v n="$cores" 'BEGIN { printf "%d", c * 1000 / n }')
bound=$((slowest > by_cpu ? slowest : by_cpu))
printf '  %-34s %7s ms  (%s)\n' "slowest alone" "$slowest" "$slowest_name"
printf '  %-34s %7s ms  (%s CPU-s alone, %s CPU-s in the 12-service run, over %s cores)\n' \
  "CPU time over the cores" "$by_cpu" "$cpu_sum" "$c12_cpu" "$cores"
printf '  %-34s %7s ms  devenv cold 12 services: %s of it\n' "lower bound, any tool" "$bound" "$(ratio "$c12" "$bound")"
printf '  %-34s %7s %%   (median; the cores were this busy while devenv brought the 12 up)\n' \
  "machine busy during 12 cold" "$(m "${twelve_busy[@]}")"
target=$((c2 * 3 / 2))
if ((bound > target)); then
  echo "  the 1.5x target ($target ms) is below that bound: no tool can meet it on this machine"
else
  echo "  the 1.5x target ($target ms) is above that bound"
fi
