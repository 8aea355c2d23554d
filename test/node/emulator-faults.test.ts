// cos-local faults and counters (issue 2 §3 "Faults on request"): injected 500/503/expired/delay,
// connection resets mid-body, an <Error> inside Complete's 200, and the counters a reliability
// test asserts on, through the /_cos-local/ endpoint and the programmatic handle.

import { request } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { text } from "../../functions/cos/xml";
import { bytes, control, MB, send, startLocal, xml, type Local } from "./emulator-harness";

let local: Local;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local.close();
});
beforeEach(async () => {
  await control(local, "DELETE", "faults");
  await control(local, "DELETE", "counters");
});

const code = (reply: { text: string }) => text(xml({ text: reply.text } as never).body, "Code");

/** A request whose failure (socket reset) is reported instead of thrown. */
async function attempt(options: Parameters<typeof send>[1]) {
  try {
    return await send(local, options);
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}

describe("error faults", () => {
  it("500 for the next N matching requests, then normal service", async () => {
    const armed = await control(local, "POST", "faults", { kind: "500", method: "PUT", path: "/f/500", count: 2 });
    expect(armed.status).toBe(201);
    const first = await send(local, { method: "PUT", key: "f/500.txt", body: "x" });
    expect([first.status, code(first)]).toEqual([500, "InternalError"]);
    // A request that does not match the path is untouched and does not use up the fault.
    expect((await send(local, { method: "PUT", key: "other.txt", body: "x" })).status).toBe(200);
    expect((await send(local, { method: "PUT", key: "f/500.txt", body: "x" })).status).toBe(500);
    expect((await send(local, { method: "PUT", key: "f/500.txt", body: "x" })).status).toBe(200);
    expect((await control(local, "GET", "counters")).json.faults).toBe(2);
  });

  it("503 SlowDown and 403 'Request has expired'", async () => {
    local.cos.faults.add({ kind: "503", method: "GET" });
    local.cos.faults.add({ kind: "expired", method: "HEAD" });
    const slow = await send(local, { method: "GET", key: "x" });
    expect([slow.status, code(slow)]).toEqual([503, "SlowDown"]);
    const expired = await send(local, { method: "HEAD", key: "x" });
    expect(expired.status).toBe(403);
    await control(local, "POST", "faults", { kind: "expired", method: "GET" });
    const body = await send(local, { method: "GET", key: "x" });
    expect(text(xml(body).body, "Message")).toBe("Request has expired");
  });

  it("403 AccessDenied, as COS answers an operation the key's CAM policy does not allow", async () => {
    await control(local, "POST", "faults", { kind: "denied", operation: "GetBucketCors" });
    const denied = await send(local, { method: "GET", key: "", query: { cors: "" } });
    expect([denied.status, code(denied)]).toEqual([403, "AccessDenied"]);
    expect((await send(local, { method: "GET", key: "", query: { cors: "" } })).status).toBe(200);
  });

  it("matches a query parameter, by name or name=value, and a path regex", async () => {
    await send(local, { method: "PUT", key: "q.txt", body: "x" });
    await control(local, "POST", "faults", [{ kind: "500", query: "response-content-type=text/html" }, { kind: "503", pathRegex: "q\\.txt$", query: "versionId" }]);
    expect((await send(local, { method: "GET", key: "q.txt", query: { "response-content-type": "text/plain" } })).status).toBe(200);
    expect((await send(local, { method: "GET", key: "q.txt", query: { "response-content-type": "text/html" } })).status).toBe(500);
    expect((await send(local, { method: "GET", key: "q.txt", query: { versionId: "1" } })).status).toBe(503);
    expect((await control(local, "GET", "faults")).json.faults).toEqual([]);
  });

  it("delays a request by delayMs", async () => {
    await control(local, "POST", "faults", { kind: "delay", delayMs: 300, method: "PUT" });
    const started = Date.now();
    expect((await send(local, { method: "PUT", key: "d.txt", body: "x" })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("refuses malformed fault specs", async () => {
    expect((await control(local, "POST", "faults", { kind: "explode" })).status).toBe(400);
    expect((await control(local, "POST", "faults", { kind: "500", count: 0 })).status).toBe(400);
    expect((await control(local, "POST", "faults", { kind: "500", probability: 0 })).status).toBe(400);
    expect((await control(local, "POST", "faults", { kind: "500", probability: 1.5 })).status).toBe(400);
  });

  it("fires on about `probability` of the matching requests, the same ones for the same seed", async () => {
    const run = async () => {
      await control(local, "DELETE", "faults");
      await control(local, "POST", "faults", { kind: "500", method: "HEAD", probability: 0.2, seed: 7, count: 1000 });
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) statuses.push((await send(local, { method: "HEAD", key: "p.txt" })).status);
      return statuses;
    };
    await send(local, { method: "PUT", key: "p.txt", body: "x" });
    const first = await run();
    const failed = first.filter((s) => s === 500).length;
    expect(failed).toBeGreaterThan(20);
    expect(failed).toBeLessThan(65);
    expect(first.filter((s) => s !== 500).every((s) => s === 200)).toBe(true);
    expect(await run()).toEqual(first);
  });
});

describe("connection resets", () => {
  it("resets an upload after afterBytes; the part is not stored and the retry is counted once", async () => {
    const key = "f/reset.bin";
    const init = await send(local, { method: "POST", key, query: { uploads: "" } });
    const uploadId = text(xml(init).body, "UploadId");
    await control(local, "POST", "faults", { kind: "reset", method: "PUT", query: "partNumber=1", afterBytes: 64 * 1024 });
    const broken = await attempt({ method: "PUT", key, query: { partNumber: "1", uploadId }, body: bytes(MB) });
    expect("error" in broken).toBe(true);
    const parts = await send(local, { method: "GET", key, query: { uploadId } });
    expect(parts.text).not.toContain("<Part>");
    expect((await send(local, { method: "PUT", key, query: { partNumber: "1", uploadId }, body: bytes(MB) })).status).toBe(200);
    const counters = (await control(local, "GET", "counters")).json;
    expect(counters.parts[uploadId]).toEqual({ "1": 1 });
    expect(counters.operations.UploadPart).toBe(2);
    expect(counters.operations.InitiateMultipartUpload).toBe(1);
  });

  it("resets a download after afterBytes of the body", async () => {
    await send(local, { method: "PUT", key: "f/dl.bin", body: bytes(MB) });
    await control(local, "POST", "faults", { kind: "reset", method: "GET", afterBytes: 1000 });
    const broken = await attempt({ method: "GET", key: "f/dl.bin" });
    expect("error" in broken && broken.error.code).toBe("ECONNRESET");
    expect((await send(local, { method: "GET", key: "f/dl.bin" })).body.length).toBe(MB);
  });

  it("a reset without afterBytes drops the connection before any response", async () => {
    await control(local, "POST", "faults", { kind: "reset", method: "HEAD" });
    const result = await new Promise<string>((resolve) => {
      const req = request({ host: "127.0.0.1", port: local.cos.port, method: "HEAD", path: `/${local.cos.bucket}/x` }, () => resolve("response"));
      req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      req.end();
    });
    expect(result).toBe("ECONNRESET");
  });
});

describe("Complete faults and counters", () => {
  it("complete-error-in-200 puts an <Error> inside a 200 body and leaves the upload in place", async () => {
    const key = "f/complete.bin";
    const uploadId = text(xml(await send(local, { method: "POST", key, query: { uploads: "" } })).body, "UploadId");
    const part = await send(local, { method: "PUT", key, query: { partNumber: "1", uploadId }, body: bytes(100) });
    const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag}</ETag></Part></CompleteMultipartUpload>`;
    // Armed broadly: the kind only ever fires on CompleteMultipartUpload.
    await control(local, "POST", "faults", { kind: "complete-error-in-200" });
    expect((await send(local, { method: "GET", key, query: { uploadId } })).status).toBe(200);
    const failed = await send(local, { method: "POST", key, query: { uploadId }, body });
    expect(failed.status).toBe(200);
    expect(failed.text).toContain("<Error><Code>InternalError</Code>");
    expect((await send(local, { method: "HEAD", key })).status).toBe(404);
    const done = await send(local, { method: "POST", key, query: { uploadId }, body });
    expect(done.text).toContain("<CompleteMultipartUploadResult>");
    expect((await send(local, { method: "HEAD", key })).status).toBe(200);
  });

  it("counts requests per operation and resets", async () => {
    await send(local, { method: "PUT", key: "c1", body: "x" });
    await send(local, { method: "GET", key: "c1" });
    await send(local, { method: "HEAD", key: "c1" });
    const snapshot = local.cos.counters.snapshot();
    expect(snapshot.operations).toEqual({ PutObject: 1, GetObject: 1, HeadObject: 1 });
    expect(snapshot.total).toBe(3);
    await control(local, "DELETE", "counters");
    expect((await control(local, "GET", "counters")).json.total).toBe(0);
  });
});
