// The demo page's server (`npm run dev`, and the browser tests mount the same routes): demo/ as
// static files, demo/main.ts bundled by esbuild on each request (edit and reload), /config.json with
// the functions' URL, and two DEV-ONLY routes that must never be deployed:
//   GET /dev/token  a short-lived JWT signed with the dev secret, so the page can call the functions;
//   GET /form       a plain HTML form whose POST Object policy this server asked /v1/forms for, so
//                   the upload itself needs no JavaScript; COS redirects back to /form/done.

import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import * as z from "zod";
import { formatBytes } from "../demo/format";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEMO = join(ROOT, "demo");
/** Subject of the demo's uploads (its keys live under users/demo/ with the default KEY_PREFIX). */
export const DEMO_SUBJECT = "demo";
const TOKEN_TTL_SECONDS = 15 * 60;
const FORM_MAX_BYTES = 10 * 1024 * 1024;

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface DemoOptions {
  /** The functions' origin, e.g. http://127.0.0.1:8787. */
  api: string;
  /** A JWT for `sub` the functions accept (DEV-ONLY: the dev secret). */
  token(sub: string, ttlSeconds: number): Promise<string>;
}

export function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers });
  res.end(body);
}

/** Subjects a dev token may name: what fits a key prefix (users/{sub}/) without escaping. */
const TokenQuery = z.object({ sub: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "1-64 letters, digits, _ . @ -").refine((sub) => !/^\.+$/.test(sub), "not only dots").default(DEMO_SUBJECT) });
const FormQuery = z.object({ maxBytes: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(FORM_MAX_BYTES) });

/** The query parsed by `schema`, or undefined after a 400 whose JSON error names the field. */
function query<T>(req: IncomingMessage, res: ServerResponse, schema: z.ZodType<T>): T | undefined {
  const params = Object.fromEntries(new URL(req.url ?? "/", "http://x").searchParams);
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.join(".");
  send(res, 400, "application/json", JSON.stringify({ error: { code: "InvalidInput", message: `${field}: ${issue.message}`, details: { field } } }));
  return undefined;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><link rel="stylesheet" href="/demo.css"></head><body><header><h1>${escapeHtml(title)}</h1></header><main>${body}</main></body></html>`;
}

/** The routes by path (no query). */
export function demoRoutes(options: DemoOptions): Record<string, Route> {
  const origin = (req: IncomingMessage) => `http://${req.headers.host}`;
  return {
    "/": async (_req, res) => send(res, 200, "text/html; charset=utf-8", await readFile(join(DEMO, "index.html"))),
    "/demo.css": async (_req, res) => send(res, 200, "text/css; charset=utf-8", await readFile(join(DEMO, "style.css"))),
    "/demo.js": async (_req, res) => {
      const out = await build({ entryPoints: [join(DEMO, "main.ts")], bundle: true, format: "esm", platform: "browser", target: "es2020", sourcemap: "inline", write: false });
      send(res, 200, "text/javascript; charset=utf-8", out.outputFiles[0].text);
    },
    "/config.json": (_req, res) => send(res, 200, "application/json", JSON.stringify({ api: options.api })),
    "/favicon.ico": (_req, res) => send(res, 204, "image/x-icon", ""),
    // DEV-ONLY: anyone who can reach this server gets a token. `npm run dev` listens on 127.0.0.1.
    "/dev/token": async (req, res) => {
      const { sub } = query(req, res, TokenQuery) ?? {};
      if (sub === undefined) return;
      const token = await options.token(sub, TOKEN_TTL_SECONDS);
      send(res, 200, "application/json", JSON.stringify({ token, expiresAt: Date.now() + TOKEN_TTL_SECONDS * 1000 }));
    },
    "/form": async (req, res) => {
      const { maxBytes } = query(req, res, FormQuery) ?? {};
      if (maxBytes === undefined) return;
      const answer = await fetch(`${options.api}/v1/forms`, {
        method: "POST",
        headers: { authorization: `Bearer ${await options.token(DEMO_SUBJECT, TOKEN_TTL_SECONDS)}`, "content-type": "application/json" },
        body: JSON.stringify({ maxBytes, successActionRedirect: `${origin(req)}/form/done` }),
      });
      const json = (await answer.json()) as { url: string; fields: Record<string, string>; error?: { message: string } };
      if (!answer.ok) return send(res, 502, "text/html; charset=utf-8", page("Form unavailable", `<p>/v1/forms answered ${answer.status}: ${escapeHtml(json.error?.message ?? "")}</p>`));
      const hidden = Object.entries(json.fields)
        .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
        .join("\n");
      send(
        res,
        200,
        "text/html; charset=utf-8",
        page(
          "Upload with a plain HTML form",
          `<p>This form posts straight to COS with a policy the functions signed: files up to ${formatBytes(maxBytes)}, under your prefix, for 15 minutes. No JavaScript runs.</p>
<p>COS itself enforces the policy: a larger file gets COS's own error page (EntityTooLarge); go back and pick a smaller one.</p>
<form method="post" action="${escapeHtml(json.url)}" enctype="multipart/form-data">
${hidden}
<p><label for="file">File</label> <input id="file" name="file" type="file" required></p>
<p><button type="submit">Upload</button></p>
</form>
<p><a href="/">Back to the demo</a></p>`,
        ),
      );
    },
    "/form/done": (req, res) => {
      const q = new URL(req.url ?? "/", "http://x").searchParams;
      send(
        res,
        200,
        "text/html; charset=utf-8",
        page("Uploaded", `<p role="status">The form uploaded <strong class="key">${escapeHtml(q.get("key") ?? "")}</strong> (ETag <code class="etag">${escapeHtml(q.get("etag") ?? "")}</code>).</p><p><a href="/form">Upload another</a> · <a href="/">Back to the demo</a></p>`),
      );
    },
  };
}

export interface DemoServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `routes` (by path, without the query) on 127.0.0.1:`port` (0: any free port). */
export async function serveRoutes(routes: Record<string, Route>, port: number): Promise<DemoServer> {
  const server = createServer((req, res) => {
    // An absolute-form target the URL parser refuses (`GET http://[::1`) must not throw out of this
    // callback: that would end the process, and `npm run dev` with it.
    const path = URL.parse(req.url ?? "/", "http://x")?.pathname;
    if (path === undefined) return send(res, 400, "text/plain", "bad request target");
    const route = routes[path];
    if (!route) return send(res, 404, "text/plain", "not found");
    Promise.resolve(route(req, res)).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, "text/plain", `demo server: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((listening, failed) => server.once("error", failed).listen(port, "127.0.0.1", listening));
  const bound = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${bound}`, close: () => new Promise<void>((closed) => server.close(() => closed())) };
}

/** The demo on 127.0.0.1:`port`. */
export function startDemoServer(options: DemoOptions & { port: number }): Promise<DemoServer> {
  return serveRoutes(demoRoutes(options), options.port);
}
