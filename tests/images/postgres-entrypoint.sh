#!/bin/bash
# Entrypoint of devenv-fixture/postgres:16, a look-alike of the official
# postgres image's docker-entrypoint.sh (the parts devenv relies on).
# No -u: init scripts are sourced, as in the official image.
set -Eeo pipefail

# `docker run IMAGE -c foo=bar` passes options to postgres; other commands run as given.
if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi
if [[ ${1:-} != postgres ]]; then exec "$@"; fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

# As root: own the data and socket directories, then re-run as postgres.
if [[ $(id -u) == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 700 "$PGDATA"
  chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# First start on an empty data directory: initdb, database, init scripts.
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [[ -z ${POSTGRES_PASSWORD:-} && $auth != trust ]]; then
    cat >&2 <<'EOF'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password)
EOF
    exit 1
  fi

  # Speed (ready ~1 s sooner): name the time zone /etc/localtime points to, so
  # initdb need not search for it, and skip initdb's final fsync (a fixture:
  # the files reach the disk from the page cache; only a host crash loses them).
  tz=$(readlink /etc/localtime || true)
  run_initdb() (
    if [[ -z ${TZ:-} && $tz == */zoneinfo/* ]]; then export TZ=${tz#*/zoneinfo/}; fi
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is word-split on purpose
    initdb --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=trust --no-sync "$@" ${POSTGRES_INITDB_ARGS:-}
  )
  if [[ -n ${POSTGRES_PASSWORD:-} ]]; then
    run_initdb --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
  else
    run_initdb
  fi

  # Listen everywhere; password logins from any host (e.g. through a published port).
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  if [[ $auth == md5 ]]; then echo "password_encryption = md5" >>"$PGDATA/postgresql.conf"; fi
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # Temporary server on the Unix socket only (fsync off, like initdb above).
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c fsync=off -p ${PGPORT:-5432}" -w start

  export PGPASSWORD="${POSTGRES_PASSWORD:-}"
  psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<'EOF'
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
EOF

  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh)
        # shellcheck disable=SC1090
        if [[ -x $f ]]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
      *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "running $f"; gzip -dc "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
      *) echo "ignoring $f" ;;
    esac
  done
  shopt -u nullglob
  unset PGPASSWORD

  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "PostgreSQL init process complete; ready for start up."
fi

# PID 1, so docker stop (SIGINT, see STOPSIGNAL) reaches postgres directly.
exec "$@"
