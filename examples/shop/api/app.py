"""The shop's backend: a small JSON API over PostgreSQL and Redis.

`devenv up` starts it (see [apps.api] in devenv.toml) with DATABASE_URL, REDIS_URL and PORT
in its environment, after its setup made the virtualenv in .venv. Endpoints:

    GET /health         {"status": "ok" | "degraded" | "down", "checks": {"db": ..., "cache": ...}}
                        (503 when the database is down: nothing works without it)
    GET /api/products   {"products": [...], "views": N}, N counted in Redis (null without it)
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import redis

# How long a check or query waits for the database or the cache, in seconds.
TIMEOUT_S = 2


def setting(name):
    """A required variable from the environment that devenv gives the app."""
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: start the API with `devenv up` (or `devenv run -- ...`)")
    return value


DATABASE_URL = setting("DATABASE_URL")
CACHE = redis.Redis.from_url(
    setting("REDIS_URL"), socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
)


def database():
    """A new connection per request: simple, and plenty for local development."""
    return psycopg.connect(DATABASE_URL, connect_timeout=TIMEOUT_S)


def check(probe):
    """{"status": "ok"} when probe() succeeds, else "down" with the reason."""
    try:
        probe()
        return {"status": "ok"}
    except Exception as error:  # whatever failed, the dependency is not usable
        return {"status": "down", "error": str(error).strip()}


def ping_database():
    with database() as conn:
        conn.execute("SELECT 1")


def health():
    checks = {"db": check(ping_database), "cache": check(CACHE.ping)}
    if checks["db"]["status"] != "ok":
        status = "down"
    elif checks["cache"]["status"] != "ok":
        status = "degraded"  # products still list, without the view counter
    else:
        status = "ok"
    return {"status": status, "checks": checks}


def products():
    with database() as conn:
        rows = conn.execute(
            "SELECT id, sku, name, price_cents FROM products ORDER BY id"
        ).fetchall()
    try:
        views = CACHE.incr("shop:products:views")
    except redis.RedisError:
        views = None  # the cache is optional: the list works without it
    return {
        "products": [
            {"id": id, "sku": sku, "name": name, "price_cents": price}
            for id, sku, name, price in rows
        ],
        "views": views,
    }


class Handler(BaseHTTPRequestHandler):
    """Routes GET requests; every answer is JSON. Requests are logged to stderr, which
    devenv keeps in .devenv/logs/api.log."""

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/health":
            body = health()
            self.reply(503 if body["status"] == "down" else 200, body)
        elif path == "/api/products":
            try:
                self.reply(200, products())
            except psycopg.Error as error:
                self.reply(503, {"error": f"database: {str(error).strip()}"})
        else:
            self.reply(404, {"error": f"no route for GET {path}"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up after the status line (as readiness probes may): fine


def main():
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"api listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
