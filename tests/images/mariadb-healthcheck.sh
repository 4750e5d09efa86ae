#!/bin/bash
# /usr/local/bin/healthcheck.sh in devenv-fixture/mariadb:11, a stand-in for
# the official image's script so `healthcheck.sh --connect --innodb_initialized`
# works. Every test is answered by one check: mariadbd accepts TCP connections
# on 127.0.0.1 (it does so only once InnoDB is up, and the temporary server of
# the first start does not listen on TCP). `ping` succeeds even when access is
# denied, so no credentials are needed.
set -eo pipefail

port=3306
for arg in "$@"; do
  case $arg in
    --port=*) port=${arg#--port=} ;;
  esac
done
exec mariadb-admin --protocol=tcp --host=127.0.0.1 --port="$port" --connect-timeout=2 --silent ping >/dev/null
