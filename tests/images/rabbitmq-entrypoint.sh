#!/bin/bash
# Entrypoint of devenv-fixture/rabbitmq:3-management, a look-alike of the official rabbitmq
# image's (the parts devenv relies on): Debian's RabbitMQ with the management plugin, the
# user of RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS created on first start, guest allowed
# from other hosts, data in /var/lib/rabbitmq (with the image's fixed Erlang cookie, which
# the health command, run as root with HOME=/var/lib/rabbitmq, shares).
set -eo pipefail

if [[ ${1:-} != rabbitmq-server ]]; then exec "$@"; fi

# As root: write the config from the environment, own the data directory, re-run as rabbitmq.
if [[ $(id -u) == 0 ]]; then
  {
    echo "loopback_users.guest = false"
    echo "listeners.tcp.default = 5672"
    echo "management.tcp.port = 15672"
    [[ -z ${RABBITMQ_DEFAULT_USER:-} ]] || echo "default_user = $RABBITMQ_DEFAULT_USER"
    [[ -z ${RABBITMQ_DEFAULT_PASS:-} ]] || echo "default_pass = $RABBITMQ_DEFAULT_PASS"
  } >/etc/rabbitmq/rabbitmq.conf
  mkdir -p /var/lib/rabbitmq
  find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# PID 1, so docker stop (SIGTERM) reaches the server directly.
exec "$@"
