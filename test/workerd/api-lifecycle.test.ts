// Whole uploads through the real Workers entry (issue 3 "Tests"): the API plans, cos-local takes the
// bytes from the presigned URLs, and what comes back (etag, size, crc64, bytes) is what we compute.
import { afterAll, describe, expect, it } from "vitest";
import { crc64, crc64Combine } from "../../functions/cos/crc64";
import {
  api,
  bytes,
  concat,
  cos,
  createMultipart,
  expectError,
  expectNoSecretsSeen,
  expectSameBytes,
  md5Hex,
  MiB,
  putPart,
  remember,
  signParts,
  splitParts,
  uploadIdsInCos,
} from "./api-helpers";

const crcOf = (chunks: Uint8Array[]) => chunks.reduce((crc, c) => crc64Combine(crc, crc64(c), c.length), crc64("")).toString();

async function download(as: string, key: string, filename?: string): Promise<Response> {
  const res = await api("POST", "/v1/objects/download", { as, body: { key, ...(filename ? { filename } : {}) } });
  expect(res.status, res.text).toBe(200);
  expect(res.body).toMatchObject({ key, method: "GET", headers: {} });
  return fetch(res.body.url);
}

afterAll(expectNoSecretsSeen);

describe("single PUT", () => {
  it("presigns one PUT that cos-local accepts, and confirm reports what COS's HEAD says", async () => {
    const key = "users/lc-alice/notes/hello.txt";
    const body = new TextEncoder().encode("hello from a presigned PUT");
    const plan = await api("POST", "/v1/uploads", { as: "lc-alice", body: { key, size: body.length, contentType: "text/plain", metadata: { owner: "alice" } } });
    expect(plan.status, plan.text).toBe(200);
    expect(plan.body).toMatchObject({ kind: "single", key, method: "PUT", headers: { "content-type": "text/plain", "x-cos-meta-owner": "alice" } });
    expect(Date.parse(plan.body.expiresAt)).toBeGreaterThan(Date.now());

    const put = await fetch(plan.body.url, { method: "PUT", headers: plan.body.headers, body });
    remember(await put.text());
    expect(put.status).toBe(200);

    const confirmed = await api("POST", "/v1/objects/confirm", { as: "lc-alice", body: { key } });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.body).toMatchObject({ key, size: body.length, etag: `"${await md5Hex(body)}"`, crc64: crc64(body).toString(), contentType: "text/plain" });
    expect(confirmed.body.location).toContain("/users/lc-alice/notes/hello.txt");
    expect((await cos.headObject(key)).headers.get("x-cos-meta-owner")).toBe("alice");
  });

  it("names the key after the file when only a filename is given", async () => {
    const plan = await api("POST", "/v1/uploads", { as: "lc-alice", body: { filename: "photo 1.png", size: 3, contentType: "image/png" } });
    expect(plan.status, plan.text).toBe(200);
    expect(plan.body.key).toMatch(/^users\/lc-alice\/[0-9a-f-]{36}\/photo 1\.png$/);
    const put = await fetch(plan.body.url, { method: "PUT", headers: plan.body.headers, body: new Uint8Array([1, 2, 3]) });
    expect(put.status).toBe(200);
    const downloaded = await download("lc-alice", plan.body.key);
    expect(new Uint8Array(await downloaded.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("answers 404 ObjectNotFound when confirm comes before the PUT", async () => {
    expectError(await api("POST", "/v1/objects/confirm", { as: "lc-alice", body: { key: "users/lc-alice/never-put.bin" } }), 404, "ObjectNotFound", "key");
  });
});

describe("multipart", () => {
  const size = 2 * MiB + 1234;
  const data = bytes(size, 7);

  it("uploads 3 parts (last small), resumes from the part list, completes, and downloads the same bytes", async () => {
    const key = "users/lc-alice/video/clip.bin";
    const plan = await createMultipart("lc-alice", key, size, { contentType: "video/mp4" });
    expect(plan).toMatchObject({ key, partSize: MiB, partCount: 3 });
    expect(await uploadIdsInCos("users/lc-alice/video/")).toEqual([plan.uploadId]);
    const chunks = splitParts(data, plan);
    expect(chunks.map((c) => c.length)).toEqual([MiB, MiB, 1234]);

    // A first session uploads parts 1 and 2, then "crashes".
    const signed = await signParts("lc-alice", plan, [1, 2, 3]);
    expect(signed.map((p) => [p.partNumber, p.size])).toEqual([[1, MiB], [2, MiB], [3, 1234]]);
    const etags = [await putPart(signed[0], chunks[0]), await putPart(signed[1], chunks[1])];

    // A second session asks COS what is there and sends only the rest.
    const listed = await api("GET", `/v1/uploads/${plan.uploadId}/parts`, { as: "lc-alice", token: plan.token });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.parts.map((p: { partNumber: number; etag: string; size: number }) => [p.partNumber, p.etag, p.size])).toEqual([[1, etags[0], MiB], [2, etags[1], MiB]]);
    const [third] = await signParts("lc-alice", plan, [3]);
    etags.push(await putPart(third, chunks[2]));

    const done = await api("POST", `/v1/uploads/${plan.uploadId}/complete`, { as: "lc-alice", token: plan.token, body: { parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) } });
    expect(done.status, done.text).toBe(200);
    const partMd5s = concat(await Promise.all(chunks.map(async (c) => Uint8Array.from((await md5Hex(c)).match(/../g)!, (h) => parseInt(h, 16)))));
    expect(done.body).toEqual({ key, size, etag: `"${await md5Hex(partMd5s)}-3"`, crc64: crcOf(chunks), contentType: "video/mp4", location: expect.stringContaining(key) });
    expect(done.body.crc64).toBe(crc64(data).toString());
    expect(await uploadIdsInCos("users/lc-alice/video/")).toEqual([]);

    // A complete whose response was lost is retried with the same body: success from HEAD.
    const retried = await api("POST", `/v1/uploads/${plan.uploadId}/complete`, { as: "lc-alice", token: plan.token, body: { parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) } });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body).toEqual(done.body);

    const downloaded = await download("lc-alice", key, "clip final é.mp4");
    expect(downloaded.status).toBe(200);
    expect(downloaded.headers.get("content-disposition")).toBe("attachment; filename*=UTF-8''clip%20final%20%C3%A9.mp4");
    expectSameBytes(new Uint8Array(await downloaded.arrayBuffer()), data);
  });

  it("aborts: cos-local no longer has the upload, and a second abort is 204 too", async () => {
    const plan = await createMultipart("lc-alice", "users/lc-alice/abort/me.bin", size);
    const [part] = await signParts("lc-alice", plan, [1]);
    await putPart(part, data.slice(0, MiB));
    expect(await uploadIdsInCos("users/lc-alice/abort/")).toEqual([plan.uploadId]);

    for (let i = 0; i < 2; i++) {
      const aborted = await api("DELETE", `/v1/uploads/${plan.uploadId}`, { as: "lc-alice", token: plan.token });
      expect(aborted.status, aborted.text).toBe(204);
      expect(aborted.text).toBe("");
    }
    expect(await uploadIdsInCos("users/lc-alice/abort/")).toEqual([]);
    expectError(await api("GET", `/v1/uploads/${plan.uploadId}/parts`, { as: "lc-alice", token: plan.token }), 404, "UploadNotFound", "uploadId");
  });

  it("lists only the caller's unfinished uploads", async () => {
    const alice = await createMultipart("lc-list-alice", "users/lc-list-alice/a.bin", size);
    const bob = await createMultipart("lc-list-bob", "users/lc-list-bob/b.bin", size);
    const listedFor = async (as: string) => {
      const res = await api("GET", "/v1/uploads", { as });
      expect(res.status, res.text).toBe(200);
      return res.body.uploads as { key: string; uploadId: string; initiated: string }[];
    };
    const forAlice = await listedFor("lc-list-alice");
    expect(forAlice.map((u) => [u.key, u.uploadId])).toEqual([["users/lc-list-alice/a.bin", alice.uploadId]]);
    expect(Date.parse(forAlice[0].initiated)).not.toBeNaN();
    expect((await listedFor("lc-list-bob")).map((u) => u.uploadId)).toEqual([bob.uploadId]);
    expect(await listedFor("lc-list-carol")).toEqual([]);
  });
});

describe("append", () => {
  it("appends twice through presigned POST ?append URLs, then downloads the whole object", async () => {
    const key = "users/lc-alice/log/app.txt";
    const chunks = [new TextEncoder().encode("first line\n"), new TextEncoder().encode("second line, longer\n")];
    let position = 0;
    for (const chunk of chunks) {
      const res = await api("POST", "/v1/objects/append", { as: "lc-alice", body: { key, position, size: chunk.length, contentType: "text/plain" } });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ key, method: "POST", headers: { "content-type": "text/plain" } });
      const appended = await fetch(res.body.url, { method: "POST", headers: res.body.headers, body: chunk });
      remember(await appended.text());
      expect(appended.status).toBe(200);
      position += chunk.length;
      expect(appended.headers.get("x-cos-next-append-position")).toBe(String(position));
    }
    const downloaded = await download("lc-alice", key);
    expect(downloaded.headers.get("content-type")).toBe("text/plain");
    expect(await downloaded.text()).toBe("first line\nsecond line, longer\n");
  });

  it("signs the size: a longer body at the same URL is refused by cos-local", async () => {
    const res = await api("POST", "/v1/objects/append", { as: "lc-alice", body: { key: "users/lc-alice/log/sized.txt", position: 0, size: 4, contentType: "text/plain" } });
    const appended = await fetch(res.body.url, { method: "POST", headers: res.body.headers, body: "12345" });
    expect([appended.status, await appended.text()]).toEqual([403, expect.stringContaining("SignatureDoesNotMatch")]);
  });
});
