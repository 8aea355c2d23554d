// cos-local object operations over raw signed HTTP: PUT/GET/Range/HEAD/DELETE with ETag and CRC64,
// metadata, APPEND, key rules and keys that try to escape the data directory.

import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc64 } from "../../functions/cos/crc64";
import { text } from "../../functions/cos/xml";
import { bytes, send, startLocal, xml, type Local } from "./emulator-harness";

let local: Local;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local.close();
});

const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

describe("PUT / GET / HEAD / DELETE", () => {
  it("round-trips bytes with ETag and x-cos-hash-crc64ecma", async () => {
    const body = bytes(100_000, 7);
    const put = await send(local, { method: "PUT", key: "dir/round trip+(1).bin", body });
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe(`"${md5(body)}"`);
    expect(put.headers["x-cos-hash-crc64ecma"]).toBe(crc64(body).toString());
    expect(put.headers["x-cos-request-id"]).toBeTruthy();
    expect(put.headers.server).toBe("tencent-cos");

    const get = await send(local, { method: "GET", key: "dir/round trip+(1).bin" });
    expect(get.status).toBe(200);
    expect(get.body.equals(body)).toBe(true);
    expect(get.headers.etag).toBe(`"${md5(body)}"`);
    expect(get.headers["x-cos-hash-crc64ecma"]).toBe(crc64(body).toString());

    const head = await send(local, { method: "HEAD", key: "dir/round trip+(1).bin" });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("100000");
    expect(head.headers["x-cos-object-type"]).toBe("normal");
    expect(head.body.length).toBe(0);

    expect((await send(local, { method: "DELETE", key: "dir/round trip+(1).bin" })).status).toBe(204);
    const gone = await send(local, { method: "GET", key: "dir/round trip+(1).bin" });
    expect(gone.status).toBe(404);
    expect(text(xml(gone).body, "Code")).toBe("NoSuchKey");
    expect(gone.headers["x-cos-trace-id"]).toBeTruthy();
  });

  it("serves byte ranges with 206 and refuses unsatisfiable ones with 416", async () => {
    const body = bytes(1000, 3);
    await send(local, { method: "PUT", key: "range.bin", body });
    const mid = await send(local, { method: "GET", key: "range.bin", headers: { range: "bytes=100-199" } });
    expect(mid.status).toBe(206);
    expect(mid.headers["content-range"]).toBe("bytes 100-199/1000");
    expect(mid.body.equals(body.subarray(100, 200))).toBe(true);
    const suffix = await send(local, { method: "GET", key: "range.bin", headers: { range: "bytes=-10" } });
    expect(suffix.body.equals(body.subarray(990))).toBe(true);
    const open = await send(local, { method: "GET", key: "range.bin", headers: { range: "bytes=995-" } });
    expect(open.body.equals(body.subarray(995))).toBe(true);
    const bad = await send(local, { method: "GET", key: "range.bin", headers: { range: "bytes=1000-" } });
    expect(bad.status).toBe(416);
    expect(bad.headers["content-range"]).toBe("bytes */1000");
  });

  it("HEAD errors have no body, GET errors are COS error XML", async () => {
    const head = await send(local, { method: "HEAD", key: "missing" });
    expect(head.status).toBe(404);
    expect(head.body.length).toBe(0);
    expect(head.headers["x-cos-request-id"]).toBeTruthy();
    const get = await send(local, { method: "GET", key: "missing" });
    expect(get.headers["content-type"]).toBe("application/xml");
    expect(get.text.startsWith("<?xml version='1.0' encoding='utf-8' ?><Error>")).toBe(true);
    const doc = xml(get);
    expect(text(doc.body, "Resource")).toContain("missing");
    expect(text(doc.body, "RequestId")).toBe(get.headers["x-cos-request-id"]);
  });

  it("checks Content-MD5: BadDigest on mismatch, InvalidDigest when malformed", async () => {
    const body = Buffer.from("hello");
    const good = createHash("md5").update(body).digest("base64");
    expect((await send(local, { method: "PUT", key: "md5.txt", body, headers: { "content-md5": good } })).status).toBe(200);
    const wrong = await send(local, { method: "PUT", key: "md5.txt", body, headers: { "content-md5": createHash("md5").update("x").digest("base64") } });
    expect([wrong.status, text(xml(wrong).body, "Code")]).toEqual([400, "BadDigest"]);
    const malformed = await send(local, { method: "PUT", key: "md5.txt", body, headers: { "content-md5": "nope" } });
    expect([malformed.status, text(xml(malformed).body, "Code")]).toEqual([400, "InvalidDigest"]);
  });

  it("refuses a declared size over the cap with EntityTooLarge", async () => {
    const small = await startLocal({ maxObjectSize: 1000 });
    try {
      const reply = await send(small, { method: "PUT", key: "big", body: bytes(1001) });
      expect([reply.status, text(xml(reply).body, "Code")]).toEqual([400, "EntityTooLarge"]);
    } finally {
      await small.close();
    }
  });
});

describe("metadata", () => {
  it("stores and returns metadata headers, and drops empty ones", async () => {
    await send(local, {
      method: "PUT",
      key: "meta.txt",
      body: "x",
      headers: {
        "content-type": "text/plain",
        "content-disposition": "attachment; filename=a.txt",
        "cache-control": "",
        expires: "Thu, 01 Dec 2039 16:00:00 GMT",
        "x-cos-meta-colour": "blue",
        "x-cos-storage-class": "STANDARD_IA",
        "x-cos-acl": "private",
      },
    });
    const head = await send(local, { method: "HEAD", key: "meta.txt" });
    expect(head.headers["content-type"]).toBe("text/plain");
    expect(head.headers["content-disposition"]).toBe("attachment; filename=a.txt");
    expect(head.headers.expires).toBe("Thu, 01 Dec 2039 16:00:00 GMT");
    expect(head.headers["x-cos-meta-colour"]).toBe("blue");
    expect(head.headers["x-cos-storage-class"]).toBe("STANDARD_IA");
    expect(head.headers["cache-control"]).toBeUndefined();
  });

  it("does not return x-cos-storage-class for STANDARD and defaults Content-Type", async () => {
    await send(local, { method: "PUT", key: "std.bin", body: "x", headers: { "x-cos-storage-class": "STANDARD", "content-type": "" } });
    const head = await send(local, { method: "HEAD", key: "std.bin" });
    expect(head.headers["x-cos-storage-class"]).toBeUndefined();
    expect(head.headers["content-type"]).toBe("application/octet-stream");
  });

  it("refuses more than 2 KB of x-cos-meta-*", async () => {
    const reply = await send(local, { method: "PUT", key: "meta-big", body: "x", headers: { "x-cos-meta-a": "v".repeat(1500), "x-cos-meta-b": "v".repeat(1500) } });
    expect(reply.status).toBe(400);
  });

  it("GET honours response-content-type and friends", async () => {
    await send(local, { method: "PUT", key: "resp.txt", body: "x", headers: { "content-type": "text/plain" } });
    const get = await send(local, { method: "GET", key: "resp.txt", query: { "response-content-type": "application/json", "response-content-disposition": "attachment" } });
    expect(get.headers["content-type"]).toBe("application/json");
    expect(get.headers["content-disposition"]).toBe("attachment");
    // Values a header cannot carry are a 400, not a 500.
    for (const value of ["a\r\nx-evil: 1", "text/\u0000"]) {
      const bad = await send(local, { method: "GET", key: "resp.txt", query: { "response-content-disposition": value } });
      expect(bad.status, JSON.stringify(value)).toBe(400);
    }
  });
});

describe("APPEND", () => {
  it("appends at the right positions and reports appendable objects", async () => {
    const a = Buffer.from("hello ");
    const b = Buffer.from("world");
    const first = await send(local, { method: "POST", key: "log.txt", query: { append: "", position: "0" }, body: a });
    expect(first.status).toBe(200);
    expect(first.headers["x-cos-next-append-position"]).toBe("6");
    const second = await send(local, { method: "POST", key: "log.txt", query: { append: "", position: "6" }, body: b });
    expect(second.headers["x-cos-next-append-position"]).toBe("11");
    expect(second.headers["x-cos-hash-crc64ecma"]).toBe(crc64("hello world").toString());
    expect(second.headers["x-cos-content-sha1"]).toBe(md5(b));
    const get = await send(local, { method: "GET", key: "log.txt" });
    expect(get.text).toBe("hello world");
    expect(get.headers["x-cos-object-type"]).toBe("appendable");
    expect(get.headers.etag).toBe(`"${md5(Buffer.from("hello world"))}"`);
    expect((await send(local, { method: "HEAD", key: "log.txt" })).headers["x-cos-object-type"]).toBe("appendable");
  });

  it("answers 409 AppendPositionErr on a wrong position", async () => {
    await send(local, { method: "POST", key: "log2.txt", query: { append: "", position: "0" }, body: "abc" });
    const wrong = await send(local, { method: "POST", key: "log2.txt", query: { append: "", position: "1" }, body: "d" });
    expect([wrong.status, text(xml(wrong).body, "Code")]).toEqual([409, "AppendPositionErr"]);
    expect(wrong.headers["x-cos-next-append-position"]).toBe("3");
    expect((await send(local, { method: "GET", key: "log2.txt" })).text).toBe("abc");
  });

  it("answers 409 ObjectNotAppendable on a normal object, and a PUT makes it normal again", async () => {
    await send(local, { method: "PUT", key: "normal.txt", body: "abc" });
    const reply = await send(local, { method: "POST", key: "normal.txt", query: { append: "", position: "3" }, body: "d" });
    expect([reply.status, text(xml(reply).body, "Code")]).toEqual([409, "ObjectNotAppendable"]);
    await send(local, { method: "POST", key: "app-then-put", query: { append: "", position: "0" }, body: "a" });
    await send(local, { method: "PUT", key: "app-then-put", body: "b" });
    expect((await send(local, { method: "HEAD", key: "app-then-put" })).headers["x-cos-object-type"]).toBe("normal");
  });

  it("an APPEND whose object is replaced by a PUT while its body arrives answers 409 (the position no longer holds), not 500", async () => {
    expect((await send(local, { method: "POST", key: "race.log", query: { append: "", position: "0" }, body: "abcd" })).status).toBe(200);
    const body = new PassThrough();
    const appending = send(local, { method: "POST", key: "race.log", query: { append: "", position: "4" }, body, headers: { "content-length": "8" } });
    body.write("efgh");
    await new Promise((r) => setTimeout(r, 50));
    expect((await send(local, { method: "PUT", key: "race.log", body: "replaced" })).status).toBe(200);
    body.end("ijkl");
    const reply = await appending;
    expect(reply.status).toBe(409);
    expect(reply.headers["x-cos-next-append-position"]).toBe("8");
    const get = await send(local, { method: "GET", key: "race.log" });
    expect(get.text).toBe("replaced");
  });

  it("takes the 409 code name from the options", async () => {
    const other = await startLocal({ appendPositionErrorCode: "PositionNotMatch" });
    try {
      await send(other, { method: "POST", key: "l", query: { append: "", position: "0" }, body: "a" });
      const wrong = await send(other, { method: "POST", key: "l", query: { append: "", position: "0" }, body: "a" });
      expect(text(xml(wrong).body, "Code")).toBe("PositionNotMatch");
    } finally {
      await other.close();
    }
  });
});

describe("keys", () => {
  it("refuses keys over 850 bytes with KeyTooLong, accepts exactly 850", async () => {
    const long = await send(local, { method: "PUT", key: "k".repeat(851), body: "x" });
    expect([long.status, text(xml(long).body, "Code")]).toEqual([400, "KeyTooLong"]);
    // 283 three-byte characters + 1 = 850 bytes.
    expect((await send(local, { method: "PUT", key: "语".repeat(283) + "a", body: "x" })).status).toBe(200);
    expect((await send(local, { method: "PUT", key: "语".repeat(283) + "ab", body: "x" })).status).toBe(400);
  });

  it("refuses keys that start with / (a doubled slash after the bucket)", async () => {
    for (const key of ["/lead", "\\lead"]) {
      const reply = await send(local, { method: "PUT", key, body: "x" });
      expect([reply.status, text(xml(reply).body, "Code")], key).toEqual([400, "InvalidObjectName"]);
    }
  });

  it("refuses control characters CAN/EM/SUB/ESC", async () => {
    for (const c of ["\x18", "\x19", "\x1a", "\x1b"]) {
      expect((await send(local, { method: "PUT", key: `bad${c}key`, body: "x" })).status).toBe(400);
    }
  });

  it("keeps keys that look like paths inside the data directory", async () => {
    const keys = ["../escape.txt", "a/../../b.txt", "../../../../tmp/x", "nul\u0000byte", "..", "./."];
    for (const [i, key] of keys.entries()) {
      const put = await send(local, { method: "PUT", key, body: `body ${i}` });
      expect(put.status, key).toBe(200);
      expect((await send(local, { method: "GET", key })).text).toBe(`body ${i}`);
    }
    const files = await listFiles(local.dataDir);
    expect(files.every((f) => !relative(local.dataDir, f).startsWith(".."))).toBe(true);
    expect(files.some((f) => f.includes("escape") || f.endsWith("b.txt"))).toBe(false);
  });
});

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}
