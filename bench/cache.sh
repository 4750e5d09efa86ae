#!/usr/bin/env bash
# Measures the seeded-volume cache on a PostgreSQL stack with MIGRATIONS migrations (default
# 200) and SEED_ROWS seed rows (default 10000), images present, beside the floor, in one run:
#   floor        bare `docker run` of the PostgreSQL fixture with a named volume, until psql
#                logs in (initdb + start)
#   cold         `devenv up --no-cache` on a new volume (initdb, every migration, the seeds)
#   cache hit    `devenv up` on a new volume (its own password) with the snapshot built: from a
#                prepared copy (what `up` finds after a background build), and with no copy
#                left (the database's first start copies the snapshot)
#   db reset     `devenv db reset --no-cache` (drop, create, migrate, seed) and
#                `devenv db reset` from the reset template (after the first one saved it)
# Prints medians of RUNS runs (default 5) and the ratios to the floor. Needs the fixture images
# (tests/images/build.sh) and psql. Uses a release build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
runs=${RUNS:-5}
migrations=${MIGRATIONS:-200}
rows=${SEED_ROWS:-10000}

build_devenv
work=$(mktemp -d)
use_fixture_images "$work" postgres:16=devenv-fixture/postgres:16
export XDG_CACHE_HOME="$work/cache" DEVENV_CACHE_BUILD=never
unset DEVENV_NO_CACHE
project=devenvcachebench

make_checkout() { # DIR NAME
  mkdir -p "$1/migrations" "$1/seeds"
  postgres_stack "$2" database >"$1/devenv.toml"
  cp "$work/template/migrations/"* "$1/migrations/"
  cp "$work/template/seeds/"* "$1/seeds/"
}
mkdir -p "$work/template/migrations" "$work/template/seeds"
for i in $(seq 1 "$migrations"); do
  printf 'CREATE TABLE t%d (id int PRIMARY KEY, name text NOT NULL);\n' "$i" \
    >"$work/template/migrations/$(printf '%04d' "$i")_t$i.sql"
done
python3 -c "
import sys
rows = int(sys.argv[1])
print('INSERT INTO t1 SELECT g, %s FROM generate_series(1, %d) g;' % (\"'row ' || g\", rows))
" "$rows" >"$work/template/seeds/01_rows.sql"

cleanup() {
  docker rm -f "${project}-floor" >/dev/null 2>&1 || true
  docker volume rm "${project}-floor" >/dev/null 2>&1 || true
  for dir in "$work"/c*; do
    [[ -d $dir ]] && (cd "$dir" && "$devenv" down --volumes --yes -q >/dev/null 2>&1 || true)
  done
  # The snapshot and the prepared copies the bench's checkouts made.
  local volume
  for volume in $(docker volume ls -q --filter label=devenv.cache.project); do
    [[ $(docker volume inspect -f '{{ index .Labels "devenv.cache.project" }}' "$volume") == "$project"* ]] &&
      docker volume rm "$volume" >/dev/null 2>&1 || true
  done
}
trap 'cleanup; rm -rf "$work"' EXIT

# The snapshot every "cache hit" run starts from, built once.
make_checkout "$work/cseed" "${project}seed"
(cd "$work/cseed" && printf 'DB_PORT=%s\n' "$(free_port)" >.env && "$devenv" up -q --no-cache >/dev/null &&
  "$devenv" cache build -q >/dev/null && "$devenv" down --volumes --yes -q >/dev/null)

declare -a floor cold hit hit_copy reset_full reset_template reset_spare
for i in $(seq 1 "$runs"); do
  port=$(free_port)
  t0=$(now_ms)
  docker run -d --name "${project}-floor" -e POSTGRES_USER=shop -e POSTGRES_PASSWORD=floor \
    -e POSTGRES_DB=shop -p "127.0.0.1:$port:5432" -v "${project}-floor:/var/lib/postgresql/data" \
    devenv-fixture/postgres:16 >/dev/null
  wait_psql "$port" shop shop floor
  floor+=($(($(now_ms) - t0)))
  docker rm -f "${project}-floor" >/dev/null && docker volume rm "${project}-floor" >/dev/null

  dir="$work/c$i"
  make_checkout "$dir" "${project}$i"
  cd "$dir"
  printf 'DB_PORT=%s\n' "$(free_port)" >.env
  t0=$(now_ms); "$devenv" up -q --no-cache >/dev/null; cold+=($(($(now_ms) - t0)))
  t0=$(now_ms); "$devenv" db reset --yes --no-cache -q >/dev/null; reset_full+=($(($(now_ms) - t0)))
  "$devenv" db reset --yes -q >/dev/null # saves the template
  t0=$(now_ms); "$devenv" db reset --yes -q >/dev/null; reset_template+=($(($(now_ms) - t0)))
  "$devenv" cache spare -q >/dev/null # what the reset starts in the background
  t0=$(now_ms); "$devenv" db reset --yes -q >/dev/null; reset_spare+=($(($(now_ms) - t0)))
  "$devenv" down --volumes --yes -q >/dev/null
  "$devenv" cache build -q >/dev/null # what `up` starts in the background: a prepared copy
  t0=$(now_ms); "$devenv" up -q >/dev/null; hit+=($(($(now_ms) - t0)))
  "$devenv" down --volumes --yes -q >/dev/null
  t0=$(now_ms); "$devenv" up -q >/dev/null; hit_copy+=($(($(now_ms) - t0)))
  "$devenv" down --volumes --yes -q >/dev/null
  cd - >/dev/null
  echo "run $i: floor ${floor[-1]} cold ${cold[-1]} hit ${hit[-1]} hit-copying ${hit_copy[-1]} reset ${reset_full[-1]} reset-template ${reset_template[-1]} reset-spare ${reset_spare[-1]} (ms)"
done

f=$(m "${floor[@]}"); c=$(m "${cold[@]}"); h=$(m "${hit[@]}"); hc=$(m "${hit_copy[@]}")
r=$(m "${reset_full[@]}"); rt=$(m "${reset_template[@]}"); rs=$(m "${reset_spare[@]}")
echo
echo "medians of $runs runs, $migrations migrations, $rows seed rows (ms):"
printf '  %-44s %6s\n' "floor: docker run + volume until login" "$f"
awk -v f="$f" -v c="$c" -v h="$h" -v hc="$hc" -v r="$r" -v rt="$rt" -v rs="$rs" 'BEGIN {
  printf "  %-44s %6d   %.2fx floor\n", "devenv up, new volume, --no-cache", c, c / f
  printf "  %-44s %6d   %.2fx floor (target <= 0.50)\n", "devenv up, new volume, prepared copy", h, h / f
  printf "  %-44s %6d   %.2fx floor\n", "devenv up, new volume, copying the snapshot", hc, hc / f
  printf "  %-44s %6d\n", "devenv db reset --no-cache", r
  printf "  %-44s %6d\n", "devenv db reset from its template", rt
  printf "  %-44s %6d   (target < 300)\n", "devenv db reset from its spare copy", rs }'
