// Shared by the workerd API tests (issue 3 "Tests"): JWTs for test subjects, calls to the real
// Workers entry through SELF.fetch, presigned requests against cos-local, faults, and a record of
// every response so each file can check that no secret ever left the worker.
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { sign } from "hono/jwt";
import { expect } from "vitest";
import { CosClient } from "../../functions/cos/client";
import { encodeKeyPath } from "../../functions/cos/endpoint";
import worker from "../../functions/index";

export { bytes } from "../shared/bytes";

export interface TestEnv {
  COS_ENDPOINT: string;
  COS_SECRET_ID: string;
  COS_SECRET_KEY: string;
  COS_BUCKET: string;
  COS_REGION: string;
  UPLOAD_TOKEN_SECRET: string;
  JWT_SECRET: string;
}
export const testEnv = env as unknown as TestEnv & Record<string, unknown>;
export const credentials = { secretId: testEnv.COS_SECRET_ID, secretKey: testEnv.COS_SECRET_KEY };
export const target = { bucket: testEnv.COS_BUCKET, region: testEnv.COS_REGION, endpoint: testEnv.COS_ENDPOINT };
/** Talks to cos-local directly, to check what the API did there. */
export const cos = new CosClient({ credentials, target });
export const MiB = 1024 * 1024;

/** cos-local's path-style URL of `key` (or of the bucket, for ""), with `query` as given ("?uploads"). */
export function cosUrl(key: string, query = ""): string {
  return `${target.endpoint}/${target.bucket}/${encodeKeyPath(key)}${query}`;
}


export function concat(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Byte equality without a 2 MiB deep-equal diff: length, then the first differing offset. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.findIndex((b, i) => b !== expected[i])).toBe(-1);
}

export async function md5Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("MD5", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Arms a cos-local fault (emulator/README.md "Faults and counters"). */
export async function injectFault(fault: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${testEnv.COS_ENDPOINT}/_cos-local/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(fault) });
  expect(res.status).toBeLessThan(300);
}

/** An HS256 JWT for `sub`, valid for an hour unless `claims` say otherwise. */
export async function jwtFor(sub: string, claims: Record<string, unknown> = {}, secret = testEnv.JWT_SECRET): Promise<string> {
  return sign({ sub, exp: Math.floor(Date.now() / 1000) + 3600, ...claims }, secret, "HS256");
}

// Every response body and header the tests saw; expectNoSecretsSeen() looks for the secrets in it.
const seen: string[] = [];
export const SECRETS = [testEnv.COS_SECRET_KEY, testEnv.UPLOAD_TOKEN_SECRET, testEnv.JWT_SECRET];

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON, typed loosely: the tests read whatever the route answered. */
  body: any;
}

/** Reads a response once, keeps it for the secret check, and parses JSON when there is any. */
export async function record(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  seen.push(text, ...[...res.headers].map(([name, value]) => `${name}: ${value}`));
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

export function remember(...texts: string[]): void {
  seen.push(...texts);
}

export function expectNoSecretsSeen(): void {
  expect(seen.length).toBeGreaterThan(0);
  for (const secret of SECRETS) expect(seen.filter((t) => t.includes(secret))).toEqual([]);
}

export interface CallOptions {
  /** The subject whose JWT is sent; null sends no Authorization header. */
  as?: string | null;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export function requestInit(method: string, { body, token, headers = {} }: CallOptions, jwt?: string): RequestInit {
  const h: Record<string, string> = { ...headers };
  if (jwt) h.authorization = `Bearer ${jwt}`;
  if (token) h["upload-token"] = token;
  if (body !== undefined && !("content-type" in h)) h["content-type"] = "application/json";
  return { method, headers: h, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) };
}

/** One call to the real Workers entry (functions/index.ts) through SELF. */
export async function api(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const jwt = options.as ? await jwtFor(options.as) : undefined;
  return record(await SELF.fetch(`http://api${path}`, requestInit(method, options, jwt)));
}

/**
 * The Workers entry's fetch with the test worker's bindings, called directly. For tests that send
 * hundreds of requests: SELF.fetch gets slower with every request in one workerd
 * (cloudflare/workers-sdk#15446; 1,000 took minutes).
 */
export async function callWorker(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env as Record<string, unknown>, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Asserts the error shape `{ error: { code, message, requestId } }`, and that the message names `field`. */
export function expectError(res: ApiResponse, status: number, code: string, field?: string): void {
  expect({ status: res.status, code: res.body?.error?.code }, res.text).toEqual({ status, code });
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.body.error).toMatchObject({ message: expect.any(String), requestId: expect.stringMatching(/\S/) });
  expect(res.headers.get("x-request-id")).toBe(res.body.error.requestId);
  if (field) expect(res.body.error.message).toContain(field);
}

export interface MultipartPlan {
  key: string;
  uploadId: string;
  partSize: number;
  partCount: number;
  token: string;
}

/** POST /v1/uploads for a multipart upload; fails the test unless the API planned one. */
export async function createMultipart(as: string, key: string, size: number, extra: Record<string, unknown> = {}): Promise<MultipartPlan> {
  const res = await api("POST", "/v1/uploads", { as, body: { key, size, contentType: "application/octet-stream", ...extra } });
  expect(res.status, res.text).toBe(200);
  expect(res.body.kind).toBe("multipart");
  return res.body as MultipartPlan;
}

export interface SignedPart {
  partNumber: number;
  size: number;
  url: string;
  headers: Record<string, string>;
}

export async function signParts(as: string, plan: MultipartPlan, partNumbers: number[]): Promise<SignedPart[]> {
  const res = await api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts: partNumbers.map((partNumber) => ({ partNumber })) } });
  expect(res.status, res.text).toBe(200);
  return res.body.parts as SignedPart[];
}

/** Executes a presigned part URL against cos-local; returns the part's ETag. */
export async function putPart(part: SignedPart, body: Uint8Array<ArrayBuffer>): Promise<string> {
  const res = await fetch(part.url, { method: "PUT", headers: part.headers, body });
  remember(await res.text());
  expect(res.status).toBe(200);
  return res.headers.get("etag")!;
}

/** Splits `data` the way the plan does: every part `partSize` bytes but the last. */
export function splitParts(data: Uint8Array<ArrayBuffer>, plan: MultipartPlan): Uint8Array<ArrayBuffer>[] {
  return Array.from({ length: plan.partCount }, (_, i) => data.slice(i * plan.partSize, (i + 1) * plan.partSize));
}

/** The unfinished uploads cos-local holds under `prefix`. */
export async function uploadIdsInCos(prefix: string): Promise<string[]> {
  return (await cos.listMultipartUploads({ prefix })).uploads.map((u) => u.uploadId);
}
