"""Tests of the API against the running stack. After `devenv up`, from this directory:

    devenv run -- .venv/bin/python -m unittest -v

`devenv run` gives them DATABASE_URL and REDIS_URL as this checkout has them (ports as
mapped now, the generated password). Each test class serves the app on a free port of its own.
"""

import json
import threading
import unittest
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import app


class QuietHandler(app.Handler):
    """The app's handler without its request log, which would interleave with the report."""

    def log_message(self, format, *args):
        pass


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def get(self, path):
        """(status, JSON body) of GET path, error statuses included."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def test_health_is_ok_with_the_database_and_the_cache(self):
        status, body = self.get("/health")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["checks"]["db"], {"status": "ok"})
        self.assertEqual(body["checks"]["cache"], {"status": "ok"})

    def test_products_are_the_seeded_rows_and_views_are_counted(self):
        status, first = self.get("/api/products")
        self.assertEqual(status, 200, first)
        names = [p["name"] for p in first["products"]]
        for seeded in ["Enamel mug", "Organic cotton tee", "Canvas tote bag"]:
            self.assertIn(seeded, names)
        _, second = self.get("/api/products")
        self.assertEqual(second["views"], first["views"] + 1)

    def test_an_unknown_path_is_a_json_404(self):
        status, body = self.get("/nowhere")
        self.assertEqual(status, 404)
        self.assertIn("no route", body["error"])


if __name__ == "__main__":
    unittest.main()
