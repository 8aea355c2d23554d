// Bad input and broken plans (issue 3 "Abuse"): object keys, sizes, types, part numbers, part
// bodies that differ from the plan, and completes that do not match what COS holds.
import { afterAll, describe, expect, it } from "vitest";
import { api, bytes, cosUrl, createMultipart, expectError, expectNoSecretsSeen, MiB, putPart, remember, signParts, splitParts, uploadIdsInCos } from "./api-helpers";

afterAll(expectNoSecretsSeen);

const as = "in-alice";
const prefix = `users/${as}/`;
/** A key under the prefix of exactly `length` UTF-8 bytes, made of `fill` (1 or 2 bytes) and "k". */
function keyOfBytes(length: number, fill: string): string {
  const width = new TextEncoder().encode(fill).length;
  const key = prefix + fill.repeat(Math.floor((length - prefix.length) / width)) + "k".repeat((length - prefix.length) % width);
  expect(new TextEncoder().encode(key).length).toBe(length);
  return key;
}
const create = (body: Record<string, unknown>, who = as) => api("POST", "/v1/uploads", { as: who, body: { size: 10, contentType: "text/plain", ...body } });

describe("object keys", () => {
  it.each([
    ["a .. segment", `${prefix}../in-bob/x.txt`],
    ["a trailing .. segment", `${prefix}dir/..`],
    ["a . segment", `${prefix}a/./b.txt`],
    ["a leading /", `/${prefix}x.txt`],
    ["a backslash", `${prefix}a\\b.txt`],
    ["a leading backslash", `\\${prefix}x.txt`],
    ["an empty segment", `${prefix}a//b.txt`],
    ["a NUL", `${prefix}x\u0000.txt`],
    ["a newline", `${prefix}x\n.txt`],
    ["a DEL", `${prefix}x\u007f.txt`],
    ["851 bytes", keyOfBytes(851, "k")],
    ["851 bytes of multi-byte UTF-8", keyOfBytes(851, "é")],
    ["NFD Unicode", `${prefix}cafe\u0301.txt`],
    ["an empty key", ""],
  ])("400 for a key with %s", async (_name, key) => {
    expectError(await create({ key }), 400, "InvalidInput", "body.key");
  });

  it("accepts a key of exactly 850 bytes", async () => {
    const key = keyOfBytes(850, "é");
    const res = await create({ key });
    expect([res.status, res.body?.key]).toEqual([200, key]);
  });

  it("403 KeyOutsidePrefix for another caller's prefix, including look-alike and escaping subjects", async () => {
    expectError(await create({ key: "users/in-bob/x.txt" }), 403, "KeyOutsidePrefix", "body.key");
    expectError(await create({ key: "users/in-alice-2/x.txt" }), 403, "KeyOutsidePrefix", "body.key");
    expectError(await create({ key: "x.txt" }), 403, "KeyOutsidePrefix", "body.key");
    // A subject is one path segment: "../in-bob" gets a prefix of its own, never in-bob's.
    expectError(await create({ key: "users/in-bob/x.txt" }, "../in-bob"), 403, "KeyOutsidePrefix", "body.key");
    expectError(await create({ key: "users/x.txt" }, ".."), 403, "KeyOutsidePrefix", "body.key");
  });

  it("400 when key and filename are both given, or neither", async () => {
    expectError(await create({ key: `${prefix}x.txt`, filename: "x.txt" }), 400, "InvalidInput", "body.key");
    expectError(await create({}), 400, "InvalidInput", "body.key");
  });

  it("a filename cannot climb out of the prefix", async () => {
    for (const filename of ["../../in-bob/x.txt", "..", "a\\b", "x\u0000y"]) {
      const res = await create({ filename });
      expect(res.status, res.text).toBe(200);
      expect(res.body.key.startsWith(prefix)).toBe(true);
      expect(res.body.key.slice(prefix.length)).toMatch(/^[0-9a-f-]{36}\/[^/\\\u0000]+$/);
    }
  });
});

describe("object routes keep to the prefix", () => {
  it.each([
    ["/v1/objects/confirm", {}],
    ["/v1/objects/download", {}],
    ["/v1/objects/append", { position: 0, size: 1 }],
  ])("%s: 403 for another caller's key, 400 for a bad one", async (path, extra) => {
    expectError(await api("POST", path, { as, body: { key: "users/in-bob/x.txt", ...extra } }), 403, "KeyOutsidePrefix", "body.key");
    expectError(await api("POST", path, { as, body: { key: `${prefix}../in-bob/x.txt`, ...extra } }), 400, "InvalidInput", "body.key");
  });
});

describe("size and content type", () => {
  it("413 over MAX_UPLOAD_BYTES, 400 for sizes that are not byte counts", async () => {
    expectError(await create({ key: `${prefix}big.bin`, size: 100 * MiB + 1 }), 413, "TooLarge", "body.size");
    for (const size of [-1, 1.5, "10"]) expectError(await create({ key: `${prefix}x.bin`, size }), 400, "InvalidInput", "body.size");
    expectError(await create({ key: `${prefix}x.bin`, partSize: 1000 }), 400, "InvalidInput", "body.partSize");
    const append = (body: Record<string, unknown>) => api("POST", "/v1/objects/append", { as, body: { key: `${prefix}log.txt`, contentType: "text/plain", ...body } });
    expectError(await append({ position: 100 * MiB, size: 1 }), 413, "TooLarge", "body.position + body.size");
    expectError(await append({ position: 0, size: 0 }), 400, "InvalidInput", "body.size");
    expectError(await create({ key: `${prefix}x.bin`, metadata: { a: "x".repeat(2048), b: "y" } }), 400, "InvalidInput", "body.metadata");
    expectError(await create({ key: `${prefix}x.bin`, metadata: { Upper: "x" } }), 400, "InvalidInput", "body.metadata");
  });

  it("415 for a content type outside ALLOWED_CONTENT_TYPES; parameters and wildcards are honoured", async () => {
    expectError(await create({ key: `${prefix}x.exe`, contentType: "application/x-msdownload" }), 415, "ContentTypeNotAllowed", "body.contentType");
    expectError(await create({ key: `${prefix}x.html`, contentType: "text/html" }), 415, "ContentTypeNotAllowed", "body.contentType");
    expectError(await create({ key: `${prefix}x.png`, contentType: "imagery/png" }), 415, "ContentTypeNotAllowed", "body.contentType");
    expectError(await create({ key: `${prefix}x`, contentType: "not a type" }), 400, "InvalidInput", "body.contentType");
    for (const contentType of ["image/png", "text/plain; charset=utf-8", "application/pdf"]) expect((await create({ key: `${prefix}ok`, contentType })).status).toBe(200);
  });

  it("400 for header values HTTP would change (line breaks, Unicode spaces, outer spaces), single PUT and multipart alike: never a URL that cannot work or a 500", async () => {
    for (const size of [10, 2 * MiB]) {
      for (const contentType of ["text/plain\r\n;x=y", "text/plain\u2028;x", "text/plain\n", "text/plain; charset=utf-8 ", " text/plain"]) {
        expectError(await create({ key: `${prefix}h.txt`, size, contentType }), 400, "InvalidInput", "body.contentType");
      }
      expectError(await create({ key: `${prefix}h.txt`, size, cacheControl: "no-cache " }), 400, "InvalidInput", "body.cacheControl");
      expectError(await create({ key: `${prefix}h.txt`, size, metadata: { a: " v" } }), 400, "InvalidInput", "body.metadata.a");
      expectError(await create({ key: `${prefix}h.txt`, size, contentDisposition: "inline\r\nx-evil: 1" }), 400, "InvalidInput", "body.contentDisposition");
    }
  });

  it("400 for text with no UTF-8 form (lone surrogates) in a download's filename and in /v1/authorize's query and headers", async () => {
    expectError(await api("POST", "/v1/objects/download", { as, body: { key: `${prefix}a.txt`, filename: "\ud800.txt" } }), 400, "InvalidInput", "body.filename");
    const authorize = (extra: Record<string, unknown>) => api("POST", "/v1/authorize", { as, body: { method: "PUT", key: `${prefix}a.txt`, headers: { "content-length": "1", "content-type": "text/plain" }, ...extra } });
    expect((await authorize({})).status).toBe(200);
    expectError(await authorize({ query: { "response-content-type": "\ud800" } }), 400, "InvalidInput", "body.query");
    expectError(await authorize({ query: { "\udc00": "x" } }), 400, "InvalidInput", "body.query");
    expectError(await authorize({ headers: { "content-length": "1", "content-type": "text/plain", "x-cos-meta-a": "\udbff" } }), 400, "InvalidInput", "body.headers");
  });
});

describe("parts", () => {
  const size = 3 * MiB + 10; // 4 parts of the 1 MiB plan

  it("400 for part numbers 0, 10001, past the plan's count, and for empty or oversized batches", async () => {
    const plan = await createMultipart(as, `${prefix}parts/numbers.bin`, size);
    expect(plan.partCount).toBe(4);
    const sign = (parts: unknown) => api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts } });
    expectError(await sign([{ partNumber: 0 }]), 400, "InvalidInput", "body.parts.0.partNumber");
    expectError(await sign([{ partNumber: 1 }, { partNumber: 10001 }]), 400, "InvalidInput", "body.parts.1.partNumber");
    expectError(await sign([{ partNumber: 4 }, { partNumber: 5 }]), 400, "InvalidInput", "body.parts.1.partNumber");
    expectError(await sign([{ partNumber: 1.5 }]), 400, "InvalidInput", "body.parts.0.partNumber");
    expectError(await sign([]), 400, "InvalidInput", "body.parts");
    expectError(await sign(Array.from({ length: 1001 }, () => ({ partNumber: 1 }))), 400, "InvalidInput", "body.parts");
    expectError(await sign([{ partNumber: 1, md5: "not-base64-md5" }]), 400, "InvalidInput", "body.parts.0.md5");
  });

  it("cos-local refuses a part body whose size differs from the plan (content-length is signed)", async () => {
    const plan = await createMultipart(as, `${prefix}parts/sizes.bin`, size);
    const [first, last] = await signParts(as, plan, [1, 4]);
    expect([first.size, last.size]).toEqual([MiB, 10]);
    for (const [part, body] of [[first, bytes(MiB - 1, 1)], [first, bytes(MiB + 1, 1)], [last, bytes(11, 1)]] as const) {
      const res = await fetch(part.url, { method: "PUT", headers: part.headers, body });
      const text = await res.text();
      remember(text);
      expect([res.status, text]).toEqual([403, expect.stringContaining("<Code>SignatureDoesNotMatch</Code>")]);
    }
    const listed = await api("GET", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token });
    expect(listed.body.parts).toEqual([]);
  });

  it("signs content-md5 when given: other bytes of the same size are refused", async () => {
    const plan = await createMultipart(as, `${prefix}parts/md5.bin`, size);
    const body = bytes(10, 4);
    const md5 = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("MD5", body))));
    const res = await api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts: [{ partNumber: 4, md5 }] } });
    const [part] = res.body.parts;
    expect(part.headers).toEqual({ "content-md5": md5 });
    const other = await fetch(part.url, { method: "PUT", headers: part.headers, body: bytes(10, 5) });
    expect([other.status, await other.text()]).toEqual([400, expect.stringContaining("BadDigest")]);
    const unsigned = await fetch(part.url, { method: "PUT", body });
    expect([unsigned.status, await unsigned.text()]).toEqual([403, expect.stringContaining("SignatureDoesNotMatch")]);
    await putPart(part, body);
  });
});

describe("complete against the plan", () => {
  const size = 2 * MiB + 100; // 3 parts

  it("409 PartsMismatch naming missing, extra and changed parts; the upload survives and completes", async () => {
    const plan = await createMultipart(as, `${prefix}complete/mismatch.bin`, size);
    const chunks = splitParts(bytes(size, 9), plan);
    const signed = await signParts(as, plan, [1, 2, 3]);
    const etags = [await putPart(signed[0], chunks[0]), await putPart(signed[1], chunks[1])];
    const complete = (parts: { partNumber: number; etag: string }[]) => api("POST", `/v1/uploads/${plan.uploadId}/complete`, { as, token: plan.token, body: { parts } });
    const mismatch = async (parts: { partNumber: number; etag: string }[], details: Record<string, unknown>, phrase: string) => {
      const res = await complete(parts);
      expectError(res, 409, "PartsMismatch", "body.parts");
      expect(res.body.error.message).toContain(phrase);
      expect(res.body.error.details).toEqual({ missing: [], extra: [], etagMismatch: [], wrongSize: [], ...details });
    };
    const p = (partNumber: number, etag = etags[partNumber - 1]) => ({ partNumber, etag });

    await mismatch([p(1), p(2)], { missing: [3] }, "missing part(s) 3");
    await mismatch([p(1), p(2), p(3, '"0123456789abcdef0123456789abcdef"')], { extra: [3] }, "not in COS: 3");
    etags.push(await putPart(signed[2], chunks[2]));
    await mismatch([p(1), p(2)], { missing: [3] }, "missing part(s) 3");
    await mismatch([p(1), p(2), p(3), p(4, etags[0])], { extra: [4] }, "not in the plan or not in COS: 4");
    await mismatch([p(1), p(1), p(2), p(3)], { extra: [1] }, "1");
    await mismatch([p(1), p(2, etags[0]), p(3)], { etagMismatch: [2] }, "ETag differs from COS for part(s) 2");
    expect(await uploadIdsInCos(`${prefix}complete/mismatch.bin`)).toEqual([plan.uploadId]);

    const done = await complete([p(1), p(2), p(3)]);
    expect([done.status, done.body?.size]).toEqual([200, size]);
  });

  it("409 for a part of another size than planned (signed outside the plan through /v1/authorize)", async () => {
    const plan = await createMultipart(as, `${prefix}complete/resized.bin`, size);
    const body = bytes(MiB + 5, 3);
    const auth = await api("POST", "/v1/authorize", { as, body: { method: "PUT", key: plan.key, query: { partNumber: 1, uploadId: plan.uploadId }, headers: { "Content-Length": body.length } } });
    expect(auth.status, auth.text).toBe(200);
    const url = cosUrl(plan.key, `?partNumber=1&uploadId=${encodeURIComponent(plan.uploadId)}`);
    const put = await fetch(url, { method: "PUT", headers: { Authorization: auth.body.Authorization }, body });
    expect(put.status).toBe(200);
    const res = await api("POST", `/v1/uploads/${plan.uploadId}/complete`, { as, token: plan.token, body: { parts: [{ partNumber: 1, etag: put.headers.get("etag")! }] } });
    expectError(res, 409, "PartsMismatch", "wrong size for part(s) 1");
    expect(res.body.error.details).toMatchObject({ missing: [2, 3], wrongSize: [{ partNumber: 1, size: MiB + 5, planned: MiB }] });
  });
});

describe("traffic limit", () => {
  it("signs x-cos-traffic-limit into part and single-PUT URLs, so it cannot be lifted", async () => {
    const plan = await createMultipart(as, `${prefix}limited.bin`, 2 * MiB + 10);
    const signed = await api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts: [{ partNumber: 2 }], trafficLimit: 8_388_608 } });
    expect(signed.status).toBe(200);
    const url = new URL((signed.body as { parts: { url: string }[] }).parts[0].url);
    expect(url.searchParams.get("x-cos-traffic-limit")).toBe("8388608");
    expect(url.searchParams.get("q-url-param-list")).toBe("partnumber;uploadid;x-cos-traffic-limit");
    expect((await fetch(url, { method: "PUT", body: bytes(MiB, 7) })).status).toBe(200);
    url.searchParams.delete("x-cos-traffic-limit");
    expect((await fetch(url, { method: "PUT", body: bytes(MiB, 7) })).status).toBe(403);

    const single = await create({ key: `${prefix}limited.txt`, trafficLimit: 819_200 });
    expect(new URL((single.body as { url: string }).url).searchParams.get("x-cos-traffic-limit")).toBe("819200");
  });

  it("400 for a limit outside COS's range, naming the field", async () => {
    expectError(await create({ key: `${prefix}t.txt`, trafficLimit: 1000 }), 400, "InvalidInput", "body.trafficLimit");
    const plan = await createMultipart(as, `${prefix}limited2.bin`, 2 * MiB);
    expectError(await api("POST", `/v1/uploads/${plan.uploadId}/parts`, { as, token: plan.token, body: { parts: [{ partNumber: 1 }], trafficLimit: 838_860_801 } }), 400, "InvalidInput", "body.trafficLimit");
  });
});

describe("maxSinglePutSize", () => {
  it("lowers the single-PUT threshold for this upload, never raises it", async () => {
    const lowered = await create({ key: `${prefix}sliced.bin`, size: 600 * 1024, contentType: "application/octet-stream", maxSinglePutSize: 512 * 1024 });
    expect(lowered.body.kind).toBe("multipart");
    const kept = await create({ key: `${prefix}whole.bin`, size: 600 * 1024, contentType: "application/octet-stream", maxSinglePutSize: 1024 * 1024 });
    expect(kept.body.kind).toBe("single");
    const notRaised = await create({ key: `${prefix}big.bin`, size: 2 * MiB, contentType: "application/octet-stream", maxSinglePutSize: 100 * MiB });
    expect(notRaised.body.kind).toBe("multipart");
  });
});
