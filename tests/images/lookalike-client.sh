#!/bin/bash
# The health commands of look-alike servers (installed as `mongosh` and `rpk`): each asks
# whether its server's port accepts a connection inside the container, and prints what the
# real client prints when the server is healthy.
set -u
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
case ${0##*/} in
  mongosh) port_open 27017 && echo 1 ;;
  rpk) port_open 9092 && echo "Healthy: true" ;;
  *) echo "lookalike-client: unknown name ${0##*/}" >&2; exit 2 ;;
esac
