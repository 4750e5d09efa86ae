#!/usr/bin/env bash
# Times `devenv migrate` applying 200 small migrations to a fresh PostgreSQL (the fixture
# image), then a second `devenv migrate` with nothing pending. Medians of RUNS runs (default 3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-3}
# shellcheck source=bench/lib.sh
. bench/lib.sh
build_devenv
work=$(mktemp -d)
use_fixture_images "$work" postgres:16=devenv-fixture/postgres:16
mkdir -p "$work/stack/migrations" "$work/stack/seeds"
postgres_stack devenvmigbench database >"$work/stack/devenv.toml"
for i in $(seq 1 200); do
  printf 'CREATE TABLE t%04d (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX t%04d_name ON t%04d (name);\n' "$i" "$i" "$i" \
    >"$work/stack/migrations/$(printf '%04d' "$i")_table_$i.sql"
done
cd "$work/stack"
trap '"$devenv" down --volumes --yes -q >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cold=() warm=()
for i in $(seq 1 "$runs"); do
  "$devenv" up -q --no-migrate --no-cache >/dev/null
  t0=$(now_ms); "$devenv" migrate -q; t1=$(now_ms); cold+=($((t1 - t0)))
  t0=$(now_ms); "$devenv" migrate -q; t1=$(now_ms); warm+=($((t1 - t0)))
  echo "run $i: 200 migrations ${cold[-1]} ms, nothing pending ${warm[-1]} ms"
  "$devenv" down --volumes --yes -q >/dev/null
done
echo "medians of $runs runs: apply 200 migrations $(printf '%s\n' "${cold[@]}" | median) ms; nothing pending $(printf '%s\n' "${warm[@]}" | median) ms"
