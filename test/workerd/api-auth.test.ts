// Who may call (issue 3 "Abuse"): JWTs, upload tokens, CORS, and requests the API refuses before
// any route runs (body size, content type, malformed JSON, unknown routes).
import { SELF } from "cloudflare:test";
import { sign } from "hono/jwt";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { signUploadToken, type UploadTokenPayload } from "../../functions/policy/token";
import { api, createMultipart, expectError, expectNoSecretsSeen, jwtFor, MiB, record, testEnv, uploadIdsInCos } from "./api-helpers";

afterAll(expectNoSecretsSeen);

const upload = { key: "users/au-alice/a.txt", size: 10, contentType: "text/plain" };
const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const withAuth = (authorization: string) => api("POST", "/v1/uploads", { body: upload, headers: { authorization } });

describe("authentication", () => {
  it("answers 401 without credentials, before looking at the input", async () => {
    expectError(await api("POST", "/v1/uploads", { body: upload }), 401, "Unauthenticated", "Authorization");
    expectError(await api("POST", "/v1/uploads", { body: "{not json" }), 401, "Unauthenticated");
    expectError(await api("GET", "/v1/uploads"), 401, "Unauthenticated");
    expectError(await api("GET", "/v1/no-such-route"), 401, "Unauthenticated");
  });

  it("refuses bad JWTs: garbage, wrong secret, alg none, other algorithms, expired, no sub", async () => {
    const sub = "au-alice";
    const now = Math.floor(Date.now() / 1000);
    const algNone = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub, exp: now + 3600 })}.`;
    const cases = [
      "Bearer not-a-jwt",
      `Basic ${btoa("au-alice:password")}`,
      `Bearer ${await jwtFor(sub, {}, "another-secret-of-at-least-32-characters")}`,
      `Bearer ${algNone}`,
      `Bearer ${(await jwtFor(sub)).split(".").slice(0, 2).join(".")}.`,
      `Bearer ${await sign({ sub, exp: now + 3600 }, testEnv.JWT_SECRET, "HS512")}`,
      `Bearer ${await jwtFor(sub, { exp: now - 3600 })}`,
      `Bearer ${await jwtFor(sub, { nbf: now + 3600 })}`,
      `Bearer ${await jwtFor(sub, { iat: now + 3600 })}`,
      `Bearer ${await jwtFor("")}`,
      // No exp: it would be valid forever.
      `Bearer ${await sign({ sub }, testEnv.JWT_SECRET, "HS256")}`,
      `Bearer ${await jwtFor(sub, { exp: String(now + 3600) })}`,
    ];
    for (const authorization of cases) expectError(await withAuth(authorization), 401, "Unauthenticated", "JWT");
    // The same request with a good JWT passes, so the refusals above are about the token alone.
    expect((await withAuth(`Bearer ${await jwtFor(sub)}`)).status).toBe(200);
    const noExp = await withAuth(`Bearer ${await sign({ sub }, testEnv.JWT_SECRET, "HS256")}`);
    expectError(noExp, 401, "Unauthenticated", "`exp`");
  });

  it("allows a minute of clock skew between the token's issuer and the server, no more", async () => {
    const sub = "au-alice";
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [{ iat: now + 30 }, { nbf: now + 30 }, { exp: now - 30 }]) {
      expect((await withAuth(`Bearer ${await jwtFor(sub, claims)}`)).status, JSON.stringify(claims)).toBe(200);
    }
    for (const claims of [{ iat: now + 120 }, { nbf: now + 120 }, { exp: now - 120 }]) {
      expectError(await withAuth(`Bearer ${await jwtFor(sub, claims)}`), 401, "Unauthenticated", "JWT");
    }
  });
});

describe("upload tokens", () => {
  const size = 2 * MiB + 1;
  const callsWith = (plan: { uploadId: string }, token: string | undefined, as: string) => [
    api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token, body: { parts: [{ partNumber: 1 }] } }),
    api("GET", `/v1/uploads/${plan.uploadId}/parts`, { as, token }),
    api("POST", `/v1/uploads/${plan.uploadId}/complete`, { as, token, body: { parts: [{ partNumber: 1, etag: '"00"' }] } }),
    api("DELETE", `/v1/uploads/${plan.uploadId}`, { as, token }),
  ];

  it("another subject cannot sign, list, complete or abort an upload, even with its token", async () => {
    const plan = await createMultipart("au-alice", "users/au-alice/mine.bin", size);
    for (const res of await Promise.all(callsWith(plan, plan.token, "au-bob"))) expectError(res, 403, "NotYourUpload", "Upload-Token");
    expect(await uploadIdsInCos("users/au-alice/mine.bin")).toEqual([plan.uploadId]);
  });

  it("a token is bound to its upload", async () => {
    const first = await createMultipart("au-alice", "users/au-alice/one.bin", size);
    const second = await createMultipart("au-alice", "users/au-alice/two.bin", size);
    for (const res of await Promise.all(callsWith(second, first.token, "au-alice"))) expectError(res, 403, "UploadTokenMismatch", "Upload-Token");
    expect(await uploadIdsInCos("users/au-alice/two.bin")).toEqual([second.uploadId]);
  });

  it("refuses missing, tampered, forged and expired tokens", async () => {
    const plan = await createMultipart("au-alice", "users/au-alice/tokens.bin", size);
    const [body, mac] = plan.token.split(".");
    const payload = JSON.parse(atob(body.replace(/-/g, "+").replace(/_/g, "/"))) as UploadTokenPayload;
    const genuine = (changes: Partial<UploadTokenPayload>) => signUploadToken({ ...payload, ...changes }, testEnv.UPLOAD_TOKEN_SECRET);

    for (const res of await Promise.all(callsWith(plan, undefined, "au-alice"))) expectError(res, 401, "UploadTokenMissing", "Upload-Token");
    const forgeries = [
      `${b64url({ ...payload, size: 10 * MiB })}.${mac}`,
      `${body}.${mac.slice(0, -2)}${mac.endsWith("AA") ? "BB" : "AA"}`,
      `${body}.${mac}.extra`,
      "garbage",
      await signUploadToken({ ...payload, partCount: 1000 }, "a-wrong-secret-of-at-least-32-characters"),
    ];
    for (const token of forgeries) {
      for (const res of await Promise.all(callsWith(plan, token, "au-alice"))) expectError(res, 403, "UploadTokenInvalid", "Upload-Token");
    }
    const expired = await genuine({ exp: Math.floor(Date.now() / 1000) - 1 });
    for (const res of await Promise.all(callsWith(plan, expired, "au-alice"))) expectError(res, 403, "UploadTokenExpired", "Upload-Token");
    // The genuine token still works, so each refusal above was about the token.
    expect((await api("GET", `/v1/uploads/${plan.uploadId}/parts`, { as: "au-alice", token: plan.token })).status).toBe(200);
    expect((await api("GET", `/v1/uploads/${plan.uploadId}/parts`, { as: "au-alice", token: await genuine({}) })).status).toBe(200);
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    SELF.fetch("http://api/v1/uploads", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, upload-token" },
    }).then(record);

  it("answers a preflight from a configured origin, cached", async () => {
    const res = await preflight("http://app.example");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://app.example");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("access-control-allow-methods")).toContain("DELETE");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("upload-token");
  });

  it("gives a foreign origin nothing", async () => {
    const res = await preflight("http://evil.example");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const call = await api("GET", "/v1/uploads", { as: "au-alice", headers: { origin: "http://evil.example" } });
    expect(call.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets the page read answers and errors alike", async () => {
    const ok = await api("GET", "/v1/uploads", { as: "au-alice", headers: { origin: "http://app.example" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://app.example");
    expect(ok.headers.get("access-control-expose-headers")).toContain("x-request-id");
    const refused = await api("GET", "/v1/uploads", { headers: { origin: "http://app.example" } });
    expectError(refused, 401, "Unauthenticated");
    expect(refused.headers.get("access-control-allow-origin")).toBe("http://app.example");
  });
});

describe("requests refused before any route", () => {
  it("413 for a JSON body over 1 MB", async () => {
    const big = JSON.stringify({ ...upload, metadata: { pad: "x".repeat(MiB) } });
    expectError(await api("POST", "/v1/uploads", { as: "au-alice", body: big }), 413, "BodyTooLarge", "body");
  });

  it("413 for a streamed body over 1 MB, which announces no length", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 17) controller.enqueue(chunk);
        else controller.close();
      },
    });
    // In process: through SELF, workerd logs the aborted request pipe as an uncaught error.
    const init = { method: "POST", headers: { authorization: `Bearer ${await jwtFor("au-alice")}`, "content-type": "application/json" }, body };
    expectError(await record(await createApp().request("/v1/uploads", init, testEnv)), 413, "BodyTooLarge", "body");
    expect(sent).toBeLessThan(18);
  });

  it("accepts JSON with a charset parameter", async () => {
    const res = await api("POST", "/v1/uploads", { as: "au-alice", body: JSON.stringify(upload), headers: { "content-type": "application/json; charset=utf-8" } });
    expect(res.status, res.text).toBe(200);
  });

  it("415 for a body that is not JSON", async () => {
    const res = await api("POST", "/v1/uploads", { as: "au-alice", body: JSON.stringify(upload), headers: { "content-type": "text/plain" } });
    expectError(res, 415, "UnsupportedMediaType", "Content-Type");
  });

  it("400 for malformed JSON and for a missing field", async () => {
    expectError(await api("POST", "/v1/uploads", { as: "au-alice", body: '{"key": "users/au-alice/x", "size": ' }), 400, "InvalidInput", "body");
    expectError(await api("POST", "/v1/uploads", { as: "au-alice", body: { key: "users/au-alice/x" } }), 400, "InvalidInput", "body.size");
    expectError(await api("POST", "/v1/uploads", { as: "au-alice", body: [] }), 400, "InvalidInput", "body");
  });

  it("404 JSON for unknown routes and methods", async () => {
    expectError(await api("GET", "/v1/no-such-route", { as: "au-alice" }), 404, "NotFound", "/v1/no-such-route");
    expectError(await api("PUT", "/v1/uploads", { as: "au-alice", body: upload }), 404, "NotFound");
    expectError(await api("GET", "/nowhere"), 404, "NotFound");
    const health = await api("GET", "/healthz");
    expect([health.status, health.body]).toEqual([200, { ok: true }]);
  });
});
