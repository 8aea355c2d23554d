// functions/cos/client.ts inside workerd, over HTTP to cos-local on 127.0.0.1 (issue 2 §4):
// a full multipart lifecycle, and the ways COS refuses.
import { describe, expect, it } from "vitest";
import { CosClient } from "../../functions/cos/client";
import { crc64, crc64Combine } from "../../functions/cos/crc64";
import { isCosError } from "../../functions/cos/errors";
import { presignUrl } from "../../functions/cos/presign";
import { bytes, cos as client, credentials, injectFault, MiB, target, testEnv as e } from "./api-helpers";

async function putPart(key: string, uploadId: string, partNumber: number, body: Uint8Array<ArrayBuffer>): Promise<Response> {
  const { url } = await presignUrl({
    credentials, target, method: "PUT", key, now: Date.now(),
    query: { partNumber, uploadId }, headers: { "content-length": body.length },
  });
  return fetch(url, { method: "PUT", body });
}

async function rejection(promise: Promise<unknown>) {
  const error = await promise.then(() => null, (err: unknown) => err);
  if (!isCosError(error)) throw new Error(`expected a CosError, got ${String(error)}`);
  return error;
}

describe("COS client in workerd against cos-local", () => {
  it("runs a multipart upload from initiate to complete", async () => {
    const key = `lifecycle/视频 clip+(1).bin`;
    const parts = [bytes(MiB, 1), bytes(MiB + 17, 2), bytes(333, 3)];
    const { uploadId } = await client.initiateMultipartUpload(key, { "content-type": "video/mp4", "x-cos-meta-owner": "alice" });
    expect(uploadId).toMatch(/\S/);

    const listed = await client.listMultipartUploads({ prefix: "lifecycle/" });
    expect(listed.uploads.map((u) => [u.key, u.uploadId])).toContainEqual([key, uploadId]);

    const etags: { partNumber: number; etag: string }[] = [];
    for (const [i, body] of parts.entries()) {
      const res = await putPart(key, uploadId, i + 1, body);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-cos-hash-crc64ecma")).toBe(crc64(body).toString());
      etags.push({ partNumber: i + 1, etag: res.headers.get("etag")! });
    }
    const inCos = await client.listParts(key, uploadId);
    expect(inCos.map((p) => [p.partNumber, p.size, p.etag])).toEqual(etags.map((p, i) => [p.partNumber, parts[i].length, p.etag]));

    const done = await client.completeMultipartUpload(key, uploadId, [...etags].reverse());
    expect(done.etag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const expectedCrc = parts.reduce((crc, part) => crc64Combine(crc, crc64(part), part.length), crc64(""));
    expect(done.crc64).toBe(expectedCrc.toString());

    const head = await client.headObject(key);
    expect(head.size).toBe(parts.reduce((n, p) => n + p.length, 0));
    expect(head.etag).toBe(done.etag);
    expect(head.crc64).toBe(expectedCrc.toString());
    expect(head.contentType).toBe("video/mp4");
    expect(head.headers.get("x-cos-meta-owner")).toBe("alice");
    expect((await client.listMultipartUploads({ prefix: "lifecycle/" })).uploads).toEqual([]);
  });

  it("aborts an upload, after which COS answers NoSuchUpload", async () => {
    const key = "abort/me.txt";
    const { uploadId } = await client.initiateMultipartUpload(key);
    await client.abortMultipartUpload(key, uploadId);
    const error = await rejection(client.listParts(key, uploadId));
    expect([error.status, error.code]).toEqual([404, "NoSuchUpload"]);
    expect(error.requestId).toMatch(/\S/);
    expect((await rejection(client.abortMultipartUpload(key, uploadId))).code).toBe("NoSuchUpload");
  });

  it("lists every page of parts and uploads", async () => {
    const key = "pages/many-parts.bin";
    const { uploadId } = await client.initiateMultipartUpload(key);
    for (let n = 1; n <= 3; n++) expect((await putPart(key, uploadId, n * 1000, bytes(10, n))).status).toBe(200);
    const parts = await client.listParts(key, uploadId);
    expect(parts.map((p) => p.partNumber)).toEqual([1000, 2000, 3000]);
    const ids = [uploadId];
    for (let i = 0; i < 3; i++) ids.push((await client.initiateMultipartUpload(`pages/dir${i}/x`)).uploadId);
    const flat = await client.listMultipartUploads({ prefix: "pages/" });
    expect(flat.uploads.map((u) => u.uploadId).sort()).toEqual([...ids].sort());
    const grouped = await client.listMultipartUploads({ prefix: "pages/", delimiter: "/" });
    expect(grouped.commonPrefixes.sort()).toEqual(["pages/dir0/", "pages/dir1/", "pages/dir2/"]);
    expect(grouped.uploads.map((u) => u.key)).toEqual([key]);
  });

  it("treats an <Error> inside a 200 Complete body as a failure", async () => {
    const key = "complete/error-in-200.bin";
    const { uploadId } = await client.initiateMultipartUpload(key);
    const res = await putPart(key, uploadId, 1, bytes(100, 9));
    await injectFault({ kind: "complete-error-in-200", method: "POST", query: "uploadId", count: 1 });
    const error = await rejection(client.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag: res.headers.get("etag")! }]));
    expect(error.status).toBe(200);
    expect(error.code).toMatch(/\S/);
  });

  it("reports Complete's refusals with COS's code", async () => {
    const key = "complete/refused.bin";
    const { uploadId } = await client.initiateMultipartUpload(key);
    await putPart(key, uploadId, 1, bytes(100, 1));
    await putPart(key, uploadId, 2, bytes(100, 2));
    const error = await rejection(client.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag: '"00000000000000000000000000000000"' }]));
    expect([error.status, error.code]).toEqual([400, "InvalidPart"]);
    const listed = await client.listParts(key, uploadId);
    const tooSmall = await rejection(client.completeMultipartUpload(key, uploadId, listed.map((p) => ({ partNumber: p.partNumber, etag: p.etag }))));
    expect(tooSmall.code).toBe("EntityTooSmall");
  });

  it("puts and heads a single object; a missing one is NoSuchKey", async () => {
    const put = await client.putObject("single/hello.txt", "hello world", { "content-type": "text/plain" });
    expect(put.crc64).toBe("5981764153023615706");
    expect(put.etag).toBe('"5eb63bbbe01eeed093cb22bb8f5acdc3"');
    const head = await client.headObject("single/hello.txt");
    expect([head.size, head.etag, head.contentType]).toEqual([11, put.etag, "text/plain"]);
    const missing = await rejection(client.headObject("single/nope.txt"));
    expect([missing.status, missing.code]).toEqual([404, "NoSuchKey"]);
  });

  it("surfaces SignatureDoesNotMatch with the server's FormatString, without the secret", async () => {
    const wrong = new CosClient({ credentials: { ...credentials, secretKey: "not-the-secret" }, target });
    const error = await rejection(wrong.initiateMultipartUpload("auth/x.bin"));
    expect([error.status, error.code]).toEqual([403, "SignatureDoesNotMatch"]);
    expect(error.formatString).toContain(`/${e.COS_BUCKET}/auth/x.bin`);
    expect(error.message).not.toContain("not-the-secret");
    expect(error.message).not.toContain(credentials.secretKey);
  });
});
