#!/usr/bin/env bash
# Times `devenv migrate` applying 200 small migrations to a fresh PostgreSQL (the fixture
# image), then a second `devenv migrate` with nothing pending. Medians of RUNS runs (default 3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-3}
cargo build --release --quiet
devenv="$PWD/target/release/devenv"
work=$(mktemp -d)
export XDG_CONFIG_HOME="$work/config"
mkdir -p "$XDG_CONFIG_HOME/devenv" "$work/stack/migrations"
printf '[images]\n"postgres:16" = "devenv-fixture/postgres:16"\n' >"$XDG_CONFIG_HOME/devenv/config.toml"
cat >"$work/stack/devenv.toml" <<'TOML'
[project]
name = "devenvmigbench"
[services.db]
use = "postgres"
env = { POSTGRES_USER = "bench", POSTGRES_PASSWORD = "${DB_PASSWORD}", POSTGRES_DB = "bench" }
[env.DB_PASSWORD]
secret = true
[env.DATABASE_URL]
value = "postgres://bench:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/bench"
[database]
service = "db"
url = "${DATABASE_URL}"
migrations = "migrations"
TOML
for i in $(seq 1 200); do
  printf 'CREATE TABLE t%04d (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX t%04d_name ON t%04d (name);\n' "$i" "$i" "$i" \
    >"$work/stack/migrations/$(printf '%04d' "$i")_table_$i.sql"
done
cd "$work/stack"
trap '"$devenv" down --volumes --yes -q >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
cold=() warm=()
for i in $(seq 1 "$runs"); do
  "$devenv" up -q --no-migrate >/dev/null
  t0=$(now_ms); "$devenv" migrate -q; t1=$(now_ms); cold+=($((t1 - t0)))
  t0=$(now_ms); "$devenv" migrate -q; t1=$(now_ms); warm+=($((t1 - t0)))
  echo "run $i: 200 migrations ${cold[-1]} ms, nothing pending ${warm[-1]} ms"
  "$devenv" down --volumes --yes -q >/dev/null
done
echo "medians of $runs runs: apply 200 migrations $(printf '%s\n' "${cold[@]}" | median) ms; nothing pending $(printf '%s\n' "${warm[@]}" | median) ms"
