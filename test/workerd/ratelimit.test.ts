// Per-subject rate limits on create and sign (issue 6): 429 RateLimited with Retry-After and the
// JSON error shape, through miniflare's real rate-limiting binding (small test limits from
// vitest.config.ts) and through the in-memory fallback; other subjects are unaffected.
import { env } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { rateKindOf, TokenBuckets } from "../../functions/policy/ratelimit";
import { callWorker, expectError, expectNoSecretsSeen, jwtFor, MiB, record, requestInit, testEnv, type ApiResponse, type CallOptions } from "./api-helpers";

afterAll(expectNoSecretsSeen);

const bindings = env as unknown as Record<string, unknown>;
type App = ReturnType<typeof createApp>;

function caller(app: App, vars: Record<string, unknown>) {
  return async (as: string, method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> =>
    record(await app.request(path, requestInit(method, options, await jwtFor(as)), vars));
}
const single = (as: string, name = "f.txt") => ({ body: { key: `users/${as}/${name}`, size: 10, contentType: "text/plain" } });

function expectLimited(res: ApiResponse, retryAfter: string): void {
  expectError(res, 429, "RateLimited", "retry after");
  expect(res.headers.get("retry-after")).toBe(retryAfter);
  expect(res.body.error.details.retryAfterSeconds).toBe(Number(retryAfter));
}

/**
 * Miniflare's limiter counts in fixed 60 s windows: a run that crosses a window boundary proves
 * nothing, so it runs again (with fresh subjects) until one fits in a window.
 */
async function inOneWindow(run: (round: number) => Promise<void>): Promise<void> {
  for (let round = 0; ; round++) {
    const window = Math.floor(Date.now() / 60_000);
    await run(round);
    if (Math.floor(Date.now() / 60_000) === window) return;
    expect(round).toBeLessThan(2);
  }
}

describe("with the Workers rate-limiting binding", () => {
  const vars = { ...testEnv, RATE_LIMITER_CREATE: bindings.TEST_RATE_LIMITER_CREATE, RATE_LIMITER_SIGN: bindings.TEST_RATE_LIMITER_SIGN };
  const call = caller(createApp(), vars);

  it("creates: the 4th within a minute is 429 with Retry-After; another subject is unaffected", async () => {
    await inOneWindow(async (round) => {
      const [alice, bob] = [`rl-b-alice-${round}`, `rl-b-bob-${round}`];
      for (let i = 0; i < 3; i++) expect((await call(alice, "POST", "/v1/uploads", single(alice))).status).toBe(200);
      expectLimited(await call(alice, "POST", "/v1/uploads", single(alice)), "60");
      // A form upload also starts an upload: the same limit.
      expectLimited(await call(alice, "POST", "/v1/forms", { body: { keyPrefix: `users/${alice}/`, contentType: "text/plain" } }), "60");
      expect((await call(bob, "POST", "/v1/uploads", single(bob))).status).toBe(200);
    });
  });

  it("signing: parts, authorize, append and download share one limit per subject, apart from creates", async () => {
    await inOneWindow(async (round) => {
      const signer = `rl-b-signer-${round}`;
      const created = await call(signer, "POST", "/v1/uploads", { body: { key: `users/${signer}/m.bin`, size: 2 * MiB, contentType: "text/plain" } });
      expect(created.status, created.text).toBe(200);
      const { uploadId, token } = created.body;
      const sign = () => call(signer, "POST", `/v1/uploads/${uploadId}/parts`, { token, body: { parts: [{ partNumber: 1 }] } });
      for (let i = 0; i < 3; i++) expect((await sign()).status).toBe(200);
      expect((await call(signer, "POST", "/v1/objects/download", { body: { key: `users/${signer}/m.bin` } })).status).toBe(200);
      expectLimited(await sign(), "60");
      expectLimited(await call(signer, "POST", "/v1/authorize", { body: { method: "GET", key: `users/${signer}/m.bin` } }), "60");
      expectLimited(await call(signer, "POST", "/v1/objects/append", { body: { key: `users/${signer}/a.bin`, position: 0, size: 1 } }), "60");
      // A read, but each one is a GET ?cors on COS with the functions' key.
      expectLimited(await call(signer, "GET", "/v1/diagnostics?origin=http://app.example"), "60");
      // HEAD runs the GET route (and its GET ?cors on COS): limited the same.
      expect((await call(signer, "HEAD", "/v1/diagnostics?origin=http://app.example")).status).toBe(429);
      // Reads that ask COS each time (ListParts, ListMultipartUploads) and confirm's HEAD: limited the same.
      expectLimited(await call(signer, "GET", `/v1/uploads/${uploadId}/parts`, { token }), "60");
      expectLimited(await call(signer, "GET", "/v1/uploads"), "60");
      expect((await call(signer, "HEAD", "/v1/uploads")).status).toBe(429);
      expectLimited(await call(signer, "POST", "/v1/objects/confirm", { body: { key: `users/${signer}/m.bin` } }), "60");
      expectLimited(await call(signer, "POST", `/v1/uploads/${uploadId}/complete`, { token, body: { parts: [{ partNumber: 1, etag: '"e"' }] } }), "60");
      // Creating is a separate limit, and abort is not limited: a refused abort would leave parts behind.
      expect((await call(signer, "POST", "/v1/uploads", single(signer))).status).toBe(200);
      expect((await call(signer, "DELETE", `/v1/uploads/${uploadId}`, { token })).status).toBe(204);
    });
  });

  it("RATE_LIMIT=off turns the binding off too", async () => {
    const off = caller(createApp(), { ...vars, RATE_LIMIT: "off" });
    await inOneWindow(async (round) => {
      const as = `rl-b-off-${round}`;
      for (let i = 0; i < 6; i++) expect((await off(as, "POST", "/v1/uploads", single(as))).status).toBe(200);
    });
  });
});

describe("without a binding: the in-memory token bucket", () => {
  let offset = 0;
  const app = createApp({ now: () => Date.now() + offset });
  const vars = { ...testEnv, RATE_LIMITER_CREATE: undefined, RATE_LIMITER_SIGN: undefined, RATE_LIMIT_CREATE_PER_MINUTE: "3", RATE_LIMIT_SIGN_PER_MINUTE: "4" };
  const call = caller(app, vars);

  it("allows RATE_LIMIT_CREATE_PER_MINUTE at once, then one per 60/N s; another subject is unaffected", async () => {
    for (let i = 0; i < 3; i++) expect((await call("rl-m-alice", "POST", "/v1/uploads", single("rl-m-alice"))).status).toBe(200);
    expectLimited(await call("rl-m-alice", "POST", "/v1/uploads", single("rl-m-alice")), "20");
    expect((await call("rl-m-bob", "POST", "/v1/uploads", single("rl-m-bob"))).status).toBe(200);
    offset += 20_000;
    expect((await call("rl-m-alice", "POST", "/v1/uploads", single("rl-m-alice"))).status).toBe(200);
    expectLimited(await call("rl-m-alice", "POST", "/v1/uploads", single("rl-m-alice")), "20");
  });

  it("counts signing separately, and malformed requests count too", async () => {
    const as = "rl-m-signer";
    for (let i = 0; i < 3; i++) expectError(await call(as, "POST", "/v1/objects/download", { body: { key: 42 } }), 400, "InvalidInput", "body.key");
    expect((await call(as, "POST", "/v1/objects/download", { body: { key: `users/${as}/x` } })).status).toBe(200);
    expectLimited(await call(as, "POST", "/v1/objects/download", { body: { key: `users/${as}/x` } }), "15");
    expect((await call(as, "POST", "/v1/uploads", single(as))).status).toBe(200);
  });

  it("listing uploads and parts, confirming and completing count against signing: each one asks COS with the functions' key", async () => {
    const as = "rl-m-reader";
    const created = await call(as, "POST", "/v1/uploads", { body: { key: `users/${as}/m.bin`, size: 2 * MiB, contentType: "text/plain" } });
    expect(created.status, created.text).toBe(200);
    const { uploadId, token } = created.body;
    for (let i = 0; i < 4; i++) expect((await call(as, "GET", "/v1/uploads")).status).toBe(200);
    expectLimited(await call(as, "GET", "/v1/uploads"), "15");
    expectLimited(await call(as, "GET", `/v1/uploads/${uploadId}/parts`, { token }), "15");
    expectLimited(await call(as, "POST", "/v1/objects/confirm", { body: { key: `users/${as}/m.bin` } }), "15");
    expectLimited(await call(as, "POST", `/v1/uploads/${uploadId}/complete`, { token, body: { parts: [{ partNumber: 1, etag: '"e"' }] } }), "15");
    // Another subject's reads are its own.
    expect((await call("rl-m-reader-2", "GET", "/v1/uploads")).status).toBe(200);
    offset += 15_000;
    expect((await call(as, "GET", `/v1/uploads/${uploadId}/parts`, { token })).status).toBe(200);
  });

  it("the 429 is readable by a browser page: CORS headers and Retry-After exposed", async () => {
    const as = "rl-m-browser";
    const headers = { origin: "http://app.example" };
    for (let i = 0; i < 3; i++) await call(as, "POST", "/v1/uploads", { ...single(as), headers });
    const limited = await call(as, "POST", "/v1/uploads", { ...single(as), headers });
    expectLimited(limited, "20");
    expect(limited.headers.get("access-control-allow-origin")).toBe("http://app.example");
    expect(limited.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("retry-after");
  });
});

describe("defaults", () => {
  it("the Workers entry (wrangler.toml's bindings) lets a busy client through: 40 creates and 40 signs in a row", async () => {
    expect(typeof (bindings.RATE_LIMITER_CREATE as { limit?: unknown }).limit).toBe("function");
    const as = "rl-default";
    const jwt = await jwtFor(as);
    const post = async (path: string, body: unknown, token?: string) => {
      return record(await callWorker(new Request(`http://api${path}`, requestInit("POST", { body, token }, jwt))));
    };
    for (let i = 0; i < 40; i++) expect((await post("/v1/uploads", single(as, `f${i}.txt`).body)).status).toBe(200);
    const { uploadId, token } = (await post("/v1/uploads", { key: `users/${as}/m.bin`, size: 2 * MiB, contentType: "text/plain" })).body;
    for (let i = 0; i < 40; i++) expect((await post(`/v1/uploads/${uploadId}/parts`, { parts: [{ partNumber: 1 }, { partNumber: 2 }] }, token)).status).toBe(200);
  });

  it("the OpenAPI document lists 429 on every limited route", async () => {
    const doc = (await (await createApp().request("/v1/openapi.json", {}, testEnv)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const path of ["/v1/uploads", "/v1/uploads/{uploadId}/parts", "/v1/forms", "/v1/authorize", "/v1/objects/append", "/v1/objects/download", "/v1/objects/confirm"]) {
      expect([path, Object.keys(doc.paths[path].post.responses)]).toEqual([path, expect.arrayContaining(["429"])]);
    }
    for (const path of ["/v1/uploads", "/v1/uploads/{uploadId}/parts", "/v1/diagnostics"]) {
      expect([path, Object.keys(doc.paths[path].get.responses)]).toEqual([path, expect.arrayContaining(["429"])]);
    }
  });
});

describe("rateKindOf", () => {
  it("counts every call that makes the functions ask COS, and no other read", () => {
    const cases: [string, string, ReturnType<typeof rateKindOf>][] = [
      ["POST", "/v1/uploads", "create"],
      ["POST", "/v1/forms", "create"],
      ["POST", "/v1/uploads/u1/parts", "sign"],
      ["GET", "/v1/uploads/u1/parts", "sign"],
      ["HEAD", "/v1/uploads/u1/parts", "sign"],
      ["GET", "/v1/uploads", "sign"],
      ["HEAD", "/v1/uploads", "sign"],
      ["GET", "/v1/diagnostics", "sign"],
      ["POST", "/v1/objects/confirm", "sign"],
      ["POST", "/v1/objects/download", "sign"],
      ["POST", "/v1/uploads/u1/complete", "sign"],
      ["DELETE", "/v1/uploads/u1", null],
      ["GET", "/v1/openapi.json", null],
      ["GET", "/healthz", null],
    ];
    expect(cases.map(([method, path]) => [method, path, rateKindOf(method, path)])).toEqual(cases);
  });
});

describe("TokenBuckets", () => {
  it("refills continuously up to its size, and says how long until the next token", () => {
    const buckets = new TokenBuckets(6);
    const t = 1_000_000;
    for (let i = 0; i < 6; i++) expect(buckets.take("a", t)).toBe(0);
    expect(buckets.take("a", t)).toBe(10);
    expect(buckets.take("a", t + 5_000)).toBe(5);
    expect(buckets.take("a", t + 10_000)).toBe(0);
    // A long pause refills to the size, not beyond.
    for (let i = 0; i < 6; i++) expect(buckets.take("a", t + 3_600_000)).toBe(0);
    expect(buckets.take("a", t + 3_600_000)).toBeGreaterThan(0);
    expect(buckets.take("b", t)).toBe(0);
  });
});
