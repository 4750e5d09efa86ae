#!/usr/bin/env bash
# Measures devenv against the floor, in one run, images present (tests/images/build.sh):
#   floor            bare `docker run -d` of the PostgreSQL fixture with a named volume,
#                    until psql logs in
#   devenv up, cold  fresh volumes, until psql logs in (and Redis answers): on a
#                    PostgreSQL-only stack and on the example (PostgreSQL + Redis)
#   docker-compose   1.29 `up -d`, cold, on the same two stacks
#   devenv up, warm  nothing to change (the example), and `devenv status`
#   devenv db reset  on PostgreSQL with MIGRATIONS migrations (default 40) and SEED_ROWS
#                    seed rows (default 5000)
# Prints the medians of RUNS runs (default 5), each with its ratio to the floor, and the
# median phase breakdown of devenv's cold `up` (`up --timings --json`). devenv runs with
# --no-cache where it has that flag (a seeded-volume cache would skip initdb). Needs psql,
# docker-compose and python3. Uses a release build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
runs=${RUNS:-5}
migrations=${MIGRATIONS:-40}
seed_rows=${SEED_ROWS:-5000}
((runs >= 1)) || { echo "RUNS must be 1 or more" >&2; exit 2; }

build_devenv
bench="$PWD/bench"
work=$(mktemp -d)
use_fixture_images "$work" postgres:16=devenv-fixture/postgres:16 redis:7=devenv-fixture/redis:7
password=benchpassword
no_cache=()
if has_flag --no-cache up; then
  no_cache=(--no-cache)
else
  echo "note: devenv up has no --no-cache flag (no cache to turn off): measuring plain up"
fi

# --- the stacks --------------------------------------------------------------
# pg: PostgreSQL only; shop: the example; reset: PostgreSQL with migrations and seed rows.
p=devenvbench$$
mkdir -p "$work/pg" "$work/shop" "$work/reset/migrations" "$work/reset/seeds"
postgres_stack "${p}pg" >"$work/pg/devenv.toml"
# The example's services (PostgreSQL + Redis): its apps, below their heading, are not measured.
sed -e "s/name = \"shop\"/name = \"${p}shop\"/" -e "/^# --- The shop's own apps/,\$d" \
  examples/shop/devenv.toml >"$work/shop/devenv.toml"
postgres_stack "${p}reset" database >"$work/reset/devenv.toml"
printf 'CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, price INT NOT NULL);\n' \
  >"$work/reset/migrations/0001_items.sql"
for i in $(seq 2 "$migrations"); do
  printf 'CREATE TABLE t%04d (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX t%04d_name ON t%04d (name);\n' \
    "$i" "$i" "$i" >"$work/reset/migrations/$(printf '%04d' "$i")_table_$i.sql"
done
awk -v n="$seed_rows" 'BEGIN {
  for (i = 1; i <= n; i++) {
    if ((i - 1) % 500 == 0) printf "%sINSERT INTO items (id, name, price) VALUES\n", (i > 1 ? ";\n" : "")
    else printf ",\n"
    printf "(%d, '\''item %d'\'', %d)", i, i, i % 97
  }
  if (n > 0) print ";"
}' >"$work/reset/seeds/01_items.sql"

ports() { # DIR VAR...
  local dir=$1 var
  shift
  : >"$dir/.env"
  for var in "$@"; do printf '%s=%s\n' "$var" "$(free_port)" >>"$dir/.env"; done
  printf 'DB_PASSWORD=%s\n' "$password" >>"$dir/.env"
}
ports "$work/pg" DB_PORT
ports "$work/shop" DB_PORT CACHE_PORT
ports "$work/reset" DB_PORT
port_of() { sed -n "s/^$2=//p" "$1/.env"; }
pg_port=$(port_of "$work/pg" DB_PORT)
shop_db=$(port_of "$work/shop" DB_PORT)
shop_cache=$(port_of "$work/shop" CACHE_PORT)
floor_port=$(free_port)

# docker-compose 1.29 predates `name:`; it gets -p, and the fixture images by name.
for s in pg shop; do
  (cd "$work/$s" && "$devenv" generate -q)
  grep -v '^name:' "$work/$s/docker-compose.yml" |
    sed 's#image: postgres:16#image: devenv-fixture/postgres:16#; s#image: redis:7#image: devenv-fixture/redis:7#' \
      >"$work/$s/compose-1.29.yml"
done
compose() { # STACK ARGS...
  local s=$1
  shift
  docker-compose -f "$work/$s/compose-1.29.yml" -p "${p}${s}c" --env-file "$work/$s/.env" "$@"
}
dv() { # STACK ARGS...
  local s=$1
  shift
  "$devenv" -C "$work/$s" "$@"
}
floor_down() { docker rm -f "${p}floor" >/dev/null 2>&1 || true; docker volume rm "${p}floor-data" >/dev/null 2>&1 || true; }
cleanup() {
  for s in pg shop reset; do dv "$s" down --volumes --yes -q >/dev/null 2>&1 || true; done
  for s in pg shop; do compose "$s" down -v >/dev/null 2>&1 || true; done
  floor_down
}
trap 'cleanup; rm -rf "$work"' EXIT

# --- the runs ----------------------------------------------------------------
declare -a floor pg_cold shop_cold warm status dc_pg dc_shop reset
dv reset up -q "${no_cache[@]}" >/dev/null
for i in $(seq 1 "$runs"); do
  t0=$(now_ms)
  docker run -d --name "${p}floor" -v "${p}floor-data:/var/lib/postgresql/data" \
    -e POSTGRES_USER=shop -e POSTGRES_PASSWORD="$password" -e POSTGRES_DB=shop \
    -p "127.0.0.1:$floor_port:5432" devenv-fixture/postgres:16 >/dev/null
  wait_psql "$floor_port" shop shop "$password"
  floor+=($(($(now_ms) - t0)))
  floor_down

  t0=$(now_ms)
  dv pg up --timings --json "${no_cache[@]}" >>"$work/pg.timings"
  wait_psql "$pg_port" shop shop "$password"
  pg_cold+=($(($(now_ms) - t0)))
  dv pg down --volumes --yes -q >/dev/null

  t0=$(now_ms)
  dv shop up --timings --json "${no_cache[@]}" >>"$work/shop.timings"
  wait_psql "$shop_db" shop shop "$password"
  wait_redis "$shop_cache"
  shop_cold+=($(($(now_ms) - t0)))
  t0=$(now_ms); dv shop up -q >/dev/null; warm+=($(($(now_ms) - t0)))
  t0=$(now_ms); dv shop status >/dev/null || true; status+=($(($(now_ms) - t0)))
  dv shop down --volumes --yes -q >/dev/null

  t0=$(now_ms)
  compose pg up -d >/dev/null 2>&1
  wait_psql "$pg_port" shop shop "$password"
  dc_pg+=($(($(now_ms) - t0)))
  compose pg down -v >/dev/null 2>&1

  t0=$(now_ms)
  compose shop up -d >/dev/null 2>&1
  wait_psql "$shop_db" shop shop "$password"
  wait_redis "$shop_cache"
  dc_shop+=($(($(now_ms) - t0)))
  compose shop down -v >/dev/null 2>&1

  t0=$(now_ms); dv reset db reset --yes -q >/dev/null; reset+=($(($(now_ms) - t0)))
  echo "run $i: floor ${floor[-1]} | devenv cold pg ${pg_cold[-1]} shop ${shop_cold[-1]} warm ${warm[-1]} status ${status[-1]} | compose cold pg ${dc_pg[-1]} shop ${dc_shop[-1]} | db reset ${reset[-1]} (ms)"
done

# --- the report --------------------------------------------------------------
f=$(m "${floor[@]}")
row() { printf '  %-46s %7s ms  %6s of the floor\n' "$1" "$2" "$(ratio "$2" "$f")"; }
echo
echo "medians of $runs runs (ms); devenv ${no_cache[*]:-(no --no-cache flag)}:"
printf '  %-46s %7s ms\n' "floor: docker run + named volume until psql login" "$f"
row "devenv up, cold, PostgreSQL" "$(m "${pg_cold[@]}")"
row "devenv up, cold, PostgreSQL + Redis (example)" "$(m "${shop_cold[@]}")"
row "docker-compose up -d, cold, PostgreSQL" "$(m "${dc_pg[@]}")"
row "docker-compose up -d, cold, PostgreSQL + Redis" "$(m "${dc_shop[@]}")"
row "devenv up, warm (example)" "$(m "${warm[@]}")"
row "devenv status (example)" "$(m "${status[@]}")"
row "devenv db reset ($migrations migrations, $seed_rows rows)" "$(m "${reset[@]}")"
echo "target: cold devenv up <= 1.15x of the floor"
echo
echo "devenv up --timings, cold (medians of $runs runs):"
python3 "$bench/timings.py" "PostgreSQL=$work/pg.timings" "example=$work/shop.timings"
