#!/usr/bin/env python3
"""CPU time the containers of a compose-labelled project used so far, from the engine's API.

Usage: cpu.py PROJECT
Prints one line per container, `SERVICE CPU_SECONDS`, then `total CPU_SECONDS`. Reads
`cpu_stats.cpu_usage.total_usage` of `GET /containers/{id}/stats?stream=false` (the same on
cgroup v1 and v2) over the engine's unix socket (DOCKER_HOST when it is unix://, else
/var/run/docker.sock). Work done outside the containers (the engine, a FUSE storage driver)
is not counted: the total is a lower bound on what starting them cost.
"""
import http.client
import json
import os
import socket
import sys
import urllib.parse


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def get(path):
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        sys.exit(f"cpu.py: needs a local engine on a unix socket, not {host}")
    conn = UnixConnection(host[len("unix://"):])
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"cpu.py: GET {path}: {response.status} {body[:200]!r}")
    return json.loads(body)


def main(project):
    filters = urllib.parse.quote(json.dumps({"label": [f"com.docker.compose.project={project}"]}))
    total = 0.0
    for container in get(f"/containers/json?filters={filters}"):
        stats = get(f"/containers/{container['Id']}/stats?stream=false&one-shot=true")
        seconds = stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
        service = container["Labels"].get("com.docker.compose.service", container["Id"][:12])
        print(f"{service} {seconds:.2f}")
        total += seconds
    print(f"total {total:.2f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
