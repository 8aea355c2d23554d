// cos-local must refuse what COS refuses (issue 2 §4 "Negative cases"), judged through
// cos-nodejs-sdk-v5: the multipart, append, key and traffic-limit rules (cos-protocol.md §3.4,
// §4 and §6). Signature refusals are in sdk-auth.test.ts.

import { randomBytes } from "node:crypto";
import type COS from "cos-nodejs-sdk-v5";
import { describe, expect, it } from "vitest";
import { loc, MB, rejection, sha256, type SdkHarness, useHarness } from "./sdk-harness";

let h: SdkHarness;
let cos: COS;

useHarness((started) => {
  h = started;
  cos = started.cos();
});

describe("multipart rules on Complete and UploadPart", () => {
  async function uploadParts(Key: string, sizes: number[]) {
    const { UploadId } = await cos.multipartInit({ ...loc, Key });
    const parts = [];
    for (const [i, size] of sizes.entries()) {
      const part = await cos.multipartUpload({ ...loc, Key, UploadId, PartNumber: i + 1, Body: randomBytes(size) });
      parts.push({ PartNumber: i + 1, ETag: part.ETag });
    }
    return { UploadId, parts };
  }

  it("a non-last part under 1 MB fails Complete with EntityTooSmall", async () => {
    const Key = "negative/too-small.bin";
    const { UploadId, parts } = await uploadParts(Key, [100_000, 100_000]);
    const err = await rejection(cos.multipartComplete({ ...loc, Key, UploadId, Parts: parts }));
    expect(err.code).toBe("EntityTooSmall");
    expect((await rejection(cos.headObject({ ...loc, Key }))).statusCode).toBe(404);
  });

  it("parts out of order fail with InvalidPartOrder, and the upload can still be completed", async () => {
    const Key = "negative/out-of-order.bin";
    const { UploadId, parts } = await uploadParts(Key, [MB, 1000]);
    const err = await rejection(cos.multipartComplete({ ...loc, Key, UploadId, Parts: [parts[1], parts[0]] }));
    expect(err.code).toBe("InvalidPartOrder");
    const done = await cos.multipartComplete({ ...loc, Key, UploadId, Parts: parts });
    expect(done.statusCode).toBe(200);
  });

  it("a wrong ETag or a part never uploaded fails with InvalidPart", async () => {
    const Key = "negative/wrong-etag.bin";
    const { UploadId, parts } = await uploadParts(Key, [1000]);
    const wrongEtag = await rejection(
      cos.multipartComplete({ ...loc, Key, UploadId, Parts: [{ PartNumber: 1, ETag: `"${"0".repeat(32)}"` }] }),
    );
    expect(wrongEtag.code).toBe("InvalidPart");
    const missing = await rejection(
      cos.multipartComplete({ ...loc, Key, UploadId, Parts: [...parts, { PartNumber: 2, ETag: parts[0].ETag }] }),
    );
    expect(missing.code).toBe("InvalidPart");
  });

  it("an unknown uploadId gets 404 NoSuchUpload on UploadPart, ListParts, Complete and Abort", async () => {
    const Key = "negative/no-such-upload.bin";
    const UploadId = "1700000000nosuchupload";
    const calls = [
      () => cos.multipartUpload({ ...loc, Key, UploadId, PartNumber: 1, Body: "x" }),
      () => cos.multipartListPart({ ...loc, Key, UploadId }),
      () => cos.multipartComplete({ ...loc, Key, UploadId, Parts: [{ PartNumber: 1, ETag: '"x"' }] }),
      () => cos.multipartAbort({ ...loc, Key, UploadId }),
    ];
    for (const call of calls) {
      const err = await rejection(call());
      expect([err.statusCode, err.code]).toEqual([404, "NoSuchUpload"]);
    }
  });
});

describe("append, key and traffic-limit rules", () => {
  it("an append at the wrong position gets 409 and leaves the object unchanged", async () => {
    const Key = "negative/append.log";
    const first = randomBytes(1000);
    await cos.appendObject({ ...loc, Key, Body: first, Position: 0 });
    for (const Position of [0, 999, 1001]) {
      const err = await rejection(cos.appendObject({ ...loc, Key, Body: "more", Position }));
      expect(err.statusCode).toBe(409);
      expect(["AppendPositionErr", "PositionNotMatch"]).toContain(err.code);
    }
    const got = await cos.getObject({ ...loc, Key });
    expect(sha256(got.Body as Buffer)).toBe(sha256(first));
  });

  it("appending to an object written by PUT gets 409 ObjectNotAppendable", async () => {
    const Key = "negative/not-appendable.bin";
    await cos.putObject({ ...loc, Key, Body: "abc" });
    const err = await rejection(cos.appendObject({ ...loc, Key, Body: "d", Position: 3 }));
    expect(err.statusCode).toBe(409);
    expect(err.code).toBe("ObjectNotAppendable");
  });

  it("a key of 851 UTF-8 bytes gets 400 KeyTooLong; 850 bytes is accepted", async () => {
    const ok = await cos.putObject({ ...loc, Key: "k/" + "a".repeat(848), Body: "x" });
    expect(ok.statusCode).toBe(200);
    for (const Key of ["k/" + "a".repeat(849), "k/" + "测".repeat(283)]) {
      const err = await rejection(cos.putObject({ ...loc, Key, Body: "x" }));
      expect([err.statusCode, err.code]).toEqual([400, "KeyTooLong"]);
    }
  });

  it("x-cos-traffic-limit outside 819200-838860800 gets 400 on PUT and GET", async () => {
    const Key = "negative/traffic.bin";
    await cos.putObject({ ...loc, Key, Body: "x", Headers: { "x-cos-traffic-limit": "819200" } });
    for (const limit of ["1000", "819199", "838860801"]) {
      const put = await rejection(cos.putObject({ ...loc, Key, Body: "x", Headers: { "x-cos-traffic-limit": limit } }));
      expect(put.statusCode).toBe(400);
    }
    const get = await rejection(cos.getObject({ ...loc, Key, Headers: { "x-cos-traffic-limit": "1000" } }));
    expect(get.statusCode).toBe(400);
  });

  it("a traffic limit inside the range throttles the transfer", async () => {
    const Key = "negative/throttled.bin";
    const body = randomBytes(150 * 1024);
    await cos.putObject({ ...loc, Key, Body: body });
    const started = Date.now();
    const got = await cos.getObject({ ...loc, Key, Headers: { "x-cos-traffic-limit": "819200" } });
    // 819200 bit/s is 100 KB/s, so 150 KB takes about 1.5 s; allow a generous first burst.
    expect(Date.now() - started).toBeGreaterThan(750);
    expect(sha256(got.Body as Buffer)).toBe(sha256(body));
  });
});
