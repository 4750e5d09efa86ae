#!/bin/bash
# Entrypoint of devenv-fixture/redis:7, a look-alike of the official redis
# image's docker-entrypoint.sh: arguments pass through to redis-server.
set -eo pipefail

# `docker run IMAGE --appendonly yes` or `... /path/redis.conf` runs redis-server with them.
if [[ ${1:-} == -* || ${1:-} == *.conf ]]; then set -- redis-server "$@"; fi

# As root: own the working directory (/data), then re-run as redis.
if [[ ${1:-} == redis-server && $(id -u) == 0 ]]; then
  find . \! -user redis -exec chown redis:redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# No config file, or one without protected-mode: turn protected mode off so
# clients from other hosts (published ports) are accepted. With no config file
# redis binds to all interfaces by default.
if [[ ${1:-} == redis-server ]]; then
  shift
  conf=()
  if [[ -f ${1:-} ]]; then conf=("$1"); shift; fi
  if ((${#conf[@]} == 0)) || ! grep -q '^protected-mode' "${conf[0]}"; then
    set -- redis-server "${conf[@]}" --protected-mode no "$@"
  else
    set -- redis-server "${conf[@]}" "$@"
  fi
  umask 0077
fi

# PID 1, so docker stop (SIGTERM) reaches redis-server directly.
exec "$@"
