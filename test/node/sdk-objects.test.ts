// cos-nodejs-sdk-v5 judges cos-local's single-object API (issue 2 §3 "Object", cos-protocol.md §4):
// PUT, HEAD, GET (with Range), DELETE, APPEND and presigned GET, signature checking on.

import { randomBytes } from "node:crypto";
import type COS from "cos-nodejs-sdk-v5";
import { describe, expect, it } from "vitest";
import { Crc64, crc64 } from "../../functions/cos/crc64";
import {
  HOST,
  loc,
  md5Hex,
  pathAndQuery,
  presignedUrl,
  rawRequest,
  readBack,
  rejection,
  type SdkHarness,
  sha256,
  useHarness,
} from "./sdk-harness";

let h: SdkHarness;
let cos: COS;

useHarness((started) => {
  h = started;
  cos = started.cos();
});

describe("putObject / headObject / getObject / deleteObject", () => {
  it("stores the bytes and reports size, ETag and CRC64 on PUT, HEAD and GET", async () => {
    const Key = "objects/put-head-get.bin";
    const body = randomBytes(300_000);
    const crc = crc64(body).toString();

    const put = await cos.putObject({ ...loc, Key, Body: body });
    expect(put.statusCode).toBe(200);
    expect(put.ETag).toBe(`"${md5Hex(body)}"`);
    expect(put.headers?.["x-cos-hash-crc64ecma"]).toBe(crc);

    const head = await cos.headObject({ ...loc, Key });
    expect(head.headers?.["content-length"]).toBe(String(body.length));
    expect(head.ETag).toBe(`"${md5Hex(body)}"`);
    expect(head.headers?.["x-cos-hash-crc64ecma"]).toBe(crc);

    const get = await cos.getObject({ ...loc, Key });
    expect(sha256(get.Body as Buffer)).toBe(sha256(body));
    expect(get.headers?.["x-cos-hash-crc64ecma"]).toBe(crc);
  });

  it("keeps unicode, spaces, '+' and reserved characters in keys (signed on the decoded path)", async () => {
    const Key = "目录/my file+(1)!'*~ 测试;=&.bin";
    const body = randomBytes(10_000);
    await cos.putObject({ ...loc, Key, Body: body });
    expect(sha256(await readBack(cos, Key))).toBe(sha256(body));
    // The '+' is a plus, not a space: the key with a space instead does not exist.
    const other = await rejection(cos.headObject({ ...loc, Key: Key.replace("+", " ") }));
    expect(other.statusCode).toBe(404);
  });

  it("stores metadata headers and returns them on HEAD, but not the empty Cache-Control the SDK sends", async () => {
    const Key = "objects/metadata.txt";
    await cos.putObject({
      ...loc,
      Key,
      Body: "hello metadata",
      ContentType: "text/plain",
      ContentDisposition: 'attachment; filename="m.txt"',
      Headers: { "x-cos-meta-origin": "sdk-oracle" },
    });
    const head = await cos.headObject({ ...loc, Key });
    expect(head.headers?.["content-type"]).toBe("text/plain");
    expect(head.headers?.["content-disposition"]).toBe('attachment; filename="m.txt"');
    expect(head.headers?.["x-cos-meta-origin"]).toBe("sdk-oracle");
    // putObject sends `Cache-Control: ` (empty) on purpose (§1.3); it must not become metadata.
    expect(head.headers?.["cache-control"]).toBeUndefined();

    await cos.putObject({ ...loc, Key, Body: "hello again", CacheControl: "max-age=60" });
    const again = await cos.headObject({ ...loc, Key });
    expect(again.headers?.["cache-control"]).toBe("max-age=60");
    // A PUT replaces the object and its metadata.
    expect(again.headers?.["x-cos-meta-origin"]).toBeUndefined();
  });

  it("answers a Range GET with 206 and exactly those bytes", async () => {
    const Key = "objects/range.bin";
    const body = randomBytes(4096);
    await cos.putObject({ ...loc, Key, Body: body });
    const part = await cos.getObject({ ...loc, Key, Range: "bytes=100-1123" });
    expect(part.statusCode).toBe(206);
    expect(sha256(part.Body as Buffer)).toBe(sha256(body.subarray(100, 1124)));
    expect(part.headers?.["content-range"]).toBe(`bytes 100-1123/${body.length}`);
  });

  it("deletes an object: DELETE answers 204, then HEAD and GET answer 404", async () => {
    const Key = "objects/delete-me.bin";
    await cos.putObject({ ...loc, Key, Body: randomBytes(1000) });
    const deleted = await cos.deleteObject({ ...loc, Key });
    expect(deleted.statusCode).toBe(204);
    const head = await rejection(cos.headObject({ ...loc, Key }));
    expect(head.statusCode).toBe(404);
    const get = await rejection(cos.getObject({ ...loc, Key }));
    expect(get.statusCode).toBe(404);
    expect(get.code).toBe("NoSuchKey");
  });

  it("stores an empty object", async () => {
    const Key = "objects/empty";
    const put = await cos.putObject({ ...loc, Key, Body: Buffer.alloc(0) });
    expect(put.ETag).toBe(`"${md5Hex(Buffer.alloc(0))}"`);
    const head = await cos.headObject({ ...loc, Key });
    expect(head.headers?.["content-length"]).toBe("0");
    expect(head.headers?.["x-cos-hash-crc64ecma"]).toBe("0");
  });
});

describe("appendObject", () => {
  it("appends at position 0 then at the next position, and reads back the concatenation", async () => {
    const Key = "objects/appendable.log";
    const first = randomBytes(70_000);
    const second = randomBytes(33_333);

    const a = await cos.appendObject({ ...loc, Key, Body: first, Position: 0 });
    expect(a.headers?.["x-cos-next-append-position"]).toBe(String(first.length));
    const b = await cos.appendObject({ ...loc, Key, Body: second, Position: first.length });
    expect(b.headers?.["x-cos-next-append-position"]).toBe(String(first.length + second.length));

    const whole = Buffer.concat([first, second]);
    expect(sha256(await readBack(cos, Key))).toBe(sha256(whole));
    const head = await cos.headObject({ ...loc, Key });
    expect(head.headers?.["x-cos-object-type"]).toBe("appendable");
    expect(head.headers?.["x-cos-hash-crc64ecma"]).toBe(new Crc64().update(first).update(second).toString());
  });
});

describe("getObjectUrl (presigned, query-form signature)", () => {
  it("serves the object to the URL the SDK signs, with %3b in q-url-param-list and signed response-* params", async () => {
    const Key = "objects/presigned file.txt";
    const body = randomBytes(2000);
    await cos.putObject({ ...loc, Key, Body: body });
    const url = await presignedUrl(cos, {
      Key,
      Query: { "response-content-disposition": "attachment", "response-content-type": "application/x-test" },
    });
    expect(url).toContain("q-url-param-list=response-content-disposition%3bresponse-content-type");
    const res = await rawRequest(h.port, { method: "GET", path: pathAndQuery(url), headers: { Host: HOST } });
    expect(res.status).toBe(200);
    expect(res.headers["content-disposition"]).toBe("attachment");
    expect(res.headers["content-type"]).toBe("application/x-test");
    expect(sha256(res.body)).toBe(sha256(body));
  });
});
