// createApp as a library user builds it (hooks, Config in code), configuration from the
// environment (errors, AUTH_MODE=none), COS failures as 502s, and what reaches the logs.
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createApp, type CompletedUpload } from "../../functions/app";
import { crc64 } from "../../functions/cos/crc64";
import { CONFIG_DEFAULTS, type Config } from "../../functions/config";
import { AUTH_NONE_WARNING } from "../../functions/policy/auth";
import {
  api,
  bytes,
  cos,
  credentials,
  expectError,
  expectNoSecretsSeen,
  injectFault,
  jwtFor,
  md5Hex,
  MiB,
  putPart,
  record,
  remember,
  requestInit,
  SECRETS,
  splitParts,
  target,
  testEnv,
  type CallOptions,
  type MultipartPlan,
  type SignedPart,
} from "./api-helpers";

afterAll(expectNoSecretsSeen);
afterEach(() => vi.restoreAllMocks());

const config: Partial<Config> = {
  ...CONFIG_DEFAULTS,
  cos: { credentials, target },
  uploadTokenSecret: testEnv.UPLOAD_TOKEN_SECRET,
  auth: { mode: "jwt", secret: testEnv.JWT_SECRET },
  partSize: MiB,
  singlePutThreshold: MiB,
};
type App = ReturnType<typeof createApp>;

/** app.request with a JWT for `as` (when given), recorded for the secret check. */
async function call(app: App, method: string, path: string, options: CallOptions = {}, env?: Record<string, unknown>) {
  const jwt = options.as ? await jwtFor(options.as) : undefined;
  return record(await app.request(path, requestInit(method, options, jwt), env));
}

/** Collects what console.error and console.log were given while `run` ran. */
async function logsOf(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const keep = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  vi.spyOn(console, "error").mockImplementation(keep);
  vi.spyOn(console, "log").mockImplementation(keep);
  await run();
  vi.restoreAllMocks();
  remember(...lines);
  return lines;
}

/** Creates a multipart upload through `app` and PUTs every part; returns the plan and the parts to complete with. */
async function uploadAllParts(app: App, as: string, key: string, data: Uint8Array<ArrayBuffer>) {
  const created = await call(app, "POST", "/v1/uploads", { as, body: { key, size: data.length, contentType: "video/mp4" } });
  const plan = created.body as MultipartPlan;
  expect(plan.uploadId, created.text).toBeDefined();
  const numbers = Array.from({ length: plan.partCount }, (_, i) => ({ partNumber: i + 1 }));
  const signed = await call(app, "POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts: numbers } });
  const chunks = splitParts(data, plan);
  const etags = await Promise.all((signed.body.parts as SignedPart[]).map((p, i) => putPart(p, chunks[i])));
  return { plan, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) };
}

describe("onUploadCompleted", () => {
  const completed: CompletedUpload[] = [];
  const app = createApp({ ...config, onUploadCompleted: (info) => void completed.push(info) });

  it("gets HEAD-verified figures after a single PUT is confirmed", async () => {
    const key = "users/ap-hook/single.txt";
    const body = new TextEncoder().encode("verified by HEAD");
    const plan = await call(app, "POST", "/v1/uploads", { as: "ap-hook", body: { key, size: body.length, contentType: "text/plain" } });
    expect(plan.body.kind, plan.text).toBe("single");
    expect((await fetch(plan.body.url, { method: "PUT", headers: plan.body.headers, body })).status).toBe(200);
    expect(completed).toEqual([]);

    const confirmed = await call(app, "POST", "/v1/objects/confirm", { as: "ap-hook", body: { key } });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(completed).toEqual([
      { key, size: body.length, etag: `"${await md5Hex(body)}"`, crc64: crc64(body).toString(), contentType: "text/plain", subject: "ap-hook", uploadId: undefined, location: expect.stringContaining(key) },
    ]);
  });

  it("gets HEAD-verified figures and the upload id after a multipart complete", async () => {
    completed.length = 0;
    const key = "users/ap-hook/multi.bin";
    const data = bytes(MiB + 77, 11);
    const { plan, parts } = await uploadAllParts(app, "ap-hook", key, data);
    expect(plan.partCount).toBe(2);
    expect(completed).toEqual([]);
    const done = await call(app, "POST", `/v1/uploads/${plan.uploadId}/complete`, { as: "ap-hook", token: plan.token, body: { parts } });
    expect(done.status, done.text).toBe(200);
    expect(completed).toEqual([{ ...done.body, subject: "ap-hook", uploadId: plan.uploadId }]);
    expect(completed[0]).toMatchObject({ size: data.length, crc64: crc64(data).toString(), contentType: "video/mp4", etag: expect.stringMatching(/-2"$/) });
  });

  it("on a retried complete, runs only for this upload's object, with its upload id", async () => {
    const key = "users/ap-hook/retried.bin";
    const data = bytes(MiB + 9, 12);
    const { plan, parts } = await uploadAllParts(app, "ap-hook", key, data);
    const complete = () => call(app, "POST", `/v1/uploads/${plan.uploadId}/complete`, { as: "ap-hook", token: plan.token, body: { parts } });
    expect((await complete()).status).toBe(200);
    completed.length = 0;
    const retried = await complete();
    expect(retried.status, retried.text).toBe(200);
    expect(completed).toEqual([{ ...retried.body, subject: "ap-hook", uploadId: plan.uploadId }]);

    // Another upload at the same key, aborted; then other objects PUT there (one of another size,
    // one of the same size in one piece): a complete retried with the aborted upload's token finds
    // an object that is not this upload's.
    completed.length = 0;
    const aborted = await uploadAllParts(app, "ap-hook", key, data);
    expect((await call(app, "DELETE", `/v1/uploads/${aborted.plan.uploadId}`, { as: "ap-hook", token: aborted.plan.token })).status).toBe(204);
    for (const other of [bytes(3, 1), data]) {
      await cos.putObject(key, other, { "content-type": "video/mp4" });
      const stale = await call(app, "POST", `/v1/uploads/${aborted.plan.uploadId}/complete`, { as: "ap-hook", token: aborted.plan.token, body: { parts: aborted.parts } });
      expectError(stale, 404, "UploadNotFound", "uploadId");
    }
    expect(completed).toEqual([]);
  });
});

describe("authorize hook", () => {
  const app = createApp({
    ...config,
    authorize: (c) => {
      const user = c.req.header("x-user");
      if (!user) return null;
      return { subject: user, grant: user === "tenant" ? { keyPrefix: "tenants/acme/" } : { maxUploadBytes: 10, allowedContentTypes: ["text/plain"] } };
    },
  });
  const create = (user: string | undefined, body: Record<string, unknown>) =>
    call(app, "POST", "/v1/uploads", { body: { contentType: "text/plain", ...body }, headers: user ? { "x-user": user } : {} });

  it("replaces the JWT check: no principal is 401, a JWT alone is not enough", async () => {
    expectError(await create(undefined, { key: "users/ap-small/a.txt", size: 1 }), 401, "Unauthenticated");
    const withJwt = await call(app, "POST", "/v1/uploads", { as: "ap-small", body: { key: "users/ap-small/a.txt", size: 1, contentType: "text/plain" } });
    expectError(withJwt, 401, "Unauthenticated");
  });

  it("narrows the grant: a smaller size cap, fewer types, another prefix", async () => {
    expect((await create("ap-small", { key: "users/ap-small/a.txt", size: 10 })).status).toBe(200);
    const tooBig = await create("ap-small", { key: "users/ap-small/a.txt", size: 11 });
    expectError(tooBig, 413, "TooLarge", "body.size");
    expect(tooBig.body.error.details).toMatchObject({ limit: 10 });
    expectError(await create("ap-small", { key: "users/ap-small/a.png", size: 1, contentType: "image/png" }), 415, "ContentTypeNotAllowed", "body.contentType");
    expectError(await create("tenant", { key: "users/tenant/a.txt", size: 1 }), 403, "KeyOutsidePrefix", "tenants/acme/");
    expect((await create("tenant", { key: "tenants/acme/a.txt", size: 1 })).status).toBe(200);
  });

  it("cannot widen the grant: a bigger size cap or a longer URL lifetime falls back to the configured one; a prefix without / is a ConfigError", async () => {
    const { maxUploadBytes, presignExpiresSeconds } = CONFIG_DEFAULTS;
    const hooked = (grant: Record<string, unknown>) => createApp({ ...config, authorize: () => ({ subject: "ap-wide", grant }) });
    const wide = hooked({ maxUploadBytes: maxUploadBytes * 1000, presignExpiresSeconds: 90 * 24 * 3600 });
    const tooBig = await call(wide, "POST", "/v1/uploads", { body: { key: "users/ap-wide/a.txt", size: maxUploadBytes + 1, contentType: "text/plain" } });
    expectError(tooBig, 413, "TooLarge", "body.size");
    const single = await call(wide, "POST", "/v1/uploads", { body: { key: "users/ap-wide/a.txt", size: 1, contentType: "text/plain", expires: 7 * 24 * 3600 } });
    expect(single.status).toBe(200);
    const lifetime = (Date.parse(single.body.expiresAt) - Date.now()) / 1000;
    expect(lifetime).toBeLessThanOrEqual(presignExpiresSeconds + 5);
    for (const keyPrefix of ["tenants", "../tenants/", ""]) {
      const res = await call(hooked({ keyPrefix }), "POST", "/v1/uploads", { body: { key: `${keyPrefix}a.txt`, size: 1, contentType: "text/plain" } });
      expectError(res, 500, "ConfigError", "grant.keyPrefix");
    }
  });
});

describe("configuration from the environment", () => {
  const goodEnv: Record<string, unknown> = { ...testEnv };
  const upload = { as: "ap-cfg", body: { key: "users/ap-cfg/a.txt", size: 1, contentType: "text/plain" } };

  it.each([
    ["PART_SIZE", "twelve-ish"],
    ["PART_SIZE", "1048575"],
    ["MAX_UPLOAD_BYTES", "-987654321"],
    ["UPLOAD_TOKEN_SECRET", "too-short-secret-value"],
    ["JWT_SECRET", "short-jwt-secret"],
    ["COS_BUCKET", "Bucket_Without_AppId"],
    ["COS_ENDPOINT", "ftp://cos.example/path"],
    ["AUTH_MODE", "trust-everyone"],
    ["KEY_PREFIX", "shared-prefix/"],
    ["KEY_PREFIX", "users/{sub}"],
    ["KEY_PREFIX", "users/{sub}-files/"],
  ])("500 ConfigError naming %s, never its value, logged once", async (variable, value) => {
    const app = createApp();
    const logs = await logsOf(async () => {
      for (let i = 0; i < 2; i++) {
        const res = await call(app, "POST", "/v1/uploads", upload, { ...goodEnv, [variable]: value });
        expectError(res, 500, "ConfigError", variable);
        expect(res.text).not.toContain(value);
      }
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(variable);
    expect(logs[0]).not.toContain(value);
  });

  it("500 ConfigError naming a missing variable", async () => {
    for (const variable of ["COS_SECRET_KEY", "COS_SECRET_ID", "UPLOAD_TOKEN_SECRET", "JWT_SECRET"]) {
      const { [variable]: _dropped, ...env } = goodEnv;
      const logs = await logsOf(async () => expectError(await call(createApp(), "GET", "/v1/uploads", { as: "ap-cfg" }, env), 500, "ConfigError", variable));
      expect(logs.join("\n")).toContain(variable);
    }
  });

  it("checks JWT_ISSUER and JWT_AUDIENCE when they are set", async () => {
    const app = createApp();
    const env = { ...goodEnv, JWT_ISSUER: "https://idp.example", JWT_AUDIENCE: "cos-direct" };
    const withClaims = async (claims: Record<string, unknown>) =>
      record(await app.request("/v1/uploads", requestInit("GET", {}, await jwtFor("ap-cfg", claims)), env));
    expect((await withClaims({ iss: "https://idp.example", aud: "cos-direct" })).status).toBe(200);
    expectError(await withClaims({ iss: "https://evil.example", aud: "cos-direct" }), 401, "Unauthenticated", "JWT");
    expectError(await withClaims({ iss: "https://idp.example", aud: "another-api" }), 401, "Unauthenticated", "JWT");
    expectError(await withClaims({ iss: "https://idp.example" }), 401, "Unauthenticated", "JWT");
    expectError(await withClaims({ aud: "cos-direct" }), 401, "Unauthenticated", "JWT");
  });

  it("AUTH_MODE=none trusts x-dev-subject and says so on every response", async () => {
    const app = createApp();
    const env = { ...goodEnv, AUTH_MODE: "none" };
    const dev = await call(app, "POST", "/v1/uploads", { body: { key: "users/dev/a.txt", size: 1, contentType: "text/plain" } }, env);
    expect(dev.status, dev.text).toBe(200);
    const picked = await call(app, "POST", "/v1/uploads", { body: { key: "users/ap-dev/a.txt", size: 1, contentType: "text/plain" }, headers: { "x-dev-subject": "ap-dev" } }, env);
    expect(picked.status, picked.text).toBe(200);
    const other = await call(app, "POST", "/v1/uploads", { body: { key: "users/dev/a.txt", size: 1, contentType: "text/plain" }, headers: { "x-dev-subject": "ap-dev" } }, env);
    expectError(other, 403, "KeyOutsidePrefix", "body.key");
    const missing = await call(app, "GET", "/v1/nowhere", {}, env);
    for (const res of [dev, picked, other, missing]) expect(res.headers.get("x-cos-direct-warning")).toBe(AUTH_NONE_WARNING);

    const jwt = await call(app, "POST", "/v1/uploads", upload, goodEnv);
    expect(jwt.status).toBe(200);
    expect(jwt.headers.get("x-cos-direct-warning")).toBeNull();
    expectError(await call(app, "GET", "/v1/uploads", {}, goodEnv), 401, "Unauthenticated");
  });
});

describe("COS failures", () => {
  it("502 CosError with COS's code and request id, through the Workers entry", async () => {
    const key = "users/ap-cos/initiate-fails.bin";
    await injectFault({ kind: "500", method: "POST", query: "uploads", path: key });
    let res: Awaited<ReturnType<typeof api>> | undefined;
    const logs = await logsOf(async () => {
      res = await api("POST", "/v1/uploads", { as: "ap-cos", body: { key, size: 2 * MiB, contentType: "video/mp4" } });
    });
    expectError(res!, 502, "CosError", "InternalError");
    expect(logs.join("\n")).toContain("InternalError");
    expect(res!.body.error.details).toMatchObject({ cosCode: "InternalError", cosStatus: 500, cosRequestId: expect.stringMatching(/\S/) });
    expect(res!.body.error.message).toContain(`COS request id ${res!.body.error.details.cosRequestId}`);
  });

  it("502 CosError RequestFailed when COS does not answer at all (connection refused), not a 500", async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const app = createApp({ ...config, cos: { credentials, target: { ...target, endpoint: "http://127.0.0.1:9" } } });
    const res = await call(app, "POST", "/v1/uploads", { as: "ap-cos", body: { key: "users/ap-cos/unreachable.bin", size: 2 * MiB, contentType: "video/mp4" } });
    expectError(res, 502, "CosError", "RequestFailed");
    expect(res.body.error.details).toMatchObject({ cosCode: "RequestFailed", cosStatus: 0 });
  });

  it("logs the failure with the request id and no secret", async () => {
    const app = createApp(config);
    const key = "users/ap-cos/complete-fails.bin";
    const { plan, parts } = await uploadAllParts(app, "ap-cos", key, bytes(MiB + 1, 2));
    await injectFault({ kind: "complete-error-in-200", path: key });
    let res: Awaited<ReturnType<typeof call>> | undefined;
    const logs = await logsOf(async () => {
      res = await call(app, "POST", `/v1/uploads/${plan.uploadId}/complete`, { as: "ap-cos", token: plan.token, body: { parts } });
    });
    expectError(res!, 502, "CosError");
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join("\n")).toContain(res!.body.error.requestId);
    for (const secret of SECRETS) expect(logs.join("\n")).not.toContain(secret);
  });
});
