// cos-local multipart upload (cos-protocol.md §3) over raw signed HTTP: the full lifecycle, the
// Complete rules (EntityTooSmall, InvalidPartOrder, InvalidPart, NoSuchUpload), replaced parts,
// paging of ListParts and ListMultipartUploads, delimiter, and Complete's streamed 200.

import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc64 } from "../../functions/cos/crc64";
import { list, text } from "../../functions/cos/xml";
import { bytes, MB, send, startLocal, xml, type Local } from "./emulator-harness";

let local: Local;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local.close();
});

const md5 = (b: Buffer) => createHash("md5").update(b).digest();

async function initiate(key: string, headers: Record<string, string> = {}): Promise<string> {
  const reply = await send(local, { method: "POST", key, query: { uploads: "" }, headers });
  expect(reply.status).toBe(200);
  const doc = xml(reply);
  expect(doc.root).toBe("InitiateMultipartUploadResult");
  expect(text(doc.body, "Key")).toBe(key);
  return text(doc.body, "UploadId");
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer) {
  return send(local, { method: "PUT", key, query: { partNumber: String(partNumber), uploadId }, body });
}

function completeBody(parts: { n: number; etag: string }[]): string {
  // ETags inside XML-escaped quotes, as the SDKs send them (§1.3).
  return `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag.replace(/"/g, "&quot;")}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
}

async function complete(key: string, uploadId: string, parts: { n: number; etag: string }[]) {
  return send(local, { method: "POST", key, query: { uploadId }, body: completeBody(parts), headers: { "content-type": "application/xml" } });
}

describe("multipart lifecycle", () => {
  it("initiates, uploads, lists, completes; ETag md5-of-md5s-N, CRC of the whole object, initiate metadata kept", async () => {
    const key = "mp/whole.bin";
    const uploadId = await initiate(key, { "content-type": "video/mp4", "x-cos-meta-origin": "test", "cache-control": "" });
    const partsData = [bytes(MB, 1), bytes(MB + 5, 2), bytes(1234, 3)];
    const etags: string[] = [];
    for (const [i, data] of partsData.entries()) {
      const reply = await uploadPart(key, uploadId, i + 1, data);
      expect(reply.status).toBe(200);
      expect(reply.headers.etag).toBe(`"${md5(data).toString("hex")}"`);
      expect(reply.headers["x-cos-hash-crc64ecma"]).toBe(crc64(data).toString());
      etags.push(reply.headers.etag!);
    }
    const listed = xml(await send(local, { method: "GET", key, query: { uploadId } }));
    expect(list(listed.body, "Part").map((p) => [text(p, "PartNumber"), text(p, "ETag"), text(p, "Size")])).toEqual(
      partsData.map((d, i) => [String(i + 1), etags[i], String(d.length)]),
    );
    expect(text(listed.body, "IsTruncated")).toBe("false");

    const done = await complete(key, uploadId, etags.map((etag, i) => ({ n: i + 1, etag })));
    expect(done.status).toBe(200);
    const whole = Buffer.concat(partsData);
    const expectedEtag = `"${createHash("md5").update(Buffer.concat(partsData.map(md5))).digest("hex")}-3"`;
    expect(done.text.trimStart().startsWith("<?xml")).toBe(true);
    const result = xml({ ...done, text: done.text.trim() });
    expect(result.root).toBe("CompleteMultipartUploadResult");
    expect(text(result.body, "ETag")).toBe(expectedEtag);
    expect(done.headers["x-cos-hash-crc64ecma"]).toBe(crc64(whole).toString());

    const get = await send(local, { method: "GET", key });
    expect(get.body.equals(whole)).toBe(true);
    expect(get.headers.etag).toBe(expectedEtag);
    expect(get.headers["x-cos-hash-crc64ecma"]).toBe(crc64(whole).toString());
    expect(get.headers["content-type"]).toBe("video/mp4");
    expect(get.headers["x-cos-meta-origin"]).toBe("test");
    expect(get.headers["cache-control"]).toBeUndefined();
    // The upload is gone once completed.
    const after = await send(local, { method: "GET", key, query: { uploadId } });
    expect([after.status, text(xml(after).body, "Code")]).toEqual([404, "NoSuchUpload"]);
  });

  it("a part uploaded twice replaces the first", async () => {
    const key = "mp/replace.bin";
    const uploadId = await initiate(key);
    await uploadPart(key, uploadId, 1, bytes(1000, 1));
    const second = await uploadPart(key, uploadId, 1, bytes(2000, 2));
    const parts = list(xml(await send(local, { method: "GET", key, query: { uploadId } })).body, "Part");
    expect(parts).toHaveLength(1);
    expect(text(parts[0], "Size")).toBe("2000");
    const done = await complete(key, uploadId, [{ n: 1, etag: second.headers.etag! }]);
    expect(done.status).toBe(200);
    expect((await send(local, { method: "GET", key })).body.equals(bytes(2000, 2))).toBe(true);
  });

  it("aborts with 204; then NoSuchUpload", async () => {
    const key = "mp/abort.bin";
    const uploadId = await initiate(key);
    await uploadPart(key, uploadId, 1, bytes(10));
    expect((await send(local, { method: "DELETE", key, query: { uploadId } })).status).toBe(204);
    const again = await send(local, { method: "DELETE", key, query: { uploadId } });
    expect([again.status, text(xml(again).body, "Code")]).toEqual([404, "NoSuchUpload"]);
    const part = await uploadPart(key, uploadId, 2, bytes(10));
    expect(text(xml(part).body, "Code")).toBe("NoSuchUpload");
  });
});

describe("Complete and part rules", () => {
  it("EntityTooSmall when a non-last part is under 1 MB", async () => {
    const key = "mp/small.bin";
    const uploadId = await initiate(key);
    const a = await uploadPart(key, uploadId, 1, bytes(MB - 1));
    const b = await uploadPart(key, uploadId, 2, bytes(10));
    const reply = await complete(key, uploadId, [{ n: 1, etag: a.headers.etag! }, { n: 2, etag: b.headers.etag! }]);
    expect([reply.status, text(xml(reply).body, "Code")]).toEqual([400, "EntityTooSmall"]);
  });

  it("InvalidPartOrder when parts are not ascending", async () => {
    const key = "mp/order.bin";
    const uploadId = await initiate(key);
    const a = await uploadPart(key, uploadId, 1, bytes(MB));
    const b = await uploadPart(key, uploadId, 2, bytes(MB));
    const reply = await complete(key, uploadId, [{ n: 2, etag: b.headers.etag! }, { n: 1, etag: a.headers.etag! }]);
    expect([reply.status, text(xml(reply).body, "Code")]).toEqual([400, "InvalidPartOrder"]);
  });

  it("InvalidPart on a wrong ETag or a missing part", async () => {
    const key = "mp/invalid.bin";
    const uploadId = await initiate(key);
    const a = await uploadPart(key, uploadId, 1, bytes(MB));
    const wrong = await complete(key, uploadId, [{ n: 1, etag: `"${"0".repeat(32)}"` }]);
    expect([wrong.status, text(xml(wrong).body, "Code")]).toEqual([400, "InvalidPart"]);
    const missing = await complete(key, uploadId, [{ n: 1, etag: a.headers.etag! }, { n: 3, etag: a.headers.etag! }]);
    expect(text(xml(missing).body, "Code")).toBe("InvalidPart");
    // Unquoted ETags match too (compared with quotes stripped, §8).
    expect((await complete(key, uploadId, [{ n: 1, etag: a.headers.etag!.replace(/"/g, "") }])).status).toBe(200);
  });

  it("NoSuchUpload for an unknown uploadId, InvalidArgument for part numbers outside 1-10000", async () => {
    const unknown = await uploadPart("mp/x", "1700000000deadbeefdeadbeefdeadbeefdeadbeef", 1, bytes(1));
    expect([unknown.status, text(xml(unknown).body, "Code")]).toEqual([404, "NoSuchUpload"]);
    const garbage = await send(local, { method: "GET", key: "mp/x", query: { uploadId: "../../etc" } });
    expect(text(xml(garbage).body, "Code")).toBe("NoSuchUpload");
    const uploadId = await initiate("mp/x");
    for (const n of ["0", "10001", "abc"]) {
      const reply = await send(local, { method: "PUT", key: "mp/x", query: { partNumber: n, uploadId }, body: "x" });
      expect([reply.status, text(xml(reply).body, "Code")]).toEqual([400, "InvalidArgument"]);
    }
    expect((await uploadPart("mp/x", uploadId, 10000, bytes(1))).status).toBe(200);
  });

  it("MalformedXML for a Complete body that is not a part list", async () => {
    const uploadId = await initiate("mp/malformed");
    const reply = await send(local, { method: "POST", key: "mp/malformed", query: { uploadId }, body: "<nope" });
    expect([reply.status, text(xml(reply).body, "Code")]).toEqual([400, "MalformedXML"]);
  });

  it("streams whitespace while merging when the merge is slow", async () => {
    const slow = await startLocal({ completeHeartbeatMs: 5 });
    try {
      const key = "big.bin";
      const init = await send(slow, { method: "POST", key, query: { uploads: "" } });
      const uploadId = text(xml(init).body, "UploadId");
      const part = await send(slow, { method: "PUT", key, query: { partNumber: "1", uploadId }, body: bytes(8 * MB) });
      const done = await send(slow, { method: "POST", key, query: { uploadId }, body: completeBody([{ n: 1, etag: part.headers.etag! }]) });
      expect(done.status).toBe(200);
      expect(done.headers["transfer-encoding"]).toBe("chunked");
      expect(done.text.startsWith(" ")).toBe(true);
      expect(done.text).toContain("<CompleteMultipartUploadResult>");
    } finally {
      await slow.close();
    }
  });
});

describe("ListParts and ListMultipartUploads", () => {
  it("pages ListParts with max-parts and part-number-marker", async () => {
    const key = "mp/paged.bin";
    const uploadId = await initiate(key);
    for (const n of [1, 2, 3, 5, 8]) await uploadPart(key, uploadId, n, bytes(10, n));
    const seen: string[] = [];
    let marker = "0";
    for (let page = 0; page < 5; page++) {
      const doc = xml(await send(local, { method: "GET", key, query: { uploadId, "max-parts": "2", "part-number-marker": marker } }));
      seen.push(...list(doc.body, "Part").map((p) => text(p, "PartNumber")));
      expect(text(doc.body, "MaxParts")).toBe("2");
      if (text(doc.body, "IsTruncated") !== "true") break;
      marker = text(doc.body, "NextPartNumberMarker");
    }
    expect(seen).toEqual(["1", "2", "3", "5", "8"]);
  });

  it("lists uploads with prefix, delimiter and CommonPrefixes, and pages with key-marker/upload-id-marker", async () => {
    const other = await startLocal();
    try {
      const ids: Record<string, string> = {};
      for (const key of ["photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/top.jpg", "photos/top.jpg", "videos/v.mp4"]) {
        const reply = await send(other, { method: "POST", key, query: { uploads: "" } });
        ids[key + Object.keys(ids).length] = text(xml(reply).body, "UploadId");
      }
      const grouped = xml(await send(other, { method: "GET", query: { uploads: "", prefix: "photos/", delimiter: "/" } }));
      expect(list(grouped.body, "CommonPrefixes").map((p) => text(p, "Prefix"))).toEqual(["photos/2024/", "photos/2025/"]);
      expect(list(grouped.body, "Upload").map((u) => text(u, "Key"))).toEqual(["photos/top.jpg", "photos/top.jpg"]);

      // Page one upload at a time through everything under photos/.
      const seen: string[] = [];
      let query: Record<string, string> = { uploads: "", prefix: "photos/", "max-uploads": "1" };
      for (let page = 0; page < 10; page++) {
        const doc = xml(await send(other, { method: "GET", query }));
        seen.push(...list(doc.body, "Upload").map((u) => `${text(u, "Key")}#${text(u, "UploadId")}`));
        if (text(doc.body, "IsTruncated") !== "true") break;
        query = { ...query, "key-marker": text(doc.body, "NextKeyMarker"), "upload-id-marker": text(doc.body, "NextUploadIdMarker") };
      }
      expect(seen).toHaveLength(5);
      expect(new Set(seen).size).toBe(5);
      expect(seen.map((s) => s.split("#")[0])).toEqual(["photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/top.jpg", "photos/top.jpg"]);

      const encoded = xml(await send(other, { method: "GET", query: { uploads: "", prefix: "videos/", "encoding-type": "url" } }));
      expect(text(encoded.body, "Encoding-Type")).toBe("url");
      expect(list(encoded.body, "Upload").map((u) => text(u, "Key"))).toEqual(["videos/v.mp4"]);
    } finally {
      await other.close();
    }
  });
});
