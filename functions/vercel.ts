// Vercel Edge entry: the same app, configuration from process.env. `api/[[...route]].ts`
// re-exports these handlers, so Vercel serves every path under /api/ with them; requests arrive
// there as /api/v1/... (or as /v1/... through a rewrite), and both reach the app's /v1 routes.

import { createApp } from "./app";

const app = createApp({ env: () => (globalThis as { process?: { env: Record<string, unknown> } }).process?.env ?? {} });

/** Hands a request to the app, without the /api prefix Vercel's file routing adds. */
export function handler(request: Request): Response | Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
    url.pathname = url.pathname.slice(4) || "/";
    return app.fetch(new Request(url, request));
  }
  return app.fetch(request);
}

export const GET = handler;
export const POST = handler;
export const DELETE = handler;
export const OPTIONS = handler;
