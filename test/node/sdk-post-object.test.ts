// POST Object (HTML form upload, cos-protocol.md §4 "POST Object") against cos-local.
// cos-nodejs-sdk-v5 has no postObject, so the form is built with fetch + FormData as a browser
// would send it, the policy signed by postPolicySignature; the SDK then reads the object back.

import { randomBytes } from "node:crypto";
import type COS from "cos-nodejs-sdk-v5";
import { describe, expect, it } from "vitest";
import { crc64 } from "../../functions/cos/crc64";
import { keyTime, postPolicySignature } from "../../functions/cos/sign";
import { BUCKET, loc, md5Hex, readBack, rejection, SECRET_ID, SECRET_KEY, sha256, type SdkHarness, useHarness } from "./sdk-harness";

let h: SdkHarness;
let cos: COS;

useHarness((started) => {
  h = started;
  cos = started.cos();
});

type Condition = Record<string, string> | (string | number)[];

interface FormUpload {
  key: string;
  file: Uint8Array;
  fileName?: string;
  /** Conditions besides the q-* and bucket ones every policy carries. */
  conditions?: Condition[];
  fields?: Record<string, string>;
  expiresInSeconds?: number;
  secretKey?: string;
  bucket?: string;
}

/** Builds, signs and sends a POST Object form, path style, `file` last as COS requires. */
async function postForm(upload: FormUpload): Promise<Response> {
  const kt = keyTime(Date.now(), 600);
  const policy = JSON.stringify({
    expiration: new Date(Date.now() + (upload.expiresInSeconds ?? 600) * 1000).toISOString(),
    conditions: [
      { "q-sign-algorithm": "sha1" },
      { "q-ak": SECRET_ID },
      { "q-sign-time": kt },
      { bucket: upload.bucket ?? BUCKET },
      ...(upload.conditions ?? []),
    ],
  });
  const form = new FormData();
  form.append("key", upload.key);
  for (const [name, value] of Object.entries(upload.fields ?? {})) form.append(name, value);
  form.append("policy", Buffer.from(policy).toString("base64"));
  form.append("q-sign-algorithm", "sha1");
  form.append("q-ak", SECRET_ID);
  form.append("q-key-time", kt);
  form.append("q-signature", await postPolicySignature(upload.secretKey ?? SECRET_KEY, kt, policy));
  form.append("file", new Blob([new Uint8Array(upload.file)]), upload.fileName ?? "upload.bin");
  return fetch(`http://127.0.0.1:${h.port}/${BUCKET}/`, { method: "POST", body: form });
}

describe("POST Object with a signed policy", () => {
  it("stores the file with the form's metadata and answers 204 with ETag and CRC64", async () => {
    const Key = "forms/direct.bin";
    const file = randomBytes(200_000);
    const res = await postForm({
      key: Key,
      file,
      conditions: [["starts-with", "$key", "forms/"], ["content-length-range", 1, 1024 * 1024]],
      fields: { "Content-Type": "application/x-form", "x-cos-meta-source": "form" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("etag")).toBe(`"${md5Hex(file)}"`);
    expect(res.headers.get("x-cos-hash-crc64ecma")).toBe(crc64(file).toString());

    expect(sha256(await readBack(cos, Key))).toBe(sha256(file));
    const head = await cos.headObject({ ...loc, Key });
    expect(head.headers?.["content-type"]).toBe("application/x-form");
    expect(head.headers?.["x-cos-meta-source"]).toBe("form");
  });

  it("replaces ${filename} in the key with the file part's name", async () => {
    const file = randomBytes(1000);
    const res = await postForm({
      key: "forms/${filename}",
      fileName: "photo 1.png",
      file,
      conditions: [["starts-with", "$key", "forms/"]],
    });
    expect(res.status).toBe(204);
    expect(sha256(await readBack(cos, "forms/photo 1.png"))).toBe(sha256(file));
  });

  it("answers success_action_status 201 with an XML body naming the key and ETag", async () => {
    const file = randomBytes(1000);
    const res = await postForm({ key: "forms/created.bin", file, fields: { success_action_status: "201" } });
    expect(res.status).toBe(201);
    const xml = await res.text();
    expect(xml).toContain("<Key>forms/created.bin</Key>");
    // The quotes around the ETag may be written raw or as &quot; in XML.
    expect(xml).toMatch(new RegExp(`<ETag>("|&quot;)${md5Hex(file)}("|&quot;)</ETag>`));
  });
});

describe("POST Object refusals", () => {
  const file = randomBytes(5000);

  it("a policy signed with the wrong secret gets 403 and stores nothing", async () => {
    const res = await postForm({ key: "forms/refused/secret.bin", file, secretKey: "not-the-secret" });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
    expect((await rejection(cos.headObject({ ...loc, Key: "forms/refused/secret.bin" }))).statusCode).toBe(404);
  });

  it("a key outside the policy's starts-with prefix gets 403", async () => {
    const res = await postForm({ key: "elsewhere/x.bin", file, conditions: [["starts-with", "$key", "forms/"]] });
    expect(res.status).toBe(403);
  });

  it("a key that does not equal the policy's key gets 403", async () => {
    const res = await postForm({ key: "forms/refused/other.bin", file, conditions: [{ key: "forms/refused/agreed.bin" }] });
    expect(res.status).toBe(403);
  });

  it("a policy for another bucket gets 403", async () => {
    const res = await postForm({ key: "forms/refused/bucket.bin", file, bucket: "other-1250000000" });
    expect(res.status).toBe(403);
  });

  it("a Content-Type the policy does not allow gets 403", async () => {
    const res = await postForm({
      key: "forms/refused/type.bin",
      file,
      conditions: [["eq", "$Content-Type", "image/png"]],
      fields: { "Content-Type": "text/html" },
    });
    expect(res.status).toBe(403);
  });

  it("an expired policy gets 403", async () => {
    const res = await postForm({ key: "forms/refused/expired.bin", file, expiresInSeconds: -60 });
    expect(res.status).toBe(403);
  });

  it("a file outside content-length-range gets 400", async () => {
    const res = await postForm({ key: "forms/refused/big.bin", file, conditions: [["content-length-range", 1, 4999]] });
    expect(res.status).toBe(400);
    expect((await rejection(cos.headObject({ ...loc, Key: "forms/refused/big.bin" }))).statusCode).toBe(404);
  });
});
