// JWKS_URL outages (policy/auth.ts): a key set that cannot be read is the server's fault, so the
// API answers 503 AuthUnavailable with Retry-After, within the fetch timeout rather than hanging,
// and does not keep the failure: the next request fetches again. A bad token stays 401.
import { sign } from "hono/jwt";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../functions/app";
import { presignUrl } from "../../functions/cos/presign";
import { JWKS_REFETCH_MS, JWKS_RETRY_AFTER_SECONDS } from "../../functions/policy/auth";
import { credentials, expectError, expectNoSecretsSeen, injectFault, record, target, testEnv, type ApiResponse } from "./api-helpers";

afterAll(expectNoSecretsSeen);
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const TIMEOUT_MS = 300;

/** A fresh RS256 key pair, its JWKS stored in cos-local at `jwks/<name>.json`, and an app that reads it there. */
async function jwksApp(name: string, timeoutMs = TIMEOUT_MS) {
  const pair = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const publicJwk = { ...((await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey), kid: "k1", alg: "RS256", use: "sig" };
  const privateJwk = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid: "k1", alg: "RS256" };
  const path = `jwks/${name}.json`;
  const put = await presignUrl({ credentials, target, method: "PUT", key: path, now: Date.now(), expires: 600 });
  expect((await fetch(put.url, { method: "PUT", body: JSON.stringify({ keys: [publicJwk] }) })).status).toBe(200);
  const jwksUrl = (await presignUrl({ credentials, target, method: "GET", key: path, now: Date.now(), expires: 600 })).url;
  const app = createApp({ cos: { credentials, target }, uploadTokenSecret: testEnv.UPLOAD_TOKEN_SECRET, auth: { mode: "jwt", jwksUrl, jwksTimeoutMs: timeoutMs } });
  const jwt = (kid = "k1") => sign({ sub: `jw-${name}`, exp: Math.floor(Date.now() / 1000) + 3600 }, { ...privateJwk, kid }, "RS256");
  const list = async (token: string): Promise<ApiResponse> => record(await app.request("/v1/uploads", { headers: { authorization: `Bearer ${token}` } }));
  return { app, path, jwt, list, jwksUrl };
}

function expectUnavailable(res: ApiResponse, problem: string): void {
  expectError(res, 503, "AuthUnavailable", "JWKS_URL");
  expect(res.body.error.message).toContain(problem);
  expect(res.headers.get("retry-after")).toBe(String(JWKS_RETRY_AFTER_SECONDS));
}

/** console.error lines, collected (and kept out of the test output). */
function errorLog(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, "error").mockImplementation((...args) => void lines.push(args.join(" ")));
  return lines;
}

describe("JWKS_URL unavailable", () => {
  it("a JWKS that does not answer: 503 within the timeout, not a hang; then the JWKS works and so does the request", async () => {
    const { path, jwt, list, jwksUrl } = await jwksApp("hangs");
    const log = errorLog();
    await injectFault({ kind: "delay", delayMs: 4000, method: "GET", path, count: 1 });
    const started = Date.now();
    const res = await list(await jwt());
    expect(Date.now() - started).toBeLessThan(2000);
    expectUnavailable(res, `no answer within ${TIMEOUT_MS} ms`);
    // The timed-out fetch is not cached: the next request fetches again and passes.
    const again = await list(await jwt());
    expect(again.status, again.text).toBe(200);
    expect(log.join("\n")).toContain("JWKS");
    expect(log.join("\n")).not.toContain(new URL(jwksUrl).search.slice(1));
  });

  it("a JWKS answering 500 or 503: 503 AuthUnavailable, never 401; the failure is not cached", async () => {
    const { path, jwt, list } = await jwksApp("fails");
    errorLog();
    await injectFault({ kind: "500", method: "GET", path, count: 1 });
    expectUnavailable(await list(await jwt()), "answered 500");
    await injectFault({ kind: "503", method: "GET", path, count: 1 });
    expectUnavailable(await list(await jwt()), "answered 503");
    const ok = await list(await jwt());
    expect(ok.status, ok.text).toBe(200);
  });

  it("a JWKS that is not JSON, or has no keys: 503; unreachable: 503", async () => {
    const { path, jwt } = await jwksApp("garbled");
    errorLog();
    for (const [name, body, problem] of [["text", "<html>", "not JSON"], ["nokeys", JSON.stringify({ key: [] }), "no keys array"]]) {
      const put = await presignUrl({ credentials, target, method: "PUT", key: `${path}.${name}`, now: Date.now(), expires: 600 });
      expect((await fetch(put.url, { method: "PUT", body })).status).toBe(200);
      const jwksUrl = (await presignUrl({ credentials, target, method: "GET", key: `${path}.${name}`, now: Date.now(), expires: 600 })).url;
      const app = createApp({ cos: { credentials, target }, uploadTokenSecret: testEnv.UPLOAD_TOKEN_SECRET, auth: { mode: "jwt", jwksUrl } });
      expectUnavailable(await record(await app.request("/v1/uploads", { headers: { authorization: `Bearer ${await jwt()}` } })), problem);
    }
    // Nothing listens on port 9: the connection fails at once.
    const app = createApp({ cos: { credentials, target }, uploadTokenSecret: testEnv.UPLOAD_TOKEN_SECRET, auth: { mode: "jwt", jwksUrl: "http://127.0.0.1:9/jwks.json" } });
    expectUnavailable(await record(await app.request("/v1/uploads", { headers: { authorization: `Bearer ${await jwt()}` } })), "the fetch failed");
  });

  it("while the JWKS is down, a malformed token is still 401: nothing to fetch for it", async () => {
    const { path, list } = await jwksApp("down-bad-token");
    errorLog();
    await injectFault({ kind: "500", method: "GET", path, count: 5 });
    expectError(await list("not.a.jwt"), 401, "Unauthenticated", "Authorization");
  });

  it("a refetch for an unknown kid that fails keeps the keys in hand: known kids pass, the unknown one is 401", async () => {
    const { path, jwt, list } = await jwksApp("refetch");
    expect((await list(await jwt())).status).toBe(200);
    errorLog();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + JWKS_REFETCH_MS + 1000 });
    // Armed for two fetches: a request that lost the cached keys would fetch again and fail.
    await injectFault({ kind: "500", method: "GET", path, count: 2 });
    expectError(await list(await jwt("rotated")), 401, "Unauthenticated", "JWT");
    expect((await list(await jwt())).status).toBe(200);
  });

  it("while a refetch for an unknown kid is failing, valid tokens arriving meanwhile pass at once (a made-up kid cannot take the API down or slow it)", async () => {
    const { path, jwt, list } = await jwksApp("refetch-busy", 2000);
    expect((await list(await jwt())).status).toBe(200);
    errorLog();
    for (let round = 1; round <= 2; round++) {
      // Each round past the refetch interval of the one before (the keys stay within their lifetime).
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + round * (JWKS_REFETCH_MS + 1000) });
      // The refetch hangs past the timeout; a valid request comes in while it is under way.
      await injectFault({ kind: "delay", delayMs: 4000, method: "GET", path, count: 1 });
      const unknown = list(await jwt(`made-up-${round}`));
      await new Promise((r) => setTimeout(r, 50));
      const token = await jwt();
      const started = performance.now();
      const valid = await list(token);
      expect(valid.status, `round ${round}: ${valid.text}`).toBe(200);
      expect(performance.now() - started, "not held until the refetch times out (2 s)").toBeLessThan(1000);
      expectError(await unknown, 401, "Unauthenticated", "JWT");
      vi.useRealTimers();
    }
  });

  it("the OpenAPI document lists 503 with Retry-After on authenticated routes", async () => {
    const doc = (await (await createApp().request("/v1/openapi.json", {}, testEnv)).json()) as { paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>> };
    expect(doc.paths["/v1/uploads"].post.responses["503"]?.headers).toHaveProperty("Retry-After");
    expect(doc.paths["/v1/uploads"].get.responses).toHaveProperty("503");
  });
});
