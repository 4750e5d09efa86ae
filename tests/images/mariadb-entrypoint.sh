#!/bin/bash
# Entrypoint of devenv-fixture/mariadb:11, a look-alike of the official
# mariadb image's docker-entrypoint.sh (the parts devenv relies on).
# No -u: init scripts are sourced, as in the official image.
set -Eeo pipefail

# `docker run IMAGE --foo` passes options to mariadbd; other commands run as given.
if [[ ${1:-} == -* ]]; then set -- mariadbd "$@"; fi
if [[ ${1:-} != mariadbd && ${1:-} != mysqld ]]; then exec "$@"; fi

datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock

# As root: own the data and socket directories, then re-run as mysql.
if [[ $(id -u) == 0 ]]; then
  mkdir -p "$datadir" /run/mysqld
  find "$datadir" /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' +
  exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# MARIADB_* wins over MYSQL_*, as in the official image.
root_password="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
allow_empty="${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
random_root="${MARIADB_RANDOM_ROOT_PASSWORD:-${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
root_host="${MARIADB_ROOT_HOST:-${MYSQL_ROOT_HOST:-%}}"
database="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"
user="${MARIADB_USER:-${MYSQL_USER:-}}"
password="${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}"

# SQL string and identifier quoting.
sql_str() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
# shellcheck disable=SC2016 # backquotes are literal
sql_id() { printf '`%s`' "${1//\`/\`\`}"; }

# First start on an empty data directory.
if [[ ! -d $datadir/mysql ]]; then
  if [[ -z $root_password && -z $allow_empty && -z $random_root ]]; then
    cat >&2 <<'EOF'
error: Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD
EOF
    exit 1
  fi
  if [[ $user == root ]]; then
    echo 'error: MARIADB_USER="root", MARIADB_USER and MARIADB_PASSWORD are for configuring a regular user and cannot be used for the root user' >&2
    exit 1
  fi
  if [[ -n $random_root ]]; then
    root_password=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)
    echo "GENERATED ROOT PASSWORD: $root_password"
  fi

  echo "Initializing database files"
  mariadb-install-db --datadir="$datadir" --rpm --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --default-time-zone=SYSTEM --enforce-storage-engine= \
    --skip-log-bin --expire-logs-days=0 \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 >/dev/null
  echo "Database files initialized"

  # Temporary server on the Unix socket only.
  "$@" --skip-networking --default-time-zone=SYSTEM --socket="$socket" --wsrep_on=OFF \
    --skip-log-bin --expire-logs-days=0 --loose-innodb_buffer_pool_load_at_startup=0 &
  pid=$!
  for _ in $(seq 300); do
    if mariadb-admin --socket="$socket" -uroot --silent ping >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { echo "error: temporary server failed to start" >&2; exit 1; }
    sleep 0.1
  done
  mariadb-admin --socket="$socket" -uroot --silent ping >/dev/null || { echo "error: temporary server did not come up" >&2; exit 1; }

  rootpw=$(sql_str "$root_password")
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
    # Only root@localhost (+ root@ROOT_HOST) remain, with the chosen password.
    echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
    # shellcheck disable=SC2028 # the backslashes are for SQL
    echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname,'\\'');"
    echo "DELETE FROM mysql.global_priv WHERE User = '';"
    echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD($rootpw);"
    if [[ $root_host != localhost ]]; then
      echo "CREATE USER 'root'@$(sql_str "$root_host") IDENTIFIED BY $rootpw;"
      echo "GRANT ALL ON *.* TO 'root'@$(sql_str "$root_host") WITH GRANT OPTION;"
      echo "GRANT PROXY ON ''@'%' TO 'root'@$(sql_str "$root_host") WITH GRANT OPTION;"
    fi
    if [[ -n $database ]]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_id "$database");"
    fi
    if [[ -n $user ]]; then
      echo "CREATE USER $(sql_str "$user")@'%' IDENTIFIED BY $(sql_str "$password");"
      if [[ -n $database ]]; then
        echo "GRANT ALL ON $(sql_id "$database").* TO $(sql_str "$user")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --protocol=socket --socket="$socket" -uroot --batch

  # Init scripts, with root's credentials (as in the official image).
  mysql=(mariadb --protocol=socket --socket="$socket" -uroot --password="$root_password")
  [[ -z $database ]] || mysql+=("$database")
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh)
        # shellcheck disable=SC1090
        if [[ -x $f ]]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
      *.sql) echo "running $f"; "${mysql[@]}" <"$f" ;;
      *.sql.gz) echo "running $f"; gzip -dc "$f" | "${mysql[@]}" ;;
      *) echo "ignoring $f" ;;
    esac
  done
  shopt -u nullglob

  kill -TERM "$pid"
  wait "$pid" || true
  echo "MariaDB init process done. Ready for start up."
fi

# PID 1, so docker stop (SIGTERM) reaches mariadbd directly.
exec "$@"
