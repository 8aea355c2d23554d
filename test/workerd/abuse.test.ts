// The abuse suite (issue 6 "Hostile input"), written as an attacker would try it. Each attack is
// refused with the right status, and the test shows the refusal (and, where it matters, that
// nothing happened in cos-local). Some attacks also have narrower tests in api-*.test.ts; this file
// is the whole list in one place.
import { sign } from "hono/jwt";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../functions/app";
import { presignUrl } from "../../functions/cos/presign";
import { signUploadToken, type UploadTokenPayload } from "../../functions/policy/token";
import {
  api,
  bytes,
  cos,
  createMultipart,
  credentials,
  expectError,
  expectNoSecretsSeen,
  jwtFor,
  MiB,
  putPart,
  record,
  remember,
  requestInit,
  signParts,
  splitParts,
  target,
  testEnv,
  uploadIdsInCos,
} from "./api-helpers";

afterAll(expectNoSecretsSeen);

describe("widening a grant with key spellings", () => {
  const as = "ab-mallory";
  const prefix = `users/${as}/`;
  const escapes = [
    ["percent-encoded dots", `${prefix}%2e%2e/ab-victim/x.txt`],
    ["upper-case percent-encoded dots", `${prefix}%2E%2E/ab-victim/x.txt`],
    ["half-encoded dots", `${prefix}.%2e/ab-victim/x.txt`],
    ["an encoded slash after ..", `${prefix}..%2fab-victim/x.txt`],
    ["double-encoded dots", `${prefix}%252e%252e/ab-victim/x.txt`],
    ["fullwidth dots (U+FF0E)", `${prefix}\uff0e\uff0e/ab-victim/x.txt`],
    ["one-dot leaders (U+2024)", `${prefix}\u2024\u2024/ab-victim/x.txt`],
    ["a two-dot leader (U+2025)", `${prefix}\u2025/ab-victim/x.txt`],
    ["small full stops (U+FE52)", `${prefix}\ufe52\ufe52/ab-victim/x.txt`],
    ["a fullwidth solidus around ..", `${prefix}x\uff0f..\uff0fab-victim`],
    ["//", `${prefix}a//../ab-victim/x.txt`],
    ["an encoded //", `${prefix}a%2f%2fb.txt`],
    ["a backslash", `${prefix}..\\ab-victim\\x.txt`],
    ["an encoded backslash", `${prefix}..%5cab-victim%5cx.txt`],
    ["a NUL", `${prefix}x.txt\u0000../../ab-victim`],
    ["an encoded NUL", `${prefix}x.txt%00.jpg`],
  ];

  it.each(escapes)("400 for %s on every route that takes a key", async (_name, key) => {
    const routes: [string, Record<string, unknown>][] = [
      ["/v1/uploads", { key, size: 1, contentType: "text/plain" }],
      ["/v1/objects/confirm", { key }],
      ["/v1/objects/append", { key, position: 0, size: 1 }],
      ["/v1/objects/download", { key }],
      ["/v1/forms", { key, contentType: "text/plain" }],
      ["/v1/forms", { keyPrefix: `${key}/`, contentType: "text/plain" }],
      ["/v1/authorize", { method: "PUT", key, headers: { "content-length": 1, "content-type": "text/plain" } }],
      ["/v1/authorize", { method: "GET", pathname: `/${key}` }],
    ];
    for (const [path, body] of routes) {
      const res = await api("POST", path, { as, body });
      expectError(res, 400, "InvalidInput", "keyPrefix" in body ? "body.keyPrefix" : "body.key");
    }
  });

  it("a file name spelled to decode into .. or a separator stays one segment under the prefix", async () => {
    for (const filename of ["%2e%2e", "..%2f..%2fab-victim", "\uff0e\uff0e", "\u2025", "a%5cb", "%252e%252e"]) {
      const res = await api("POST", "/v1/uploads", { as, body: { filename, size: 1, contentType: "text/plain" } });
      expect(res.status, `${filename}: ${res.text}`).toBe(200);
      expect(res.body.key).toMatch(new RegExp(`^${prefix}[0-9a-f-]{36}/[^/\\\\%]+$`));
    }
  });

  it("a harmless % in a key is still accepted and lands under exactly that name", async () => {
    const key = `${prefix}50%off 100%25.txt`;
    const res = await api("POST", "/v1/uploads", { as, body: { key, size: 2, contentType: "text/plain" } });
    expect(res.status, res.text).toBe(200);
    const put = await fetch(res.body.url, { method: "PUT", headers: res.body.headers, body: "ok" });
    remember(await put.text());
    expect(put.status).toBe(200);
    expect((await cos.headObject(key)).size).toBe(2);
  });
});

describe("found by the fuzz (test/workerd/fuzz.test.ts)", () => {
  const as = "ab-fuzz";
  const prefix = `users/${as}/`;
  // JSON can carry "\ud800", a string with no UTF-8 form: presigning it threw URIError (a 500).
  const lone = `${prefix}x\ud800y.txt`;

  it.each([
    ["/v1/uploads", { key: lone, size: 1, contentType: "text/plain" }],
    ["/v1/objects/confirm", { key: lone }],
    ["/v1/objects/append", { key: lone, position: 0, size: 1 }],
    ["/v1/objects/download", { key: lone }],
    ["/v1/forms", { key: lone, contentType: "text/plain" }],
    ["/v1/authorize", { method: "PUT", key: lone, headers: { "content-length": 1, "content-type": "text/plain" } }],
  ])("%s: 400 naming body.key for a key with a lone UTF-16 surrogate", async (path, body) => {
    expectError(await api("POST", path, { as, body }), 400, "InvalidInput", "body.key");
  });

  it("a file name with a lone surrogate, or long enough to be cut inside an emoji, still gives a valid key", async () => {
    for (const filename of ["a\udc00b.txt", "\ud83d\ude00".repeat(100)]) {
      const res = await api("POST", "/v1/uploads", { as, body: { filename, size: 1, contentType: "text/plain" } });
      expect(res.status, res.text).toBe(200);
      expect(res.body.key.startsWith(prefix)).toBe(true);
      expect(() => encodeURIComponent(res.body.key)).not.toThrow();
    }
  });
});

describe("copying through /v1/authorize", () => {
  it("403 for PUT Object - Copy and Upload Part - Copy: x-cos-copy-source would read another caller's object into mine", async () => {
    const as = "ab-copier";
    const source = "/workerd-1250000000/users/ab-victim/secret.pdf";
    const sign = (query: Record<string, string>, headers: Record<string, string | number>) =>
      api("POST", "/v1/authorize", { as, body: { method: "PUT", key: `users/${as}/stolen.pdf`, query, headers: { "content-length": 0, "content-type": "application/pdf", ...headers } } });
    expectError(await sign({}, { "x-cos-copy-source": source }), 403, "OperationNotAllowed", "body.headers.x-cos-copy-source");
    expectError(await sign({}, { "X-Cos-Copy-Source": source, "x-cos-metadata-directive": "Copy" }), 403, "OperationNotAllowed", "body.headers.x-cos-copy-source");
    expectError(await sign({ partNumber: "1", uploadId: "u" }, { "x-cos-copy-source": source, "x-cos-copy-source-range": "bytes=0-9" }), 403, "OperationNotAllowed", "x-cos-copy-source");
    // The same PUT without the copy header is an ordinary upload, and is signed.
    expect((await sign({}, {})).status).toBe(200);
  });
});

describe("ACLs through /v1/authorize", () => {
  it("403 for x-cos-acl other than private and for x-cos-grant-*: the uploader may not publish or share its objects", async () => {
    const as = "ab-publisher";
    const sign = (headers: Record<string, string | number>) =>
      api("POST", "/v1/authorize", { as, body: { method: "PUT", key: `users/${as}/page.pdf`, headers: { "content-length": 10, "content-type": "application/pdf", ...headers } } });
    expectError(await sign({ "x-cos-acl": "public-read" }), 403, "OperationNotAllowed", "body.headers.x-cos-acl");
    expectError(await sign({ "X-Cos-Acl": "public-read-write" }), 403, "OperationNotAllowed", "body.headers.x-cos-acl");
    expectError(await sign({ "x-cos-grant-read": 'id="qcs::cam::uin/100000000001:uin/100000000001"' }), 403, "OperationNotAllowed", "body.headers.x-cos-grant-read");
    expectError(await sign({ "x-cos-grant-full-control": 'id="qcs::cam::anyone:anyone"' }), 403, "OperationNotAllowed", "body.headers.x-cos-grant-full-control");
    // Private (what the service decides anyway) is signed.
    expect((await sign({ "x-cos-acl": "private" })).status).toBe(200);
    expect((await sign({})).status).toBe(200);
  });
});

/** base64url of bytes, and of JSON, as JWTs and upload tokens carry them. */
const b64urlBytes = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const b64url = (value: unknown) => b64urlBytes(new TextEncoder().encode(JSON.stringify(value)));
const fromB64url = (text: string) => JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/")));

describe("upload tokens: replayed, tweaked, forged", () => {
  const size = 2 * MiB + 1;
  /** Every call that takes an upload token, as `as` with `token`, on `uploadId`. */
  const everyCall = (uploadId: string, token: string, as: string) =>
    Promise.all([
      api("POST", `/v1/uploads/${uploadId}/parts`, { as, token, body: { parts: [{ partNumber: 1 }] } }),
      api("GET", `/v1/uploads/${uploadId}/parts`, { as, token }),
      api("POST", `/v1/uploads/${uploadId}/complete`, { as, token, body: { parts: [{ partNumber: 1, etag: '"0"' }] } }),
      api("DELETE", `/v1/uploads/${uploadId}`, { as, token }),
    ]);

  it("403 when mallory replays alice's token, on alice's upload or on one of his own", async () => {
    const alice = await createMultipart("ab-alice", "users/ab-alice/private.bin", size);
    const mallory = await createMultipart("ab-mallory", "users/ab-mallory/mine.bin", size);
    for (const res of await everyCall(alice.uploadId, alice.token, "ab-mallory")) expectError(res, 403, "NotYourUpload", "Upload-Token");
    for (const res of await everyCall(mallory.uploadId, alice.token, "ab-mallory")) expectError(res, 403, "UploadTokenMismatch", "Upload-Token");
    expect(await uploadIdsInCos("users/ab-alice/private.bin")).toEqual([alice.uploadId]);
  });

  it("403 for a token whose payload is tweaked (subject, size, key, expiry) with the MAC kept, or re-signed with a guessed key", async () => {
    const plan = await createMultipart("ab-mallory", "users/ab-mallory/tweak.bin", size);
    const [body, mac] = plan.token.split(".");
    const payload = fromB64url(body) as UploadTokenPayload;
    const tweaked = [
      { ...payload, sub: "ab-alice" },
      { ...payload, size: 100 * size, partCount: 100 },
      { ...payload, key: "users/ab-alice/private.bin" },
      { ...payload, exp: payload.exp + 365 * 24 * 3600 },
    ].map((p) => `${b64url(p)}.${mac}`);
    const forged = [
      // The JWT secret, the COS secret key and a plain guess are all the wrong key.
      await signUploadToken(payload, testEnv.JWT_SECRET),
      await signUploadToken(payload, testEnv.COS_SECRET_KEY.padEnd(32, "x")),
      await signUploadToken(payload, "secret".repeat(6)),
      `${body}.${mac.slice(0, 10)}`,
      `${body}.`,
      `${body}.${mac}.${mac}`,
      `${body}.${mac.toUpperCase()}`,
    ];
    for (const token of [...tweaked, ...forged]) {
      for (const res of await everyCall(plan.uploadId, token, "ab-mallory")) expectError(res, 403, "UploadTokenInvalid", "Upload-Token");
    }
    // Nothing was aborted or completed, and the genuine token still works.
    expect(await uploadIdsInCos("users/ab-mallory/tweak.bin")).toEqual([plan.uploadId]);
    expect((await api("GET", `/v1/uploads/${plan.uploadId}/parts`, { as: "ab-mallory", token: plan.token })).status).toBe(200);
  });
});

describe("parts that differ from the plan", () => {
  const as = "ab-parts";

  it("a size sent with the part request is ignored: the URL signs the planned size, and COS refuses other sizes", async () => {
    const plan = await createMultipart(as, `users/${as}/size.bin`, 2 * MiB);
    const res = await api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts: [{ partNumber: 1, size: 5 * MiB }] } });
    expect(res.status, res.text).toBe(200);
    const [part] = res.body.parts;
    expect(part.size).toBe(MiB);
    for (const length of [MiB + 1, MiB - 1]) {
      const put = await fetch(part.url, { method: "PUT", headers: part.headers, body: bytes(length, 1) });
      remember(await put.text());
      expect(put.status).toBe(403);
    }
    expect(await cos.listParts(plan.key, plan.uploadId)).toEqual([]);
  });

  it("a part signed with one MD5 is refused with other bytes of the same size", async () => {
    const plan = await createMultipart(as, `users/${as}/md5.bin`, 2 * MiB);
    const good = bytes(MiB, 7);
    const md5 = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("MD5", good))));
    const res = await api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts: [{ partNumber: 1, md5 }] } });
    const [part] = res.body.parts;
    const put = await fetch(part.url, { method: "PUT", headers: part.headers, body: bytes(MiB, 8) });
    remember(await put.text());
    expect(put.status).toBeGreaterThanOrEqual(400);
    expect(await cos.listParts(plan.key, plan.uploadId)).toEqual([]);
    // Dropping the signed Content-MD5 header breaks the signature too.
    const { "content-md5": _md5, ...withoutMd5 } = part.headers as Record<string, string>;
    const bare = await fetch(part.url, { method: "PUT", headers: withoutMd5, body: bytes(MiB, 8) });
    remember(await bare.text());
    expect(bare.status).toBe(403);
  });

  it("400 for a part number past the plan, and the URL never names another upload", async () => {
    const plan = await createMultipart(as, `users/${as}/count.bin`, 2 * MiB);
    expectError(await api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts: [{ partNumber: 3 }] } }), 400, "InvalidInput", "body.parts.0.partNumber");
    const [part] = await signParts(as, plan, [2]);
    expect(new URL(part.url).searchParams.get("uploadId")).toBe(plan.uploadId);
  });
});

describe("complete with parts summing past the declared size", () => {
  const as = "ab-complete";
  /** Signs a part outside the plan through /v1/authorize (which has no upload token) and PUTs it. */
  async function putUnplanned(key: string, uploadId: string, partNumber: number, data: Uint8Array<ArrayBuffer>): Promise<string> {
    const auth = await api("POST", "/v1/authorize", { as, body: { method: "PUT", key, query: { partNumber, uploadId }, headers: { "content-length": data.length } } });
    expect(auth.status, auth.text).toBe(200);
    const url = `${target.endpoint}/${target.bucket}/${key}?partNumber=${partNumber}&uploadId=${uploadId}`;
    const put = await fetch(url, { method: "PUT", headers: { authorization: auth.body.Authorization }, body: data });
    remember(await put.text());
    expect(put.status).toBe(200);
    return put.headers.get("etag")!;
  }

  it("/v1/authorize signs no part that could only belong to an upload over the cap (part k × its size ≤ MAX_UPLOAD_BYTES)", async () => {
    const max = Number(testEnv.MAX_UPLOAD_BYTES);
    const part = (partNumber: number | string, length: number) =>
      api("POST", "/v1/authorize", { as, body: { method: "PUT", key: `users/${as}/many.bin`, query: { partNumber, uploadId: "u" }, headers: { "content-length": length } } });
    expect((await part(1, max)).status).toBe(200);
    expect((await part(4, max / 4)).status).toBe(200);
    expectError(await part(2, max / 2 + 1), 413, "TooLarge", "partNumber");
    expectError(await part(10_000, MiB), 413, "TooLarge", "partNumber");
    for (const bad of ["0", "10001", "1.5", "x"]) expectError(await part(bad, 1), 400, "InvalidInput", "body.query.partNumber");
  });

  it("409 PartsMismatch for an extra part or a larger last part; nothing is completed and the upload survives", async () => {
    const key = `users/${as}/sum.bin`;
    const plan = await createMultipart(as, key, 2 * MiB + 10);
    const data = bytes(2 * MiB + 10, 3);
    const signed = await signParts(as, plan, [1, 2, 3]);
    const chunks = splitParts(data, plan);
    const etags = [await putPart(signed[0], chunks[0]), await putPart(signed[1], chunks[1])];
    const extra = await putUnplanned(key, plan.uploadId, 4, bytes(MiB, 4));
    const bigLast = await putUnplanned(key, plan.uploadId, 3, bytes(MiB, 5));
    const complete = (parts: { partNumber: number; etag: string }[]) => api("POST", `/v1/uploads/${plan.uploadId}/complete`, { as, token: plan.token, body: { parts } });

    const withExtra = await complete([...etags.map((etag, i) => ({ partNumber: i + 1, etag })), { partNumber: 3, etag: bigLast }, { partNumber: 4, etag: extra }]);
    expectError(withExtra, 409, "PartsMismatch", "body.parts");
    expect(withExtra.body.error.details.extra).toContain(4);
    const bigger = await complete([...etags.map((etag, i) => ({ partNumber: i + 1, etag })), { partNumber: 3, etag: bigLast }]);
    expectError(bigger, 409, "PartsMismatch", "wrong size");
    expect(bigger.body.error.details.wrongSize).toEqual([{ partNumber: 3, size: MiB, planned: 10 }]);
    await expect(cos.headObject(key)).rejects.toMatchObject({ status: 404 });
    expect(await uploadIdsInCos(key)).toEqual([plan.uploadId]);
  });
});

describe("POST Object policies tampered with", () => {
  const as = "ab-form";
  /** Posts a form the way a browser does: fields, then the file last. */
  async function postForm(url: string, fields: Record<string, string>, body: string): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob([body], { type: "text/plain" }), "f.txt");
    const res = await fetch(url, { method: "POST", body: form });
    remember(await res.text());
    return res;
  }
  const encode = (doc: unknown) => btoa(JSON.stringify(doc));

  it("COS refuses a policy with a condition dropped or widened, and a key outside the signed prefix", async () => {
    const res = await api("POST", "/v1/forms", { as, body: { keyPrefix: `users/${as}/in/`, contentType: "text/plain", maxBytes: 10 } });
    expect(res.status, res.text).toBe(200);
    const { url, fields } = res.body as { url: string; fields: Record<string, string> };
    const doc = JSON.parse(atob(fields.policy)) as { expiration: string; conditions: unknown[] };
    const without = (pred: (c: unknown) => boolean) => ({ ...doc, conditions: doc.conditions.filter((c) => !pred(c)) });
    const isRange = (c: unknown) => Array.isArray(c) && c[0] === "content-length-range";
    const tampered = [
      without(isRange),
      { ...doc, conditions: doc.conditions.map((c) => (isRange(c) ? ["content-length-range", 0, 5 * 1024 ** 3] : c)) },
      { ...doc, conditions: doc.conditions.map((c) => (Array.isArray(c) && c[0] === "starts-with" ? ["starts-with", "$key", "users/"] : c)) },
      without((c) => Array.isArray(c) && c[0] === "starts-with"),
      without((c) => typeof c === "object" && c !== null && "Content-Type" in c),
      { ...doc, expiration: new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString() },
    ];
    for (const policy of tampered) {
      const posted = await postForm(url, { ...fields, key: "users/ab-victim/x.txt", policy: encode(policy) }, "big body!!!");
      expect(posted.status).toBe(403);
    }
    // The genuine policy: a key outside its prefix and a body over maxBytes are refused too.
    expect((await postForm(url, { ...fields, key: "users/ab-victim/x.txt" }, "hi")).status).toBe(403);
    expect((await postForm(url, { ...fields, key: `users/${as}/in/x.txt` }, "x".repeat(11))).status).toBe(400);
    await expect(cos.headObject("users/ab-victim/x.txt")).rejects.toMatchObject({ status: 404 });
    // And it works as issued, so each refusal above was the tampering.
    expect((await postForm(url, { ...fields, key: `users/${as}/in/ok.txt` }, "hi")).status).toBe(204);
  });

  it("asking /v1/forms for more than the grant gets the grant: size capped, prefix and types checked", async () => {
    const res = await api("POST", "/v1/forms", { as, body: { keyPrefix: `users/${as}/`, contentType: "text/plain", maxBytes: 10 * 1024 ** 3 } });
    expect(JSON.parse(atob(res.body.fields.policy)).conditions).toContainEqual(["content-length-range", 0, Number(testEnv.MAX_UPLOAD_BYTES)]);
    expectError(await api("POST", "/v1/forms", { as, body: { keyPrefix: "users/", contentType: "text/plain" } }), 403, "KeyOutsidePrefix", "body.keyPrefix");
    expectError(await api("POST", "/v1/forms", { as, body: { keyPrefix: `users/${as}/` } }), 400, "InvalidInput", "body.contentType");
    expectError(await api("POST", "/v1/forms", { as, body: { keyPrefix: `users/${as}/`, contentType: "text/html" } }), 415, "ContentTypeNotAllowed", "body.contentType");
  });
});

describe("/v1/authorize asked to sign what is not an upload", () => {
  const as = "ab-sdk";
  const refused = (body: Record<string, unknown>) => api("POST", "/v1/authorize", { as, body });
  const mine = `users/${as}/x.bin`;

  it.each([
    ["DELETE of an object", { method: "DELETE", key: mine }, 403, "OperationNotAllowed", "body.method"],
    ["a lower-case delete", { method: "delete", key: mine }, 403, "OperationNotAllowed", "body.method"],
    ["DELETE of the bucket", { method: "DELETE", key: "" }, 403, "OperationNotAllowed", "body.method"],
    ["a multi-object delete", { method: "POST", key: "", query: { delete: "" } }, 403, "OperationNotAllowed", "body.method"],
    ["listing the bucket's objects", { method: "GET", key: "" }, 403, "OperationNotAllowed", "body.method"],
    ["listing with a prefix outside mine", { method: "GET", key: "", query: { uploads: "", prefix: "users/" } }, 403, "KeyOutsidePrefix", "body.query.prefix"],
    ["the bucket ACL", { method: "PUT", key: "", query: { acl: "" }, headers: { "content-length": 0 } }, 403, "OperationNotAllowed", "body.method"],
    ["the bucket CORS rules", { method: "PUT", key: "", query: { cors: "" }, headers: { "content-length": 100 } }, 403, "OperationNotAllowed", "body.method"],
    ["an object ACL", { method: "PUT", key: mine, query: { acl: "" }, headers: { "content-length": 0 } }, 403, "OperationNotAllowed", "body.method"],
    ["object tagging", { method: "PUT", key: mine, query: { tagging: "" }, headers: { "content-length": 10 } }, 403, "OperationNotAllowed", "body.method"],
    ["a GET outside the prefix", { method: "GET", key: "users/ab-victim/secret.pdf" }, 403, "KeyOutsidePrefix", "body.key"],
    ["a HEAD outside the prefix", { method: "HEAD", key: "users/ab-victim/secret.pdf" }, 403, "KeyOutsidePrefix", "body.key"],
    ["a GET via pathname outside the prefix", { method: "GET", pathname: "/users/ab-victim/secret.pdf" }, 403, "KeyOutsidePrefix", "body.key"],
    ["a GET via pathname with ..", { method: "GET", pathname: `/users/${as}/../ab-victim/secret.pdf` }, 400, "InvalidInput", "body.key"],
    ["a PUT without content-length", { method: "PUT", key: mine, headers: { "content-type": "text/plain" } }, 400, "InvalidInput", "body.headers.content-length"],
    ["a PUT with a non-numeric content-length", { method: "PUT", key: mine, headers: { "content-length": "-1", "content-type": "text/plain" } }, 400, "InvalidInput", "body.headers.content-length"],
    ["a part without content-length", { method: "PUT", key: mine, query: { partNumber: "1", uploadId: "u" } }, 400, "InvalidInput", "body.headers.content-length"],
    ["an APPEND without content-length", { method: "POST", key: mine, query: { append: "", position: "0" }, headers: { "content-type": "text/plain" } }, 400, "InvalidInput", "body.headers.content-length"],
  ])("refuses %s", async (_name, body, status, code, field) => {
    expectError(await refused(body), status, code, field);
  });
});

describe("bodies and content types", () => {
  const as = "ab-body";
  const upload = { key: `users/${as}/b.txt`, size: 1, contentType: "text/plain" };

  it("413 for JSON over 1 MB, whether it announces its length or not", async () => {
    const big = JSON.stringify({ ...upload, filler: "x".repeat(MiB) });
    expectError(await api("POST", "/v1/uploads", { as, body: big }), 413, "BodyTooLarge", "body");
    expectError(await api("POST", "/v1/authorize", { as, body: JSON.stringify({ method: "GET", key: upload.key, headers: { a: "x".repeat(MiB) } }) }), 413, "BodyTooLarge", "body");
  });

  it("deep JSON is a quick 400, not a crash: 100,000 nested arrays, and deep objects in every field", async () => {
    const deepArray = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`;
    const started = Date.now();
    expectError(await api("POST", "/v1/uploads", { as, body: deepArray }), 400, "InvalidInput", "body");
    expectError(await api("POST", "/v1/uploads", { as, body: `{"key":${deepObject},"size":1}` }), 400, "InvalidInput", "body.key");
    expectError(await api("POST", "/v1/authorize", { as, body: `{"method":"GET","key":"${upload.key}","query":${deepObject}}` }), 400, "InvalidInput", "body.query");
    expectError(await api("POST", "/v1/uploads", { as, body: `{"metadata":${deepObject},"key":"${upload.key}","size":1}` }), 400, "InvalidInput", "body.metadata");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("__proto__ in the body changes nothing", async () => {
    const res = await api("POST", "/v1/uploads", { as, body: `{"__proto__":{"size":1e12,"key":"users/ab-victim/x"},"key":"${upload.key}","size":1,"contentType":"text/plain"}` });
    expect(res.status, res.text).toBe(200);
    expect(res.body.key).toBe(upload.key);
  });

  it.each([
    ["text/plain (a CORS simple request)", "text/plain"],
    ["a form post", "application/x-www-form-urlencoded"],
    ["multipart/form-data", "multipart/form-data; boundary=x"],
    ["no content type", undefined],
    ["application/jsonp", "application/jsonp"],
    ["text/json", "text/json"],
  ])("415 for a JSON body sent as %s", async (_name, contentType) => {
    const init = requestInit("POST", { body: JSON.stringify(upload) }, await jwtFor(as));
    const headers = new Headers(init.headers);
    if (contentType) headers.set("content-type", contentType);
    else headers.delete("content-type");
    expectError(await record(await createApp().request("/v1/uploads", { ...init, headers }, testEnv)), 415, "UnsupportedMediaType", "Content-Type");
  });
});

describe("CORS from foreign origins", () => {
  const preflight = async (origin: string) =>
    record(await createApp().request("/v1/uploads", { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } }, testEnv));

  it.each(["http://evil.example", "http://app.example.evil.example", "http://evil.app.example", "https://app.example", "http://app.example:8080", "null", "HTTP://APP.EXAMPLE"])(
    "gives %s no Access-Control-Allow-Origin, on the preflight or the call, and never credentials",
    async (origin) => {
      const pre = await preflight(origin);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
      expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
      const call = await api("GET", "/v1/uploads", { as: "ab-cors", headers: { origin } });
      expect(call.headers.get("access-control-allow-origin")).toBeNull();
    },
  );

  it("the configured origin gets its own origin back, never *", async () => {
    const pre = await preflight("http://app.example");
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://app.example");
    expect(pre.headers.get("vary")?.toLowerCase()).toContain("origin");
  });
});

describe("JWT algorithms are pinned", () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: "ab-jwt", exp: now + 3600 };
  const hmacSign = async (header: object, payload: object, key: Uint8Array<ArrayBuffer>) => {
    const input = `${b64url(header)}.${b64url(payload)}`;
    const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const sig = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(input)));
    return `${input}.${b64urlBytes(sig)}`;
  };
  const listWith = async (app: ReturnType<typeof createApp>, vars: Record<string, unknown>, jwt: string) =>
    record(await app.request("/v1/uploads", { headers: { authorization: `Bearer ${jwt}` } }, vars));

  it("with JWT_SECRET (HS256): alg none, HS384/HS512 and RS256 tokens are all 401", async () => {
    const keys = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const app = createApp();
    const tokens = [
      `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`,
      `${b64url({ alg: "None", typ: "JWT" })}.${b64url(claims)}.`,
      await sign(claims, testEnv.JWT_SECRET, "HS384"),
      await sign(claims, testEnv.JWT_SECRET, "HS512"),
      await sign(claims, keys.privateKey, "RS256"),
      // HS256 over a header that claims RS256: the signature is right, the header is not.
      await hmacSign({ alg: "RS256", typ: "JWT" }, claims, new TextEncoder().encode(testEnv.JWT_SECRET)),
    ];
    for (const jwt of tokens) expectError(await listWith(app, testEnv, jwt), 401, "Unauthenticated", "JWT");
    expect((await listWith(app, testEnv, await jwtFor("ab-jwt"))).status).toBe(200);
  });

  it("with JWKS_URL (RS256/ES256): HS256 signed with the public key, alg none and unknown kids are 401", async () => {
    const keys = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const publicJwk = { ...((await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey), kid: "k1", alg: "RS256", use: "sig" };
    const privateJwk = { ...((await crypto.subtle.exportKey("jwk", keys.privateKey)) as JsonWebKey), kid: "k1", alg: "RS256" };
    // The JWKS is served by cos-local, over HTTP like any JWKS endpoint.
    const jwksText = JSON.stringify({ keys: [publicJwk] });
    const jwksKey = "jwks/ab-jwks.json";
    const put = await presignUrl({ credentials, target, method: "PUT", key: jwksKey, now: Date.now(), expires: 600 });
    expect((await fetch(put.url, { method: "PUT", body: jwksText })).status).toBe(200);
    const get = await presignUrl({ credentials, target, method: "GET", key: jwksKey, now: Date.now(), expires: 600 });
    const vars = { ...testEnv, JWT_SECRET: "", JWKS_URL: get.url };
    const app = createApp();

    /** A JWT signed RS512 with the JWKS's own key and kid. */
    const rs512 = async ({ alg: _alg, ...jwk }: JsonWebKey & { kid: string }) => {
      const key = await crypto.subtle.importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" }, false, ["sign"]);
      const input = `${b64url({ alg: "RS512", typ: "JWT", kid: jwk.kid })}.${b64url(claims)}`;
      const sig = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(input)));
      return `${input}.${b64urlBytes(sig)}`;
    };
    const genuine = await sign(claims, privateJwk, "RS256");
    expect(JSON.parse(atob(genuine.split(".")[0]))).toMatchObject({ alg: "RS256", kid: "k1" });
    const res = await listWith(app, vars, genuine);
    expect(res.status, res.text).toBe(200);

    const confused = [
      // The classic confusion: HS256 with the public key (as JWKS text, as the JWK's n) as the HMAC secret.
      await hmacSign({ alg: "HS256", typ: "JWT", kid: "k1" }, claims, new TextEncoder().encode(jwksText)),
      await hmacSign({ alg: "HS256", typ: "JWT", kid: "k1" }, claims, new TextEncoder().encode(JSON.stringify(publicJwk))),
      await hmacSign({ alg: "HS256", typ: "JWT", kid: "k1" }, claims, new TextEncoder().encode(publicJwk.n!)),
      `${b64url({ alg: "none", typ: "JWT", kid: "k1" })}.${b64url(claims)}.`,
      `${b64url({ alg: "RS256", typ: "JWT", kid: "k1" })}.${b64url(claims)}.`,
      await sign(claims, { ...privateJwk, kid: "other" }, "RS256"),
      // RS512 with the right key and kid: not an allowed algorithm.
      await rs512(privateJwk),
      await jwtFor("ab-jwt"),
    ];
    const fetches = vi.spyOn(globalThis, "fetch");
    try {
      for (const jwt of confused) expectError(await listWith(app, vars, jwt), 401, "Unauthenticated", "JWT");
      expect((await listWith(app, vars, genuine)).status).toBe(200);
      // The JWKS fetched for the first request still serves: no request above fetched it again, not
      // even the unknown kid (a refetch for a new kid waits JWKS_REFETCH_MS).
      expect(fetches.mock.calls.filter(([url]) => String(url) === get.url)).toHaveLength(0);
    } finally {
      fetches.mockRestore();
    }
  });
});
