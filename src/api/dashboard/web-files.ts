// The web dashboard's files (web/dist, built by scripts/build.js): the page at / and its hashed
// assets under /assets/, held in memory (with their gzip form once asked for). Served without
// credentials (they hold no data; every call they make needs a session), with a strict
// Content-Security-Policy: no script, style, font or frame from anywhere but this origin, so
// nothing leaves the machine and an injected tag cannot load code.
//
// Why not @fastify/static: the dashboard is a few immutable files known at start; a map of them
// is the whole job, and a name that is not in it can never reach the file system.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** web/dist of this installation: dist/src/api/dashboard/ → the package root. */
export const DEFAULT_WEB_DIR = resolve(import.meta.dirname, "../../../../web/dist");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".json": "application/json",
};

export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // React and the chart library set style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  // A message's HTML is shown in a sandboxed frame loaded from this origin.
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

interface WebFile {
  type: string;
  body: Buffer;
  /**
   * The gzip form, made at the first request that accepts it and kept: compressing the dashboard
   * at level 9 took ~50 ms of CPU at every start, most of them by processes (tests, workers,
   * API-only nodes) that never serve it. Made on libuv's pool, off the event loop.
   */
  gzip: Promise<Buffer> | null;
}

const gzipAsync = promisify(gzip);

/** Reads the built dashboard; an empty map when it was not built (a production install without dev tools). */
export function loadWebFiles(dir = DEFAULT_WEB_DIR): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const add = (name: string, path: string) => {
    const body = readFileSync(path);
    files.set(name, { type: TYPES[extname(name)] ?? "application/octet-stream", body, gzip: null });
  };
  try {
    if (!statSync(join(dir, "index.html")).isFile()) return files;
  } catch {
    return files;
  }
  add("index.html", join(dir, "index.html"));
  let assets: string[] = [];
  try {
    assets = readdirSync(join(dir, "assets"));
  } catch {
    assets = [];
  }
  for (const name of assets) if (statSync(join(dir, "assets", name)).isFile()) add(`assets/${name}`, join(dir, "assets", name));
  return files;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Posthorn</title><p>Posthorn is running, but its dashboard was not built: run <code>npm run build</code> (it needs the development dependencies).</p>`;

export function webFilesRoutes(files: Map<string, WebFile> = loadWebFiles()) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/", async (request, reply) => {
      const page = files.get("index.html");
      reply.header("content-security-policy", DASHBOARD_CSP).header("x-content-type-options", "nosniff").header("referrer-policy", "same-origin").header("x-frame-options", "DENY");
      if (!page) return reply.code(200).type("text/html; charset=utf-8").header("cache-control", "no-store").send(NOT_BUILT);
      // The page names its assets by content hash: it must be asked for again, they never.
      return send(request, reply.header("cache-control", "no-cache"), page);
    });
    app.get("/assets/:name", async (request, reply) => {
      // Named exactly (case and all): the router matches paths case-insensitively, the map does not.
      const name = request.url.split("?")[0]!.slice("/assets/".length);
      const file = files.get(`assets/${name}`);
      if (!file) return reply.code(404).type("text/plain; charset=utf-8").header("x-content-type-options", "nosniff").send("Not found.\n");
      return send(request, reply.header("cache-control", "public, max-age=31536000, immutable").header("x-content-type-options", "nosniff"), file);
    });
  };
}

async function send(request: FastifyRequest, reply: FastifyReply, file: WebFile): Promise<FastifyReply> {
  reply.type(file.type).header("vary", "accept-encoding");
  const accepts = String(request.headers["accept-encoding"] ?? "");
  if (/\bgzip\b/.test(accepts)) return reply.header("content-encoding", "gzip").send(await (file.gzip ??= gzipAsync(file.body, { level: 9 })));
  return reply.send(file.body);
}
