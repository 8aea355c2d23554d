// Integrity and CORS (client/parts.ts): a hidden ETag fails at once with the exact CORS advice, a part
// or object CRC64 that differs from ours fails with IntegrityError, and part CRCs combine to the
// object's.

import { describe, expect, it } from "vitest";
import { CorsError, createUploader, crc64, isCorsError, isIntegrityError, type IntegrityError } from "../../client/node";
import { combinedCrc } from "../../client/parts";
import type { FileSource, HttpStack } from "../../client/types";
import { bytes } from "../shared/bytes";
import { FakeCos } from "./client-fake";

const setup = (cos: FakeCos) => createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 5, baseDelay: 50, maxDelay: 100 } });

describe("a bucket CORS rule that hides ETag", () => {
  it("fails fast with CorsError naming the setting, without retrying", async () => {
    const cos = new FakeCos();
    cos.hidden.add("etag");
    const started = Date.now();
    const task = setup(cos).upload({ key: "users/test/cors.bin", body: bytes(3000, 50) });
    const error = await task.done.catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(isCorsError(error)).toBe(true);
    expect((error as CorsError).message).toContain("add ETag (and x-cos-hash-crc64ecma, Date) to ExposeHeader in the bucket's CORS rule");
    expect((error as Error).message).not.toContain("?");
    expect(task.state).toBe("failed");
    // The first part's answer decided it: no retries, and the other parts were stopped.
    expect(cos.partPuts().length).toBeLessThanOrEqual(3);
    expect(new Set(cos.partPuts()).size).toBe(cos.partPuts().length);
  });
});

describe("CRC64", () => {
  it("part CRCs combine to the whole body's", () => {
    const body = bytes(5000, 51);
    const parts = [0, 1024, 2048, 3072, 4096].map((start, i) => {
      const slice = body.subarray(start, Math.min(5000, start + 1024));
      return { partNumber: i + 1, etag: "x", size: slice.length, crc64: crc64(slice).toString() };
    });
    expect(combinedCrc(parts)).toBe(crc64(body).toString());
    expect(combinedCrc([...parts.slice(0, 2), { partNumber: 3, etag: "x", size: 1024 }])).toBeUndefined();
  });

  it("a part whose COS CRC differs fails the upload with IntegrityError naming the part", async () => {
    const cos = new FakeCos();
    cos.wrongCrc = 2;
    const error = (await setup(cos).upload({ key: "users/test/crc.bin", body: bytes(3000, 52) }).done.catch((e: unknown) => e)) as IntegrityError;
    expect(isIntegrityError(error)).toBe(true);
    expect(error.partNumber).toBe(2);
    expect(error.got).toBe("999");
    expect(error.expected).toBe(crc64(bytes(3000, 52).subarray(1024, 2048)).toString());
    expect(error.message).toContain("part 2 of users/test/crc.bin");
    expect(cos.find("POST", "/complete")).toHaveLength(0);
  });

  it("an object whose combined CRC differs at complete fails with IntegrityError for the object", async () => {
    const cos = new FakeCos();
    cos.wrongCrc = 0;
    const error = (await setup(cos).upload({ key: "users/test/obj.bin", body: bytes(3000, 53) }).done.catch((e: unknown) => e)) as IntegrityError;
    expect(isIntegrityError(error)).toBe(true);
    expect(error.partNumber).toBeUndefined();
    expect(error.expected).toBe(crc64(bytes(3000, 53)).toString());
    expect(error.message).toContain("the object users/test/obj.bin");
  });

  it("a streamed part is checked even when COS answers before the part's stream has finished", async () => {
    const data = bytes(3000, 55);
    // A source that streams (as Node files do) and a stack that stops pulling once it has every byte:
    // the answer can come before the stream's generator runs to its end.
    const source: FileSource = {
      size: data.length,
      name: "streamed.bin",
      slice: async (start, end) => data.subarray(start, end),
      stream: (start, end) => ({
        size: end - start,
        async *chunks() {
          for (let at = start; at < end; at += 300) yield data.slice(at, Math.min(end, at + 300));
        },
      }),
    };
    const cos = new FakeCos();
    cos.wrongCrc = 2;
    const stack: HttpStack = {
      streams: true,
      async send(request) {
        const body = request.body;
        if (typeof body !== "object" || !("chunks" in body)) return cos.stack.send(request);
        const chunks = body.chunks()[Symbol.asyncIterator]();
        const got: Uint8Array[] = [];
        for (let n = 0; n < body.size; ) {
          const { value } = await chunks.next();
          got.push(value!);
          n += value!.length;
        }
        return cos.stack.send({ ...request, body: new Uint8Array(Buffer.concat(got)) });
      },
    };
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: stack, retry: { attempts: 2, baseDelay: 1, maxDelay: 2 } });
    const error = (await uploader.upload({ key: "users/test/streamed.bin", body: source }).done.catch((e: unknown) => e)) as IntegrityError;
    expect(isIntegrityError(error), String(error)).toBe(true);
    expect(error.partNumber).toBe(2);
    expect(error.expected).toBe(crc64(data.subarray(1024, 2048)).toString());
  });

  it("integrity: false skips the checks", async () => {
    const cos = new FakeCos();
    cos.wrongCrc = 2;
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, integrity: false });
    const result = await uploader.upload({ key: "users/test/off.bin", body: bytes(3000, 54) }).done;
    expect(result.size).toBe(3000);
  });
});
