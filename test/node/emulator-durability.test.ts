// cos-local storage guarantees (issue 2 §3 "Storage on disk"): a body cut mid-PUT never becomes
// visible and leaves no temp file; a restart on the same dataDir keeps objects and unfinished
// multipart uploads, which can then be completed. Plus x-cos-traffic-limit (§4 "Limits").

import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorization, keyTime } from "../../functions/cos/sign";
import { list, text } from "../../functions/cos/xml";
import { BUCKET, bytes, MB, SECRET_ID, SECRET_KEY, send, startLocal, xml, type Local } from "./emulator-harness";

describe("atomic writes", () => {
  let local: Local;
  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(async () => {
    await local.close();
  });

  /** Sends half of a signed PUT body, then kills the connection, as a crashing client would. */
  async function abortedPut(key: string, size: number): Promise<void> {
    const host = `127.0.0.1:${local.cos.port}`;
    const headers = { host, "content-length": String(size) };
    const auth = await authorization({ secretId: SECRET_ID, secretKey: SECRET_KEY, method: "PUT", pathname: `/${BUCKET}/${key}`, headers, keyTime: keyTime(Date.now()) });
    await new Promise<void>((resolve) => {
      const req = request({ host: "127.0.0.1", port: local.cos.port, method: "PUT", path: `/${BUCKET}/${key}`, headers: { ...headers, authorization: auth } });
      req.on("error", () => resolve());
      req.write(bytes(size / 2));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    await sleep(100);
  }

  it("a PUT cut mid-body leaves no object and no temp file", async () => {
    await abortedPut("half.bin", 4 * MB);
    expect((await send(local, { method: "HEAD", key: "half.bin" })).status).toBe(404);
    expect(await readdir(join(local.dataDir, "tmp"))).toEqual([]);
  });

  it("a PUT cut mid-body over an existing object leaves the old version intact", async () => {
    await send(local, { method: "PUT", key: "keep.bin", body: "old version" });
    await abortedPut("keep.bin", 4 * MB);
    expect((await send(local, { method: "GET", key: "keep.bin" })).text).toBe("old version");
    expect(await readdir(join(local.dataDir, "tmp"))).toEqual([]);
  });
});

describe("restart on the same dataDir", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "cos-local-restart-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps objects and an unfinished multipart upload, which then completes", async () => {
    const first = await startLocal({}, dataDir);
    await send(first, { method: "PUT", key: "kept.txt", body: "still here", headers: { "x-cos-meta-a": "1" } });
    const uploadId = text(xml(await send(first, { method: "POST", key: "resume.bin", query: { uploads: "" }, headers: { "content-type": "text/csv" } })).body, "UploadId");
    const part1 = await send(first, { method: "PUT", key: "resume.bin", query: { partNumber: "1", uploadId }, body: bytes(MB, 1) });
    await first.close();

    const second = await startLocal({}, dataDir);
    try {
      const kept = await send(second, { method: "GET", key: "kept.txt" });
      expect([kept.text, kept.headers["x-cos-meta-a"]]).toEqual(["still here", "1"]);
      const uploads = xml(await send(second, { method: "GET", query: { uploads: "" } }));
      expect(list(uploads.body, "Upload").map((u) => [text(u, "Key"), text(u, "UploadId")])).toEqual([["resume.bin", uploadId]]);
      const parts = xml(await send(second, { method: "GET", key: "resume.bin", query: { uploadId } }));
      expect(list(parts.body, "Part").map((p) => text(p, "ETag"))).toEqual([part1.headers.etag]);
      const part2 = await send(second, { method: "PUT", key: "resume.bin", query: { partNumber: "2", uploadId }, body: bytes(100, 2) });
      const body = `<CompleteMultipartUpload>${[part1, part2].map((p, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${p.headers.etag}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
      expect((await send(second, { method: "POST", key: "resume.bin", query: { uploadId }, body })).status).toBe(200);
      const get = await send(second, { method: "GET", key: "resume.bin" });
      expect(get.body.equals(Buffer.concat([bytes(MB, 1), bytes(100, 2)]))).toBe(true);
      expect(get.headers["content-type"]).toBe("text/csv");
    } finally {
      await second.close();
    }
  });
});

describe("startup sweep", () => {
  it("removes what a crash leaves behind: temp files, uncommitted bodies and parts, half-removed uploads", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "cos-local-sweep-"));
    try {
      const first = await startLocal({}, dataDir);
      await send(first, { method: "PUT", key: "obj", body: "committed" });
      const uploadId = text(xml(await send(first, { method: "POST", key: "mp", query: { uploads: "" } })).body, "UploadId");
      await send(first, { method: "PUT", key: "mp", query: { partNumber: "1", uploadId }, body: "part" });
      await first.close();

      const bucketDir = join(dataDir, "buckets", BUCKET);
      const [objectDir] = await readdir(join(bucketDir, "objects"));
      await writeFile(join(dataDir, "tmp", "half-received"), "x");
      await writeFile(join(bucketDir, "objects", objectDir, "data-uncommitted"), "x");
      await writeFile(join(bucketDir, "uploads", uploadId, "part-2-uncommitted.data"), "x");
      await mkdir(join(bucketDir, "uploads", "1700000000aaaaaaaaaaaaaaaaaaaaaaaa"));

      const second = await startLocal({}, dataDir);
      try {
        expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
        expect(await readdir(join(bucketDir, "objects", objectDir))).toHaveLength(2); // meta.json + its body
        expect((await readdir(join(bucketDir, "uploads", uploadId))).filter((f) => f.endsWith(".data"))).toHaveLength(1);
        expect(await readdir(join(bucketDir, "uploads"))).toEqual([uploadId]);
        expect((await send(second, { method: "GET", key: "obj" })).text).toBe("committed");
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("x-cos-traffic-limit", () => {
  let local: Local;
  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(async () => {
    await local.close();
  });

  it("refuses limits outside 819200-838860800 with 400 InvalidArgument, as a header or a query parameter", async () => {
    for (const value of ["819199", "838860801", "fast"]) {
      const header = await send(local, { method: "PUT", key: "t.bin", body: "x", headers: { "x-cos-traffic-limit": value } });
      expect([header.status, text(xml(header).body, "Code")]).toEqual([400, "InvalidArgument"]);
    }
    const query = await send(local, { method: "GET", key: "t.bin", query: { "x-cos-traffic-limit": "100" } });
    expect(query.status).toBe(400);
  });

  it("throttles an upload and a download to the limit (200 KB at 819200 bit/s takes about 2 s)", async () => {
    const body = bytes(200 * 1024);
    let started = Date.now();
    expect((await send(local, { method: "PUT", key: "slow.bin", body, headers: { "x-cos-traffic-limit": "819200" } })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    started = Date.now();
    const get = await send(local, { method: "GET", key: "slow.bin", query: { "x-cos-traffic-limit": "819200" } });
    expect(get.body.equals(body)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    started = Date.now();
    await send(local, { method: "GET", key: "slow.bin" });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
