// Issue 3: the Vercel Edge entry (functions/vercel.ts, re-exported by api/[[...route]].ts) runs in
// Vercel's Edge VM (vitest's edge-runtime environment, @edge-runtime/vm) with its configuration in
// process.env, and answers as the Workers entry (functions/index.ts, bindings as `env`) does for
// create → sign parts → PUT parts to cos-local → complete. Both talk to the cos-local the global
// setup started, with the same variables the workerd project binds (vitest.config.ts API_VARS).

import { sign } from "hono/jwt";
import { beforeAll, describe, expect, inject, it } from "vitest";
import worker from "../../functions/index";
import { bytes } from "../shared/bytes";

declare module "vitest" {
  export interface ProvidedContext {
    apiVars: Record<string, string>;
  }
}

type Handler = (request: Request) => Response | Promise<Response>;
type Json = Record<string, unknown>;

const vars: Record<string, string> = {
  COS_ENDPOINT: inject("cosLocalUrl"),
  COS_SECRET_ID: inject("cosLocalSecretId"),
  COS_SECRET_KEY: inject("cosLocalSecretKey"),
  COS_BUCKET: inject("cosLocalBucket"),
  COS_REGION: inject("cosLocalRegion"),
  ...inject("apiVars"),
};
const ORIGIN = "https://cos-direct.example";
const MiB = 1024 * 1024;

let vercel: { GET: Handler; POST: Handler; DELETE: Handler; OPTIONS: Handler };
let bearer: string;

beforeAll(async () => {
  // Vercel hands a deployment's variables to Edge functions as process.env; set them before the
  // entry is imported, as a deployment would. (The entry reads them at each request anyway.)
  Object.assign(process.env, vars);
  vercel = await import("../../api/[[...route]]");
  bearer = `Bearer ${await sign({ sub: "edge-user", exp: Math.floor(Date.now() / 1000) + 3600 }, vars.JWT_SECRET, "HS256")}`;
});

/** The Vercel route answers `/api/...`; the Workers entry is the app itself, with bindings as env. */
function viaVercel(path: string, init: RequestInit): Promise<Response> {
  const method = (init.method ?? "GET") as keyof typeof vercel;
  return Promise.resolve(vercel[method](new Request(`${ORIGIN}${path}`, init)));
}
function viaWorkers(path: string, init: RequestInit): Promise<Response> {
  return Promise.resolve(worker.fetch(new Request(`${ORIGIN}${path}`, init), vars));
}

/** The same API call through both entries (Vercel's under /api); status and parsed bodies. */
async function both(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init = (): RequestInit => ({
    method,
    headers: { authorization: bearer, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const [v, w] = await Promise.all([viaVercel(`/api${path}`, init()), viaWorkers(path, init())]);
  return { vercel: { status: v.status, body: (await v.json()) as Json }, workers: { status: w.status, body: (await w.json()) as Json } };
}

/** A value with every leaf replaced by its type: what "the same response shape" compares. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  return typeof value;
}

/** Index of the first byte where `a` and `b` differ, or -1 when they are equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe("Vercel Edge entry", () => {
  it("runs inside Vercel's Edge VM, configured from process.env, and the route file asks for the Edge runtime", async () => {
    expect((globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe("edge-runtime");
    expect(process.env.COS_ENDPOINT).toBe(vars.COS_ENDPOINT);
    expect((await import("../../api/[[...route]]")).config).toEqual({ runtime: "edge" });
  });

  it("answers as the Workers entry for create → sign parts → PUT parts to cos-local → complete", async () => {
    const key = "users/edge-user/vercel/same as workers.bin";
    const body = bytes(2 * MiB + 4321, 7);
    const created = await both("POST", "/v1/uploads", { key, size: body.length, contentType: "application/octet-stream" });
    expect(created.vercel.status).toBe(200);
    expect(created.workers.status).toBe(200);
    expect(shape(created.vercel.body)).toEqual(shape(created.workers.body));
    const plan = (r: Json) => ({ kind: r.kind, key: r.key, partSize: r.partSize, partCount: r.partCount });
    expect(plan(created.vercel.body)).toEqual({ kind: "multipart", key, partSize: MiB, partCount: 3 });
    expect(plan(created.workers.body)).toEqual(plan(created.vercel.body));

    // Each entry signs and completes its own upload; the requests differ only in uploadId and token.
    const uploads = { vercel: created.vercel.body, workers: created.workers.body };
    const signed = await Promise.all(
      (["vercel", "workers"] as const).map(async (entry) => {
        const u = uploads[entry];
        const call = entry === "vercel" ? viaVercel : viaWorkers;
        const path = `${entry === "vercel" ? "/api" : ""}/v1/uploads/${encodeURIComponent(String(u.uploadId))}/parts`;
        const res = await call(path, {
          method: "POST",
          headers: { authorization: bearer, "content-type": "application/json", "upload-token": String(u.token) },
          body: JSON.stringify({ parts: [{ partNumber: 1 }, { partNumber: 2 }, { partNumber: 3 }] }),
        });
        return { status: res.status, body: (await res.json()) as { parts: { partNumber: number; size: number; url: string; headers: Record<string, string> }[] } };
      }),
    );
    expect(signed.map((s) => s.status)).toEqual([200, 200]);
    expect(shape(signed[0].body)).toEqual(shape(signed[1].body));
    const partsOf = (s: (typeof signed)[number]) => s.body.parts.map(({ partNumber, size, headers }) => ({ partNumber, size, headers }));
    expect(partsOf(signed[0])).toEqual([
      { partNumber: 1, size: MiB, headers: {} },
      { partNumber: 2, size: MiB, headers: {} },
      { partNumber: 3, size: 4321, headers: {} },
    ]);
    expect(partsOf(signed[1])).toEqual(partsOf(signed[0]));

    // The part bytes go straight to cos-local with the Edge VM's fetch.
    const etags = await Promise.all(
      signed.map(async ({ body: { parts } }) =>
        Promise.all(
          parts.map(async (p) => {
            const res = await fetch(p.url, { method: "PUT", headers: p.headers, body: body.subarray((p.partNumber - 1) * MiB, (p.partNumber - 1) * MiB + p.size) });
            expect(res.status, await res.clone().text()).toBe(200);
            return { partNumber: p.partNumber, etag: res.headers.get("etag")! };
          }),
        ),
      ),
    );

    const completed = await Promise.all(
      (["vercel", "workers"] as const).map(async (entry, i) => {
        const u = uploads[entry];
        const call = entry === "vercel" ? viaVercel : viaWorkers;
        const res = await call(`${entry === "vercel" ? "/api" : ""}/v1/uploads/${encodeURIComponent(String(u.uploadId))}/complete`, {
          method: "POST",
          headers: { authorization: bearer, "content-type": "application/json", "upload-token": String(u.token) },
          body: JSON.stringify({ parts: etags[i] }),
        });
        return { status: res.status, body: (await res.json()) as Json };
      }),
    );
    expect(completed.map((c) => c.status)).toEqual([200, 200]);
    // Same key and the same parts: the two objects are identical, so the whole answers are.
    expect(completed[0].body).toEqual(completed[1].body);
    expect(completed[0].body).toMatchObject({ key, size: body.length, contentType: "application/octet-stream" });
    expect(String(completed[0].body.etag)).toMatch(/-3"$/);

    const download = await both("POST", "/v1/objects/download", { key });
    expect([download.vercel.status, download.workers.status]).toEqual([200, 200]);
    const got = new Uint8Array(await (await fetch(String(download.vercel.body.url))).arrayBuffer());
    // (toEqual on 2 MiB compares element by element for seconds; the first difference says as much)
    expect([got.length, firstDifference(got, body)]).toEqual([body.length, -1]);
  });

  it("answers errors as the Workers entry does", async () => {
    const cases = [
      await both("POST", "/v1/uploads", { key: "users/someone-else/x.bin", size: 10 }),
      await both("POST", "/v1/uploads", { key: "users/edge-user/x.bin", size: -1 }),
      await both("POST", "/v1/uploads/abc/complete", { parts: [{ partNumber: 1, etag: "x" }] }, { "upload-token": "forged" }),
      await both("GET", "/v1/uploads", undefined, { authorization: "Bearer not.a.jwt" }),
    ];
    expect(cases.map((c) => c.vercel.status)).toEqual([403, 400, 403, 401]);
    for (const c of cases) {
      expect(c.workers.status).toBe(c.vercel.status);
      expect((c.vercel.body.error as Json).code).toBe((c.workers.body.error as Json).code);
      expect((c.vercel.body.error as Json).message).toBe((c.workers.body.error as Json).message);
    }
  });

  it("routes both /api/v1/... (Vercel's file route) and /v1/... (a rewrite), and answers CORS preflights", async () => {
    const init = () => ({ method: "GET", headers: { authorization: bearer } });
    for (const path of ["/v1/uploads", "/api/v1/uploads"]) {
      const res = await vercel.GET(new Request(`${ORIGIN}${path}`, init()));
      expect([path, res.status]).toEqual([path, 200]);
      expect(Array.isArray(((await res.json()) as Json).uploads)).toBe(true);
    }
    for (const path of ["/healthz", "/api/healthz"]) expect(await (await vercel.GET(new Request(`${ORIGIN}${path}`))).json()).toEqual({ ok: true });
    const doc = (await (await vercel.GET(new Request(`${ORIGIN}/api/v1/openapi.json`))).json()) as Json;
    expect(doc.openapi).toBe("3.1.0");
    const missing = await vercel.GET(new Request(`${ORIGIN}/api/v2/nothing`, init()));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: Json }).error.message).toBe("no route for GET /v2/nothing");

    const preflight = () => new Request(`${ORIGIN}/api/v1/uploads`, {
      method: "OPTIONS",
      headers: { origin: "http://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    const v = await vercel.OPTIONS(preflight());
    const w = await viaWorkers("/v1/uploads", { method: "OPTIONS", headers: Object.fromEntries(preflight().headers) });
    expect(v.status).toBe(204);
    for (const name of ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers", "access-control-max-age"]) {
      expect([name, v.headers.get(name)]).toEqual([name, w.headers.get(name)]);
    }
    expect(v.headers.get("access-control-allow-origin")).toBe("http://app.example");
  });
});
