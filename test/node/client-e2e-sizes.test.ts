// The Node client end to end (issue 4 "Tests"): createUploader against the functions in workerd and
// cos-local, at the sizes where the plan changes (empty, one byte, around sliceSize, a short last
// part, 150 parts). Every object is read back through a presigned GET and compared; every upload's
// progress must be monotonic and end at its total; cos-local's counters say which path was taken.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc64 } from "../../client/crc64";
import { createUploader } from "../../client/node";
import { bytes } from "../shared/bytes";
import { MiB, progressRecorder, sha256, useClientHarness, writeRandomFile } from "./client-harness";

const harness = useClientHarness();
const SLICE = MiB; // = the harness's SINGLE_PUT_THRESHOLD and PART_SIZE

let files: string;
beforeAll(async () => {
  files = await mkdtemp(join(tmpdir(), "client-e2e-sizes-"));
});
afterAll(() => rm(files, { recursive: true, force: true }));

function uploader() {
  const h = harness();
  return createUploader({ endpoint: h.endpoint, getToken: h.getToken(), sliceSize: SLICE, partSize: MiB, chunkParallelLimit: 4 });
}

describe("createUploader (Node) uploads every size byte for byte", () => {
  const cases: { name: string; size: number; parts: number }[] = [
    { name: "0 B", size: 0, parts: 0 },
    { name: "1 B", size: 1, parts: 0 },
    { name: "sliceSize - 1", size: SLICE - 1, parts: 0 },
    { name: "sliceSize", size: SLICE, parts: 0 },
    { name: "sliceSize + 1 (a 1-byte second part)", size: SLICE + 1, parts: 2 },
    { name: "3 parts, the last one 100 bytes", size: 2 * MiB + 100, parts: 3 },
  ];
  // In-memory bytes, and a file path (its parts streamed from disk as they are sent).
  for (const { name, size, parts } of cases) for (const from of ["bytes", "a file path"] as const) {
    it(`${name}: ${parts ? `multipart, ${parts} parts` : "one PUT"} (${from})`, async () => {
      const h = harness();
      h.resetCounters();
      const body = bytes(size, size + 7);
      const path = join(files, `${size}.bin`);
      if (from === "a file path") await writeFile(path, body);
      const progress = progressRecorder(size);
      const task = uploader().upload({ key: `users/alice/sizes/${size}.bin`, body: from === "bytes" ? body : { path }, contentType: "application/octet-stream", onProgress: progress.onProgress });
      const result = await task.done;

      expect(result).toMatchObject({ key: `users/alice/sizes/${size}.bin`, size });
      expect(result.etag).toMatch(/^"?[0-9a-f]{32}(-\d+)?"?$/);
      if (result.crc64 !== undefined) expect(result.crc64).toBe(crc64(body).toString());
      expect(task.state).toBe("done");
      progress.assertComplete();
      expect(sha256(await h.readBack(result.key))).toBe(sha256(body));

      const { operations, parts: accepted } = h.counters();
      if (parts === 0) {
        expect(operations.PutObject).toBe(1);
        expect(operations.InitiateMultipartUpload ?? 0).toBe(0);
      } else {
        expect(operations.PutObject ?? 0).toBe(0);
        expect(operations.InitiateMultipartUpload).toBe(1);
        expect(operations.CompleteMultipartUpload).toBe(1);
        const perUpload = Object.values(accepted);
        expect(perUpload).toHaveLength(1);
        expect(perUpload[0]).toEqual(Object.fromEntries(Array.from({ length: parts }, (_, i) => [String(i + 1), 1])));
      }
    });
  }

  it("150 parts of 1 MiB from a file path (never all in memory), each part once", async () => {
    const h = harness();
    h.resetCounters();
    const size = 149 * MiB + 12345;
    const path = join(files, "150-parts.bin");
    const digest = await writeRandomFile(path, size);
    const progress = progressRecorder(size);
    const result = await uploader().upload({ key: "users/alice/sizes/150-parts.bin", body: { path }, onProgress: progress.onProgress }).done;

    expect(result.size).toBe(size);
    expect(result.etag).toMatch(/-150"?$/);
    progress.assertComplete();
    expect(await h.readBackSha256(result.key)).toBe(digest);
    const perUpload = Object.values(h.counters().parts);
    expect(perUpload).toHaveLength(1);
    expect(Object.keys(perUpload[0])).toHaveLength(150);
    expect(Object.values(perUpload[0]).every((n) => n === 1)).toBe(true);
  });

  it("a filename instead of a key: the functions choose the key under the caller's prefix", async () => {
    const h = harness();
    const body = bytes(4321, 3);
    const result = await uploader().upload({ filename: "notes.txt", body, contentType: "text/plain" }).done;
    expect(result.key).toMatch(/^users\/alice\/.+\/notes\.txt$/);
    expect(sha256(await h.readBack(result.key))).toBe(sha256(body));
  });
});
