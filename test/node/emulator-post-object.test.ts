// cos-local POST Object (cos-protocol.md §4 "POST Object"): a browser-style multipart/form-data
// upload authorised by a signed policy; every refusal the policy can cause.

import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc64 } from "../../functions/cos/crc64";
import { postPolicy, type PostPolicyInput } from "../../functions/cos/presign";
import { keyTime, postPolicySignature } from "../../functions/cos/sign";
import { verifyPostPolicy } from "../../emulator/post-policy";
import { text } from "../../functions/cos/xml";
import { BUCKET, bytes, MB, SECRET_ID, SECRET_KEY, send, startLocal, xml, type Local } from "./emulator-harness";

let local: Local;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local.close();
});

interface Form {
  key: string;
  file: Buffer;
  filename?: string;
  fields?: Record<string, string>;
  /** Overrides for the product's policy builder (functions/cos/presign.ts postPolicy). */
  policy?: Partial<PostPolicyInput>;
}

/** A browser-style form: fields, then the signed policy fields, then `file` last (§4). */
async function post(form: Form): Promise<Response> {
  const { fields: signed } = await postPolicy({ credentials: { secretId: SECRET_ID, secretKey: SECRET_KEY }, bucket: BUCKET, now: Date.now(), ...form.policy });
  const body = new FormData();
  body.append("key", form.key);
  for (const [name, value] of Object.entries({ ...form.fields, ...signed })) body.append(name, value);
  body.append("file", new Blob([new Uint8Array(form.file)]), form.filename ?? "upload.bin");
  return fetch(`${local.cos.url}/${BUCKET}/`, { method: "POST", body, redirect: "manual" });
}

const errorCode = async (res: Response) => text(xml({ text: await res.text() } as never).body, "Code");

describe("POST Object", () => {
  it("stores the file under the key with the form's metadata; 204 by default", async () => {
    const file = bytes(3 * MB + 17, 9); // several stream chunks, so boundaries fall across reads
    const res = await post({
      key: "forms/${filename}",
      filename: "photo.jpg",
      file,
      policy: { keyPrefix: "forms/", contentLengthRange: [1, 10 * MB], contentType: "image/jpeg" },
      fields: { "Content-Type": "image/jpeg", "x-cos-meta-album": "trip", "Cache-Control": "" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("etag")).toBe(`"${createHash("md5").update(file).digest("hex")}"`);
    expect(res.headers.get("x-cos-hash-crc64ecma")).toBe(crc64(file).toString());
    const get = await send(local, { method: "GET", key: "forms/photo.jpg" });
    expect(get.body.equals(file)).toBe(true);
    expect(get.headers["content-type"]).toBe("image/jpeg");
    expect(get.headers["x-cos-meta-album"]).toBe("trip");
    expect(get.headers["cache-control"]).toBeUndefined();
  });

  it("answers 201 with a PostResponse document, or 303 to success_action_redirect", async () => {
    const created = await post({ key: "forms/created.txt", file: Buffer.from("hi"), fields: { success_action_status: "201" } });
    expect(created.status).toBe(201);
    expect(await created.text()).toContain("<Key>forms/created.txt</Key>");
    const redirected = await post({ key: "forms/redirect.txt", file: Buffer.from("hi"), fields: { success_action_redirect: "http://app.test/done" } });
    expect(redirected.status).toBe(303);
    const location = new URL(redirected.headers.get("location")!);
    expect([location.origin, location.searchParams.get("key"), location.searchParams.get("bucket")]).toEqual(["http://app.test", "forms/redirect.txt", BUCKET]);
  });

  it("refuses a key outside the starts-with condition", async () => {
    const res = await post({ key: "elsewhere/x.txt", file: Buffer.from("x"), policy: { keyPrefix: "forms/" } });
    expect([res.status, await errorCode(res)]).toEqual([403, "AccessDenied"]);
    expect((await send(local, { method: "HEAD", key: "elsewhere/x.txt" })).status).toBe(404);
  });

  it("refuses a key that differs from an exact condition, another bucket, another Content-Type", async () => {
    expect((await post({ key: "forms/a.txt", file: Buffer.from("x"), policy: { key: "forms/b.txt" } })).status).toBe(403);
    expect((await post({ key: "forms/a.txt", file: Buffer.from("x"), policy: { bucket: "other-1250000000" } })).status).toBe(403);
    expect((await post({ key: "forms/a.txt", file: Buffer.from("x"), policy: { contentType: "image/png" }, fields: { "Content-Type": "text/html" } })).status).toBe(403);
    expect((await send(local, { method: "HEAD", key: "forms/a.txt" })).status).toBe(404);
  });

  it("refuses a file outside content-length-range, leaving no object", async () => {
    const big = await post({ key: "forms/big.bin", file: bytes(5000), policy: { contentLengthRange: [1, 4999] } });
    expect([big.status, await errorCode(big)]).toEqual([400, "EntityTooLarge"]);
    const small = await post({ key: "forms/small.bin", file: bytes(5), policy: { contentLengthRange: [10, 4999] } });
    expect([small.status, await errorCode(small)]).toEqual([400, "EntityTooSmall"]);
    expect((await send(local, { method: "HEAD", key: "forms/big.bin" })).status).toBe(404);
    expect((await send(local, { method: "HEAD", key: "forms/small.bin" })).status).toBe(404);
  });

  it("refuses an expired policy", async () => {
    const expired = await post({ key: "forms/e.txt", file: Buffer.from("x"), policy: { now: Date.now() - 3600_000, expires: 600 } });
    expect([expired.status, await errorCode(expired)]).toEqual([403, "AccessDenied"]);
    expect((await send(local, { method: "HEAD", key: "forms/e.txt" })).status).toBe(404);
  });

  it("refuses a bad signature", async () => {
    const res = await post({ key: "forms/s.txt", file: Buffer.from("x"), policy: { credentials: { secretId: SECRET_ID, secretKey: "not-the-secret" } } });
    expect([res.status, await errorCode(res)]).toEqual([403, "SignatureDoesNotMatch"]);
  });

  it("refuses a form without a policy (anonymous) and one without a file", async () => {
    const anonymous = new FormData();
    anonymous.append("key", "forms/anon.txt");
    anonymous.append("file", new Blob(["x"]), "a.txt");
    expect((await fetch(`${local.cos.url}/${BUCKET}/`, { method: "POST", body: anonymous })).status).toBe(403);
    const noFile = new FormData();
    noFile.append("key", "forms/nofile.txt");
    const res = await fetch(`${local.cos.url}/${BUCKET}/`, { method: "POST", body: noFile });
    expect([res.status, await errorCode(res)]).toEqual([400, "MalformedPOSTRequest"]);
  });

  it("a refused form whose body ends inside the file part answers 400; the server keeps running", async () => {
    // No key field (refused as the file part starts), then a file part with no closing boundary.
    // cos-local runs in this process: an 'error' event nobody listens to would end it (caught here instead).
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const boundary = "cut-short";
      for (const size of [10, 70_000]) {
        const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n${"x".repeat(size)}`);
        const res = await fetch(`${local.cos.url}/${BUCKET}/`, { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, body });
        expect(res.status).toBe(400);
      }
      await new Promise((r) => setTimeout(r, 50));
      expect((await fetch(`${local.cos.url}/${BUCKET}/`, { method: "POST", body: new FormData() })).status).toBe(400);
      expect(uncaught).toEqual([]);
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });

  it("a non-ASCII key and UTF-8 metadata from the form: stored, the Location URL-encoded, the header given back as its UTF-8 bytes", async () => {
    const res = await post({ key: "forms/报告 ${filename}", filename: "年度.pdf", file: Buffer.from("pdf"), fields: { "Content-Disposition": 'attachment; filename="报告.pdf"' }, policy: { keyPrefix: "forms/" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("location")).toBe(`http://${BUCKET}.cos.ap-guangzhou.myqcloud.com/forms/${encodeURIComponent("报告 年度.pdf")}`);
    const head = await send(local, { method: "HEAD", key: "forms/报告 年度.pdf" });
    expect(head.status).toBe(200);
    expect(Buffer.from(String(head.headers["content-disposition"]), "latin1").toString("utf8")).toBe('attachment; filename="报告.pdf"');
  });

  it("refuses a success_action_redirect that is not an http(s) URL before storing anything", async () => {
    const res = await post({ key: "forms/bad-redirect.txt", file: Buffer.from("x"), fields: { success_action_redirect: "not a url" } });
    expect([res.status, await errorCode(res)]).toEqual([400, "InvalidArgument"]);
    expect((await send(local, { method: "HEAD", key: "forms/bad-redirect.txt" })).status).toBe(404);
  });
});

describe("verifyPostPolicy conditions the builder does not write", () => {
  async function fields(policy: object, extra: Record<string, string> = {}) {
    const kt = keyTime(Date.now());
    const json = JSON.stringify(policy);
    return new Map(Object.entries({ policy: Buffer.from(json).toString("base64"), "q-sign-algorithm": "sha1", "q-ak": SECRET_ID, "q-key-time": kt, "q-signature": await postPolicySignature(SECRET_KEY, kt, json), ...extra }));
  }
  const context = { bucket: BUCKET, credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }], nowMs: Date.now() };
  const future = new Date(Date.now() + 600_000).toISOString();

  it("refuses a policy whose expiration has passed although the key time is valid", async () => {
    const form = await fields({ expiration: new Date(Date.now() - 1000).toISOString(), conditions: [] });
    await expect(verifyPostPolicy(form, context)).rejects.toMatchObject({ status: 403, message: "Invalid according to Policy: Policy expired." });
  });

  it("applies eq and starts-with to any field, and merges content-length-range", async () => {
    const conditions = [["starts-with", "$Content-Type", "image/"], ["eq", "$x-cos-meta-a", "1"], ["content-length-range", 5, 100]];
    const ok = await fields({ expiration: future, conditions }, { "content-type": "image/png", "x-cos-meta-a": "1" });
    await expect(verifyPostPolicy(ok, context)).resolves.toEqual({ minSize: 5, maxSize: 100 });
    const bad = await fields({ expiration: future, conditions }, { "content-type": "text/html", "x-cos-meta-a": "1" });
    await expect(verifyPostPolicy(bad, context)).rejects.toMatchObject({ status: 403, code: "AccessDenied" });
  });

  it("refuses unknown operators with InvalidPolicyDocument", async () => {
    const form = await fields({ expiration: future, conditions: [["in", "$key", ["a"]]] });
    await expect(verifyPostPolicy(form, context)).rejects.toMatchObject({ status: 400, code: "InvalidPolicyDocument" });
  });
});
