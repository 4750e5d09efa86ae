// The shop's frontend: a tiny dev server for Node 20, with no npm packages.
//
// `devenv up` starts it (see [apps.web] in devenv.toml) as
//     node --env-file=.env.local server.mjs --port <WEB_PORT>
// after writing .env.local with API_URL, the backend's address in this run. It serves
//     GET /     an HTML page listing the products it fetched from the backend
//     /api/*    passed on to the backend as they are, so a browser needs only this origin

import http from "node:http";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: { port: { type: "string", default: "5173" } },
});
const port = Number(args.port);
if (!process.env.API_URL) {
  console.error("API_URL is not set: `devenv up` writes it into web/.env.local");
  process.exit(1);
}
const backend = new URL(process.env.API_URL);

/** Sends the request on to the backend and streams its answer back. */
function proxy(req, res) {
  const target = new URL(req.url, backend);
  const headers = { ...req.headers, host: backend.host };
  const upstream = http.request(target, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", (error) => {
    if (res.headersSent) return res.destroy();
    res.writeHead(502, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: `backend unreachable: ${error.message}` }));
  });
  req.pipe(upstream);
}

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The product list, rendered here so that the page works without JavaScript. */
async function productList() {
  const answer = await fetch(new URL("/api/products", backend), {
    signal: AbortSignal.timeout(5000),
  });
  if (!answer.ok) throw new Error(`the backend answered ${answer.status}`);
  const { products, views } = await answer.json();
  const items = products.map(
    (p) => `<li>${escapeHtml(p.name)}: ${(p.price_cents / 100).toFixed(2)} EUR</li>`,
  );
  const counted = views === null ? "" : `<p>This list was asked for ${views} time(s).</p>`;
  return `<ul>\n${items.join("\n")}\n</ul>\n${counted}`;
}

/** GET /: the page, or a 502 page saying why the backend could not be asked. */
async function page(res) {
  let status = 200;
  let body;
  try {
    body = await productList();
  } catch (error) {
    status = 502;
    body = `<p>No products: the backend at ${escapeHtml(backend.origin)} failed (${escapeHtml(error.message)}).</p>`;
  }
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shop</title></head>
<body>
<h1>Shop</h1>
${body}
</body>
</html>
`);
}

const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  if (path.startsWith("/api/")) return proxy(req, res);
  if (req.method === "GET" && path === "/") return void page(res);
  res.writeHead(404, { "content-type": "text/plain" });
  res.end(`no page at ${path}\n`);
});
server.listen(port, "127.0.0.1", () => {
  console.log(`web listening on http://127.0.0.1:${port} (backend ${backend.origin})`);
});
