// Issue 3's node-side oracle: every kind of presigned URL and Authorization the API issues is
// (a) executed against cos-local, which must accept it (bytes read back identical), and
// (b) re-signed with cos-nodejs-sdk-v5's static COS.getAuthorization for the same request: the
// method, the path-style pathname `/<bucket>/<key>`, the query the URL sends, and the headers the
// request must carry (host plus what the API told the uploader to send, content-length included).
// The whole authorization string must be equal, so the signed header and parameter lists are
// checked too, not only q-signature.

import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import COS from "cos-nodejs-sdk-v5";
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CosLocal, startCosLocal } from "../../emulator/server";
import { createApp } from "../../functions/app";

const SECRET_ID = "AKIDapiPresignOracle00000000000000";
const SECRET_KEY = "apiPresignOracleSecretKey0000000";
const BUCKET = "presign-1250000000";
const REGION = "ap-guangzhou";
const JWT_SECRET = "api-presign-oracle-jwt-secret-0123456789";
/** Temporary (STS) credentials cos-local also accepts, with a token that needs URL-encoding. */
const STS = { secretId: "AKIDapiPresignOracleSts00000000000", secretKey: "apiPresignOracleStsSecretKey0000", securityToken: "sts+token/with=chars" };
const SUBJECT = "alice";
const PREFIX = `users/${SUBJECT}/`;
const MiB = 1024 * 1024;
/** The q-* fields of an authorization, in the order COS and the SDK write them. */
const Q_FIELDS = ["q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature"];

let cosLocal: CosLocal;
let dataDir: string;
let app: ReturnType<typeof createApp>;
let stsApp: ReturnType<typeof createApp>;
let jwt: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "cos-local-api-oracle-"));
  cosLocal = await startCosLocal({ port: 0, dataDir, secretId: SECRET_ID, secretKey: SECRET_KEY, credentials: [STS], bucket: BUCKET, region: REGION });
  const appWith = (credentials: { secretId: string; secretKey: string; securityToken?: string }) =>
    createApp({
      cos: { credentials, target: { bucket: BUCKET, region: REGION, endpoint: cosLocal.url } },
      uploadTokenSecret: "api-presign-oracle-upload-token-secret-0123",
      auth: { mode: "jwt", secret: JWT_SECRET },
      partSize: MiB,
      singlePutThreshold: MiB,
    });
  app = appWith({ secretId: SECRET_ID, secretKey: SECRET_KEY });
  stsApp = appWith(STS);
  jwt = await sign({ sub: SUBJECT, exp: Math.floor(Date.now() / 1000) + 3600 }, JWT_SECRET, "HS256");
});

afterAll(async () => {
  await cosLocal?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Calls the API in-process as SUBJECT; anything but a 200 fails the test with the error body. */
async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, through = app): Promise<T> {
  const res = await through.request(path, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, `${method} ${path}: ${text}`).toBe(200);
  return JSON.parse(text) as T;
}

interface Presigned {
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

function host(): string {
  return new URL(cosLocal.url).host;
}

/** What cos-nodejs-sdk-v5 signs for this request (path style through the cos-local endpoint). */
function oracle(method: string, key: string, query: Record<string, string>, headers: Record<string, string>, keyTime: string, credentials = { secretId: SECRET_ID, secretKey: SECRET_KEY }): string {
  return COS.getAuthorization({
    SecretId: credentials.secretId,
    SecretKey: credentials.secretKey,
    // The SDK's Method type leaves out HEAD; getAuth just lowercases whatever it is given.
    Method: method as COS.Method,
    Pathname: `/${BUCKET}/${key}`,
    Query: query,
    Headers: { host: host(), ...headers },
    KeyTime: keyTime,
  });
}

/** The query a presigned URL sends to COS besides its signature. */
function sentQuery(url: URL): Record<string, string> {
  return Object.fromEntries([...url.searchParams].filter(([name]) => !Q_FIELDS.includes(name) && name !== "x-cos-security-token"));
}

/**
 * Checks a presigned URL against the SDK for the request it must be used with, and returns the
 * URL's signed header list for the caller to pin down.
 */
function expectUrlSignedAsSdk(url: string, method: string, key: string, headers: Record<string, string>, credentials?: { secretId: string; secretKey: string }): string {
  const parsed = new URL(url);
  expect(`${parsed.origin}${decodeURIComponent(parsed.pathname)}`).toBe(`${cosLocal.url}/${BUCKET}/${key}`);
  const keyTime = parsed.searchParams.get("q-key-time")!;
  expect(parsed.searchParams.get("q-sign-time")).toBe(keyTime);
  const ours = Q_FIELDS.map((name) => `${name}=${parsed.searchParams.get(name)}`).join("&");
  expect(ours).toBe(oracle(method, key, sentQuery(parsed), headers, keyTime, credentials));
  return parsed.searchParams.get("q-header-list")!;
}

function md5Base64(data: Uint8Array): string {
  return createHash("md5").update(data).digest("base64");
}

/** Query string as a COS SDK sends it (flags without `=`). */
function queryString(query: Record<string, string>): string {
  const pairs = Object.entries(query).map(([k, v]) => (v === "" ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`));
  return pairs.length ? `?${pairs.join("&")}` : "";
}

function objectUrl(key: string): string {
  return `${cosLocal.url}/${BUCKET}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** The object's bytes, read with an Authorization header the SDK computed (independent of the API). */
async function readBack(key: string): Promise<{ body: Buffer; headers: Headers }> {
  const now = Math.floor(Date.now() / 1000) - 1;
  const authorization = oracle("GET", key, {}, {}, `${now};${now + 600}`);
  const res = await fetch(objectUrl(key), { headers: { authorization } });
  expect(res.status, await res.clone().text()).toBe(200);
  return { body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

describe("every presigned URL the API issues is accepted by cos-local and signed as cos-nodejs-sdk-v5 signs it", () => {
  it("single PUT: content-type, metadata and Content-MD5 are signed with the exact content-length", async () => {
    const key = `${PREFIX}single/报告 (1)+v2!.pdf`;
    const body = randomBytes(200_000);
    const plan = await api<Presigned & { kind: string; method: string }>("POST", "/v1/uploads", {
      key,
      size: body.length,
      contentType: "application/pdf",
      metadata: { "owner-id": "42", note: "hello world" },
      md5: md5Base64(body),
    });
    expect([plan.kind, plan.method]).toEqual(["single", "PUT"]);
    expect(plan.headers).toEqual({ "content-type": "application/pdf", "x-cos-meta-owner-id": "42", "x-cos-meta-note": "hello world", "content-md5": md5Base64(body) });

    const signed = expectUrlSignedAsSdk(plan.url, "PUT", key, { ...plan.headers, "content-length": String(body.length) });
    expect(signed).toBe("content-length;content-md5;content-type;host;x-cos-meta-note;x-cos-meta-owner-id");

    // One byte more is another content-length: cos-local must refuse it before the real PUT.
    const longer = await fetch(plan.url, { method: "PUT", headers: plan.headers, body: Buffer.concat([body, Buffer.from("x")]) });
    expect(longer.status).toBe(403);
    const put = await fetch(plan.url, { method: "PUT", headers: plan.headers, body });
    expect(put.status, await put.clone().text()).toBe(200);

    const got = await readBack(key);
    expect(got.body.equals(body)).toBe(true);
    expect(got.headers.get("content-type")).toBe("application/pdf");
    expect(got.headers.get("x-cos-meta-owner-id")).toBe("42");
  });

  it("part URLs with and without Content-MD5 sign each part's planned size; the parts complete into the same bytes", async () => {
    const key = `${PREFIX}multipart/video clip (2).mp4`;
    const body = randomBytes(2 * MiB + 12_345);
    const created = await api<{ kind: string; uploadId: string; partSize: number; partCount: number; token: string }>("POST", "/v1/uploads", {
      key,
      size: body.length,
      contentType: "video/mp4",
    });
    expect([created.kind, created.partSize, created.partCount]).toEqual(["multipart", MiB, 3]);
    const slice = (n: number) => body.subarray((n - 1) * MiB, Math.min(n * MiB, body.length));
    const { parts } = await api<{ parts: (Presigned & { partNumber: number; size: number })[] }>(
      "POST",
      `/v1/uploads/${encodeURIComponent(created.uploadId)}/parts`,
      { parts: [{ partNumber: 1, md5: md5Base64(slice(1)) }, { partNumber: 2 }, { partNumber: 3, md5: md5Base64(slice(3)) }] },
      { "upload-token": created.token },
    );
    expect(parts.map((p) => [p.partNumber, p.size])).toEqual([[1, MiB], [2, MiB], [3, 12_345]]);

    const etags: { partNumber: number; etag: string }[] = [];
    for (const part of parts) {
      const signed = expectUrlSignedAsSdk(part.url, "PUT", key, { ...part.headers, "content-length": String(part.size) });
      expect(signed).toBe(part.partNumber === 2 ? "content-length;host" : "content-length;content-md5;host");
      expect(new URL(part.url).searchParams.get("q-url-param-list")).toBe("partnumber;uploadid");
      expect(sentQuery(new URL(part.url))).toEqual({ partNumber: String(part.partNumber), uploadId: created.uploadId });
      const res = await fetch(part.url, { method: "PUT", headers: part.headers, body: slice(part.partNumber) });
      expect(res.status, await res.clone().text()).toBe(200);
      etags.push({ partNumber: part.partNumber, etag: res.headers.get("etag")! });
    }
    const done = await api<{ size: number }>("POST", `/v1/uploads/${encodeURIComponent(created.uploadId)}/complete`, { parts: etags }, { "upload-token": created.token });
    expect(done.size).toBe(body.length);
    expect((await readBack(key)).body.equals(body)).toBe(true);
  });

  it("APPEND URLs sign append, position, content-type and content-length", async () => {
    const key = `${PREFIX}logs/app end.log`;
    const chunks = [Buffer.from("first line\n"), Buffer.from("second, longer line ✓\n")];
    let position = 0;
    for (const chunk of chunks) {
      const presigned = await api<Presigned & { method: string }>("POST", "/v1/objects/append", { key, position, size: chunk.length, contentType: "text/plain" });
      expect(presigned.method).toBe("POST");
      const signed = expectUrlSignedAsSdk(presigned.url, "POST", key, { ...presigned.headers, "content-length": String(chunk.length) });
      expect(signed).toBe("content-length;content-type;host");
      expect(sentQuery(new URL(presigned.url))).toEqual({ append: "", position: String(position) });
      const res = await fetch(presigned.url, { method: "POST", headers: presigned.headers, body: chunk });
      expect(res.status, await res.clone().text()).toBe(200);
      position += chunk.length;
    }
    expect((await readBack(key)).body.equals(Buffer.concat(chunks))).toBe(true);
  });

  it("download URLs, with a filename (response-content-disposition) and without", async () => {
    const key = `${PREFIX}downloads/季度 report.txt`;
    const body = Buffer.from("quarterly figures\n");
    const plan = await api<Presigned>("POST", "/v1/uploads", { key, size: body.length, contentType: "text/plain" });
    expect((await fetch(plan.url, { method: "PUT", headers: plan.headers, body })).status).toBe(200);

    for (const filename of ["季度 report (final).txt", undefined]) {
      const presigned = await api<Presigned & { method: string }>("POST", "/v1/objects/download", { key, ...(filename ? { filename } : {}) });
      expect([presigned.method, presigned.headers]).toEqual(["GET", {}]);
      expect(expectUrlSignedAsSdk(presigned.url, "GET", key, {})).toBe("host");
      const disposition = filename ? `attachment; filename*=UTF-8''${encodeURIComponent(filename)}` : null;
      expect(new URL(presigned.url).searchParams.get("response-content-disposition")).toBe(disposition);
      const res = await fetch(presigned.url);
      expect(res.status, await res.clone().text()).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
      expect(res.headers.get("content-disposition")).toBe(disposition);
    }
  });

  // No SDK has a static POST-policy signer, so this one is recomputed with node:crypto from the
  // steps of Tencent's POST Object document: HMAC-SHA1(hex HMAC-SHA1(SecretKey, KeyTime), hex SHA1(policy)).
  it("form POST policies are signed as the POST Object document says, and cos-local stores the file", async () => {
    const key = `${PREFIX}forms/scan.pdf`;
    const form = await api<{ url: string; fields: Record<string, string> }>("POST", "/v1/forms", { key, contentType: "application/pdf", maxBytes: 1000 });
    expect(form.url).toBe(`${cosLocal.url}/${BUCKET}/`);
    const policyJson = Buffer.from(form.fields.policy, "base64").toString("utf8");
    const signKey = createHmac("sha1", SECRET_KEY).update(form.fields["q-key-time"]).digest("hex");
    const expected = createHmac("sha1", signKey).update(createHash("sha1").update(policyJson).digest("hex")).digest("hex");
    expect(form.fields["q-signature"]).toBe(expected);

    const file = randomBytes(999);
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append("file", new Blob([new Uint8Array(file)]), "scan.pdf");
    const res = await fetch(form.url, { method: "POST", body });
    expect(res.status, await res.clone().text()).toBe(204);
    expect((await readBack(key)).body.equals(file)).toBe(true);
  });
});

describe("/v1/authorize answers as cos-nodejs-sdk-v5 signs, and cos-local accepts the Authorization", () => {
  /**
   * One request the way cos-js-sdk-v5 makes it with a getAuthorization backend: post
   * { method, key, query, headers } to /v1/authorize, compare with the SDK, then send the request
   * to cos-local with the returned Authorization. That SDK puts the Host it would sign into the
   * headers it hands the callback (base.js getAuthorizationAsync, SignHost); the API signs the
   * host of its own COS target instead, which here is cos-local's.
   */
  async function authorized(method: string, key: string, query: Record<string, string>, headers: Record<string, string>, body?: BodyInit): Promise<Response> {
    const sdkHeaders = { ...headers, Host: `${BUCKET}.cos.${REGION}.myqcloud.com` };
    const answer = await api<{ Authorization: string; ExpiredTime: number }>("POST", "/v1/authorize", { method, key, query, headers: sdkHeaders });
    const keyTime = /q-key-time=([^&]+)/.exec(answer.Authorization)![1];
    expect(answer.Authorization).toBe(oracle(method, key, query, headers, keyTime));
    expect(answer.ExpiredTime).toBe(Number(keyTime.split(";")[1]));
    const url = `${key ? objectUrl(key) : `${cosLocal.url}/${BUCKET}/`}${queryString(query)}`;
    const res = await fetch(url, { method, headers: { ...headers, authorization: answer.Authorization }, body });
    expect(res.status, `${method} ${url}: ${await res.clone().text()}`).toBeLessThan(300);
    return res;
  }

  it("initiate, PUT part, list parts, complete and HEAD, each signed by the API for the SDK's request", async () => {
    const key = `${PREFIX}sdk/photo (3).jpg`;
    const part = randomBytes(300_000);
    const initiated = await authorized("POST", key, { uploads: "" }, { "Content-Type": "image/jpeg", "x-cos-meta-source": "authorize" });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await initiated.text())![1];

    const put = await authorized("PUT", key, { partNumber: "1", uploadId }, { "Content-Length": String(part.length), "Content-MD5": md5Base64(part) }, part);
    const etag = put.headers.get("etag")!;

    const listed = await (await authorized("GET", key, { uploadId }, {})).text();
    expect(listed).toContain("<PartNumber>1</PartNumber>");
    expect(listed).toContain(`<Size>${part.length}</Size>`);

    const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
    await authorized("POST", key, { uploadId }, { "Content-Type": "application/xml" }, xml);

    const head = await authorized("HEAD", key, {}, {});
    expect(head.headers.get("content-length")).toBe(String(part.length));
    expect(head.headers.get("x-cos-meta-source")).toBe("authorize");
    expect((await readBack(key)).body.equals(part)).toBe(true);
  });

  it("PUT Object, list the caller's uploads and abort", async () => {
    const key = `${PREFIX}sdk/notes.txt`;
    const body = Buffer.from("put through /v1/authorize\n");
    await authorized("PUT", key, {}, { "Content-Length": String(body.length), "Content-Type": "text/plain" }, body);
    expect((await readBack(key)).body.equals(body)).toBe(true);

    const pending = `${PREFIX}sdk/pending.bin`;
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await (await authorized("POST", pending, { uploads: "" }, {})).text())![1];
    const listing = await (await authorized("GET", "", { uploads: "", prefix: PREFIX }, {})).text();
    expect(listing).toContain(`<UploadId>${uploadId}</UploadId>`);
    await authorized("DELETE", pending, { uploadId }, {});
    expect(await (await authorized("GET", "", { uploads: "", prefix: PREFIX }, {})).text()).not.toContain(uploadId);
  });
});

// STS: the token rides outside the signature, as the SDKs send it: a query parameter of the URL
// (URL-encoded, so its `+` is not read as a space) or the x-cos-security-token header.
describe("with temporary (STS) credentials", () => {
  it("presigned URLs carry the token unsigned, and cos-local accepts them", async () => {
    const key = `${PREFIX}sts/upload.txt`;
    const body = Buffer.from("uploaded with STS credentials\n");
    const plan = await api<Presigned>("POST", "/v1/uploads", { key, size: body.length, contentType: "text/plain" }, {}, stsApp);
    const url = new URL(plan.url);
    expect(url.searchParams.get("x-cos-security-token")).toBe(STS.securityToken);
    expect(url.searchParams.get("q-ak")).toBe(STS.secretId);
    expectUrlSignedAsSdk(plan.url, "PUT", key, { ...plan.headers, "content-length": String(body.length) }, STS);
    const put = await fetch(plan.url, { method: "PUT", headers: plan.headers, body });
    expect(put.status, await put.clone().text()).toBe(200);
    expect((await readBack(key)).body.equals(body)).toBe(true);
  });

  it("/v1/authorize returns the token in the shape getAuthorization's callback expects", async () => {
    const key = `${PREFIX}sts/authorized.txt`;
    const body = Buffer.from("PUT Object signed by /v1/authorize with STS\n");
    const headers = { "Content-Length": String(body.length), "Content-Type": "text/plain" };
    const answer = await api<{ Authorization: string; SecurityToken?: string; XCosSecurityToken?: string }>("POST", "/v1/authorize", { method: "PUT", key, headers }, {}, stsApp);
    expect([answer.SecurityToken, answer.XCosSecurityToken]).toEqual([STS.securityToken, STS.securityToken]);
    const keyTime = /q-key-time=([^&]+)/.exec(answer.Authorization)![1];
    expect(answer.Authorization).toBe(oracle("PUT", key, {}, headers, keyTime, STS));
    const put = await fetch(objectUrl(key), { method: "PUT", headers: { ...headers, authorization: answer.Authorization, "x-cos-security-token": answer.SecurityToken! }, body });
    expect(put.status, await put.clone().text()).toBe(200);
    expect((await readBack(key)).body.equals(body)).toBe(true);
  });
});
