// Property-based fuzzing of every route (issue 6 "Hostile input"): fast-check builds requests from
// each route's body, query, headers and path, mostly almost-valid so they get past authentication
// and validation, and sends them to the Workers entry in workerd, which talks to cos-local. For every
// request: no 5xx, every error is the JSON error shape with a code, an answer within 1 s, and no
// secret in the response or in anything the worker logged. 1,000 cases in `npm test`; the soak
// raises it with FUZZ_RUNS (a binding set in vitest.config.ts from the environment).
import * as fc from "fast-check";
import { sign } from "hono/jwt";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { callWorker, createMultipart, expectNoSecretsSeen, jwtFor, MiB, record, remember, SECRETS, testEnv, type MultipartPlan } from "./api-helpers";

afterAll(expectNoSecretsSeen);
afterEach(() => vi.restoreAllMocks());

const RUNS = Number(testEnv.FUZZ_RUNS ?? 1000);
const SLOW_MS = 1000;

// ---- values an attacker (or a buggy client) might put in any field ----
const anything: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(null, true, -1, 0, 1.5, 2 ** 53, -(2 ** 63), 1e308, "", "0", "NaN", [], {}),
);
/** A field's value: usually of the right type (so validation goes deeper), sometimes anything. */
const field = <T>(typed: fc.Arbitrary<T>) => fc.oneof({ arbitrary: typed, weight: 4 }, { arbitrary: anything, weight: 1 });

const SUBJECTS = ["fz-alice", "fz-bob"];
const TRICKY_TEXT = [
  "%2e%2e/", "..%2f", "%252e%252e/", "\uff0e\uff0e/", "\u2025/", "\u2024\u2024/", "//", "\\", "..\\", "\u0000", "%00", "\u202e", "\ud800",
  "a".repeat(900), "é".repeat(430), "?", "#", " ", "\r\n",
];
const tricky = fc.constantFrom(...TRICKY_TEXT);
/** encodeURIComponent that also takes lone surrogates (as U+FFFD), so every generated path is a URL. */
const encode = (s: string) => encodeURIComponent(new TextDecoder().decode(new TextEncoder().encode(s)));
const text = fc.oneof(fc.string({ unit: "grapheme", maxLength: 30 }), fc.string({ unit: "binary", maxLength: 30 }), tricky);
const keyFor = (subject: string) =>
  fc.oneof(
    fc.tuple(fc.array(fc.oneof(text, fc.constantFrom("a", "b.txt", "dir")), { minLength: 1, maxLength: 4 })).map(([parts]) => `users/${subject}/${parts.join("/")}`),
    fc.tuple(fc.constantFrom("users/fz-bob/", "users/", "", "/users/fz-alice/", "users/fz-alice"), text).map(([p, t]) => p + t),
    fc.constantFrom(`users/${subject}/x.bin`, `users/${subject}/%2e%2e/fz-bob/x`, `users/${subject}/\uff0e\uff0e/x`),
  );
const size = fc.oneof(fc.nat({ max: 4 * MiB }), fc.integer({ min: -10, max: 10 }), fc.constantFrom(MiB, MiB + 1, 100 * MiB, 100 * MiB + 1, 5 * 1024 ** 4, 2 ** 53), fc.double());
const goodType = fc.constantFrom("text/plain", "image/png", "application/pdf", "application/x-msdownload", "text/plain; charset=utf-8", "image/*", "*/*");
// A valid type with tricky text after it ("text/plain\r\n", "text/plain\ud800") reaches the code past the first checks.
const contentType = fc.oneof(goodType, text, fc.tuple(goodType, tricky).map(([type, tail]) => type + tail));
const md5 = fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => btoa(String.fromCharCode(...b))), text);
const partNumber = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: -2, max: 10_002 }));
const optional = <T extends Record<string, fc.Arbitrary<unknown>>>(fields: T) => fc.record(fields, { requiredKeys: [] });

const objectOptions = {
  contentType: field(contentType),
  metadata: field(fc.dictionary(fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,8}$/), text), fc.oneof(text, fc.constant("x".repeat(2100))), { maxKeys: 3 })),
  storageClass: field(fc.constantFrom("STANDARD", "ARCHIVE", "standard", "GLACIER")),
  cacheControl: field(text),
  contentDisposition: field(text),
  contentEncoding: field(text),
};
const bodies = (subject: string): Record<string, fc.Arbitrary<unknown>> => ({
  create: optional({
    ...objectOptions,
    key: field(keyFor(subject)),
    filename: field(text),
    size: field(size),
    md5: field(md5),
    partSize: field(fc.oneof(fc.constantFrom(MiB, MiB - 1, 5 * 1024 ** 3 + 1), fc.integer())),
    trafficLimit: field(fc.integer({ min: 0, max: 900_000_000 })),
    maxSinglePutSize: field(fc.integer({ min: -1, max: 2 * MiB })),
  }),
  parts: optional({
    parts: field(fc.array(optional({ partNumber: field(partNumber), md5: field(md5), size: field(size) }), { maxLength: 5 })),
    expires: field(fc.integer({ min: -1, max: 8 * 24 * 3600 })),
    trafficLimit: field(fc.integer({ min: 0, max: 900_000_000 })),
  }),
  complete: optional({ parts: field(fc.array(optional({ partNumber: field(partNumber), etag: field(text) }), { maxLength: 5 })) }),
  confirm: optional({ key: field(keyFor(subject)) }),
  append: optional({ key: field(keyFor(subject)), position: field(size), size: field(size), contentType: field(contentType), expires: field(fc.integer()) }),
  download: optional({ key: field(keyFor(subject)), filename: field(text), expires: field(fc.integer()), trafficLimit: field(fc.integer()) }),
  forms: optional({ key: field(keyFor(subject)), keyPrefix: field(keyFor(subject)), contentType: field(contentType), maxBytes: field(size), expires: field(fc.integer()) }),
  authorize: optional({
    method: field(fc.constantFrom("PUT", "POST", "GET", "HEAD", "DELETE", "put", "OPTIONS", "PATCH")),
    key: field(fc.oneof(keyFor(subject), fc.constant(""))),
    pathname: field(fc.oneof(keyFor(subject).map((k) => `/${k}`), text)),
    query: field(fc.dictionary(fc.oneof(fc.constantFrom("uploads", "uploadId", "partNumber", "append", "position", "prefix", "acl", "x-cos-traffic-limit", "response-content-type", "tagging"), text), fc.oneof(text, fc.integer()), { maxKeys: 3 })),
    headers: field(fc.dictionary(fc.oneof(fc.constantFrom("Content-Length", "content-type", "Content-MD5", "x-cos-acl", "Host", "x-cos-meta-a", "x-cos-copy-source"), text), fc.oneof(text, fc.integer(), fc.constant("12")), { maxKeys: 3 })),
  }),
});

// ---- the request around the body ----
let uploads: MultipartPlan[] = [];
const jwts = new Map<string, string>();
let wrongSecretJwt = "";
let noneJwt = "";
let hs512Jwt = "";
const BIG = JSON.stringify({ key: "users/fz-alice/big", size: 1, metadata: { pad: "x".repeat(MiB + 10) } });
const DEEP = `${"[".repeat(50_000)}${"]".repeat(50_000)}`;

const authorization = (subject: string) =>
  fc.oneof(
    { arbitrary: fc.constant(`Bearer ${jwts.get(subject)}`), weight: 12 },
    { arbitrary: fc.constantFrom(undefined, `Bearer ${wrongSecretJwt}`, `Bearer ${noneJwt}`, `Bearer ${hs512Jwt}`, "Bearer", "Basic Zm9vOmJhcg=="), weight: 2 },
    { arbitrary: fc.string({ unit: fc.constantFrom(..."abcXYZ019-_.= "), maxLength: 60 }).map((s) => `Bearer ${s}`), weight: 1 },
  );
/** An upload token: a real one (maybe someone else's, maybe tampered), or none, or junk. */
const uploadToken = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 99 }).map((i) => uploads[i % uploads.length].token), weight: 6 },
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 99 }), fc.nat(200), fc.constantFrom("A", "_", ".", "")).map(([i, at, c]) => tamper(uploads[i % uploads.length].token, at, c)), weight: 2 },
  { arbitrary: fc.oneof(fc.constant(undefined), fc.string({ unit: fc.constantFrom(..."abcAB09-_."), maxLength: 80 })), weight: 2 },
);
const tamper = (token: string, at: number, c: string) => token.slice(0, at % token.length) + c + token.slice((at % token.length) + 1);
/** The {uploadId} path segment: a real id (usually the token's), or another caller's, or an attack on the path. */
const uploadId = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 99 }).map((i) => uploads[i % uploads.length].uploadId), weight: 6 },
  { arbitrary: fc.oneof(tricky.map(encode), tricky, text.map(encode), fc.constantFrom("%2e%2e", "..", ".", "%2f", "x%00", "%ff")), weight: 3 },
);
const requestContentType = fc.oneof(
  { arbitrary: fc.constant("application/json"), weight: 10 },
  { arbitrary: fc.constantFrom(undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "application/vnd.x+json", "APPLICATION/JSON", "application/jsonx"), weight: 2 },
);
const query = fc.oneof(
  { arbitrary: fc.constant(""), weight: 6 },
  { arbitrary: fc.dictionary(text, text, { maxKeys: 3 }).map((q) => `?${new URLSearchParams(q)}`), weight: 1 },
  { arbitrary: fc.constantFrom("?uploads", "?partNumber=1&uploadId=x", "?%zz", "?a=%00&a=1"), weight: 1 },
);
/** Extra headers (names HTTP allows, printable ASCII values), sometimes ones the API reads. */
const extraHeaders = fc.dictionary(
  fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.constantFrom("origin", "x-dev-subject", "content-length-x", "x-forwarded-for", "range", "accept")),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  { maxKeys: 3 },
);

type Route = { method: string; path: (id: string) => string; body?: string };
const ROUTES: Route[] = [
  { method: "POST", path: () => "/v1/uploads", body: "create" },
  { method: "GET", path: () => "/v1/uploads" },
  { method: "POST", path: (id) => `/v1/uploads/${id}/parts`, body: "parts" },
  { method: "GET", path: (id) => `/v1/uploads/${id}/parts` },
  { method: "POST", path: (id) => `/v1/uploads/${id}/complete`, body: "complete" },
  { method: "DELETE", path: (id) => `/v1/uploads/${id}` },
  { method: "POST", path: () => "/v1/objects/confirm", body: "confirm" },
  { method: "POST", path: () => "/v1/objects/append", body: "append" },
  { method: "POST", path: () => "/v1/objects/download", body: "download" },
  { method: "POST", path: () => "/v1/forms", body: "forms" },
  { method: "POST", path: () => "/v1/authorize", body: "authorize" },
  { method: "GET", path: () => "/v1/openapi.json" },
  { method: "GET", path: () => "/healthz" },
];
/** Any method on any path: unknown routes, encoded segments, methods the API does not serve. */
const strayRoute = fc
  .tuple(fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"), fc.array(fc.oneof(fc.constantFrom("v1", "uploads", "parts", "complete", "objects", "forms"), text.map(encode), tricky), { maxLength: 5 }))
  .map(([method, segments]): Route => ({ method, path: () => `/${segments.join("/")}` }));

interface Case {
  route: Route;
  id: string;
  subject: string;
  body: unknown;
  rawBody?: string;
  headers: Record<string, string | undefined>;
  query: string;
}
const caseArb: fc.Arbitrary<Case> = fc.constantFrom(...SUBJECTS).chain((subject) =>
  fc.record({
    route: fc.oneof({ arbitrary: fc.constantFrom(...ROUTES), weight: 9 }, { arbitrary: strayRoute, weight: 1 }),
    id: uploadId,
    subject: fc.constant(subject),
    body: fc.oneof({ arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary: anything, weight: 1 }),
    rawBody: fc.oneof({ arbitrary: fc.constant(undefined), weight: 30 }, { arbitrary: fc.constantFrom(BIG, DEEP, "{", "{\"size\":1e999}", "\u0000", '{"__proto__":{"admin":true},"size":1}'), weight: 1 }),
    headers: fc.record({ authorization: authorization(subject), "upload-token": uploadToken, "content-type": requestContentType, extra: extraHeaders }).map(({ extra, ...known }) => ({ ...extra, ...known })),
    query,
  }).chain((c) => (c.route.body ? bodies(subject)[c.route.body].map((body) => ({ ...c, body: c.body === undefined ? body : c.body })) : fc.constant(c))),
);

function requestOf(c: Case): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(c.headers)) if (value !== undefined) headers.set(name, value);
  const hasBody = !["GET", "HEAD"].includes(c.route.method);
  const body = !hasBody ? undefined : (c.rawBody ?? (c.body === undefined ? undefined : JSON.stringify(c.body)));
  return new Request(`http://api${c.route.path(c.id)}${c.query}`, { method: c.route.method, headers, body });
}

/** A request that never answers fails the case (with its URL) instead of timing out the whole run. */
function answerWithin(response: Promise<Response>, what: string): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${5 * SLOW_MS} ms: ${what}`)), 5 * SLOW_MS)));
  return Promise.race([response, late]).finally(() => clearTimeout(timer));
}

/** Everything console.* was given while the fuzz ran. */
const logged: string[] = [];
function captureLogs(): void {
  const keep = (...args: unknown[]) => void logged.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}\n${a.stack}` : String(a))).join(" "));
  for (const level of ["log", "error", "warn", "info", "debug"] as const) vi.spyOn(console, level).mockImplementation(keep);
}

beforeAll(async () => {
  for (const subject of SUBJECTS) jwts.set(subject, await jwtFor(subject));
  wrongSecretJwt = await jwtFor("fz-alice", {}, "fuzz-wrong-secret-0123456789abcdefghijkl");
  noneJwt = `${btoa('{"alg":"none","typ":"JWT"}').replace(/=+$/, "")}.${btoa('{"sub":"fz-alice"}').replace(/=+$/, "")}.`;
  // Real uploads, so tokens and ids reach listParts, complete and abort on cos-local.
  uploads = await Promise.all([
    createMultipart("fz-alice", "users/fz-alice/one.bin", 3 * MiB),
    createMultipart("fz-alice", "users/fz-alice/two.bin", 2 * MiB + 1),
    createMultipart("fz-bob", "users/fz-bob/three.bin", 2 * MiB),
  ]);
  // An HS512 token with the right secret: pinned HS256 must refuse it too.
  hs512Jwt = await sign({ sub: "fz-alice", exp: Math.floor(Date.now() / 1000) + 3600 }, testEnv.JWT_SECRET, "HS512");
});

describe("fuzzing every route", () => {
  it(`${RUNS} requests: no 5xx, JSON errors with a code, answers within ${SLOW_MS} ms, no secret in answers or logs`, async () => {
    captureLogs();
    const statuses = new Map<number, number>();
    let slowest = 0;
    let inRequests = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const request = requestOf(c);
        const started = performance.now();
        const res = await record(await answerWithin(callWorker(request), `${request.method} ${request.url}`));
        const elapsed = performance.now() - started;
        slowest = Math.max(slowest, elapsed);
        inRequests += elapsed;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const what = `${request.method} ${request.url} -> ${res.status} ${res.text.slice(0, 300)}`;
        expect(res.status, what).toBeLessThan(500);
        expect(elapsed, `${what} took ${Math.round(elapsed)} ms`).toBeLessThan(SLOW_MS);
        if (res.status >= 400 && request.method !== "HEAD") {
          expect(res.headers.get("content-type"), what).toMatch(/^application\/json/);
          expect(res.body?.error, what).toMatchObject({ code: expect.stringMatching(/^[A-Za-z]+$/), message: expect.any(String), requestId: expect.any(String) });
        }
        const seen = [res.text, ...[...res.headers].map(([n, v]) => `${n}: ${v}`), ...logged];
        for (const secret of SECRETS) expect(seen.filter((t) => t.includes(secret)), what).toEqual([]);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    vi.restoreAllMocks();
    remember(...logged);
    // The mix reached deep into the routes, not only the front door.
    expect(Object.fromEntries(statuses)).toMatchObject({ 200: expect.any(Number), 400: expect.any(Number), 401: expect.any(Number), 403: expect.any(Number) });
    console.log(`fuzz: ${RUNS} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, slowest ${Math.round(slowest)} ms, ${Math.round(inRequests)} ms in requests`);
  }, 30_000 + RUNS * 60);
});
