// Reliability end to end (issue 4 "Tests"): faults injected through cos-local (connection resets,
// 500s, 503 SlowDown, a 403 "Request has expired", a slow part) on parts and on single PUTs; every
// upload still completes with identical bytes, and every armed fault really fired. Then a bucket
// CORS rule that hides ETag, reproduced by an HttpStack that cannot read the header: the upload
// fails fast with the CORS message instead of hanging or retrying.

import { mkdtempSync, rmSync, truncateSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createUploader, defaultStack, isSourceError } from "../../client/node";
import type { HttpStack } from "../../client/types";
import type { FaultSpec } from "../../emulator/faults";
import { bytes } from "../shared/bytes";
import { MiB, progressRecorder, sha256, useClientHarness } from "./client-harness";

const harness = useClientHarness();
afterEach(() => harness().clearFaults());

const dir = mkdtempSync(join(tmpdir(), "client-faults-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
async function tempFile(body: Uint8Array): Promise<string> {
  const path = join(dir, `body-${files++}.bin`);
  await writeFile(path, body);
  return path;
}

/** Fast backoff so retries cost milliseconds, not seconds. */
const RETRY = { attempts: 6, baseDelay: 20, maxDelay: 200 };

function uploader(options: { httpStack?: HttpStack } = {}) {
  const h = harness();
  return createUploader({ endpoint: h.endpoint, getToken: h.getToken(), sliceSize: MiB, partSize: MiB, chunkParallelLimit: 3, retry: RETRY, ...options });
}

const cases: { name: string; size: number; faults: FaultSpec[] }[] = [
  { name: "a connection reset in the middle of part 2", size: 3 * MiB + 5, faults: [{ kind: "reset", operation: "UploadPart", query: "partNumber=2", afterBytes: 64 * 1024 }] },
  { name: "two 500s on parts", size: 3 * MiB + 5, faults: [{ kind: "500", operation: "UploadPart", count: 2 }] },
  { name: "three 503 SlowDown on parts", size: 4 * MiB, faults: [{ kind: "503", operation: "UploadPart", count: 3 }] },
  { name: "a 403 Request has expired on part 3 (re-signed)", size: 3 * MiB + 5, faults: [{ kind: "expired", operation: "UploadPart", query: "partNumber=3" }] },
  { name: "a slow part (8 Mbit/s, about 1 s for its 1 MiB)", size: 3 * MiB + 5, faults: [{ kind: "slow", operation: "UploadPart", query: "partNumber=1", bitsPerSecond: 8 * MiB }] },
  { name: "every kind at once on one upload", size: 6 * MiB + 3, faults: [
    { kind: "reset", operation: "UploadPart", query: "partNumber=1", afterBytes: 1000 },
    { kind: "500", operation: "UploadPart", query: "partNumber=2" },
    { kind: "503", operation: "UploadPart", query: "partNumber=3", count: 2 },
    { kind: "expired", operation: "UploadPart", query: "partNumber=4" },
    { kind: "delay", operation: "UploadPart", query: "partNumber=5", delayMs: 300 },
  ] },
  { name: "a reset and a 500 on a single PUT", size: 300_000, faults: [{ kind: "reset", operation: "PutObject", afterBytes: 1000 }, { kind: "500", operation: "PutObject" }] },
  { name: "503 SlowDown and an expired URL on a single PUT", size: MiB, faults: [{ kind: "503", operation: "PutObject" }, { kind: "expired", operation: "PutObject" }] },
];

describe("faults injected through cos-local: the upload completes with identical bytes", () => {
  // In-memory bytes go out as whole parts; a file path's parts are streamed from disk as they are
  // sent (client/node/file-source.ts), so each retry reads its part again.
  for (const [i, { name, size, faults }] of cases.entries()) for (const from of ["bytes", "a file path"] as const) {
    it(`${name} (${from})`, async () => {
      const h = harness();
      h.resetCounters();
      h.fault(...faults);
      const armed = faults.reduce((n, f) => n + (f.count ?? 1), 0);
      const body = bytes(size, 200 + i);
      const progress = progressRecorder(size);
      const result = await uploader().upload({ key: `users/alice/faults/${i}.bin`, body: from === "bytes" ? body : { path: await tempFile(body) }, onProgress: progress.onProgress }).done;

      expect(result.size).toBe(size);
      expect(h.counters().faults).toBe(armed);
      expect(h.cos.faults.list()).toEqual([]);
      progress.assertComplete();
      expect(sha256(await h.readBack(result.key))).toBe(sha256(body));
    });
  }

  it("a part that keeps failing gives up with an error naming the request, the status and COS's request id", async () => {
    const h = harness();
    h.fault({ kind: "500", operation: "UploadPart", query: "partNumber=2", count: 100 });
    const done = uploader().upload({ key: "users/alice/faults/gives-up.bin", body: bytes(3 * MiB, 300) }).done;
    const error = await done.then(
      () => null,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(/PUT/);
    expect(error!.message).toMatch(/500/);
    expect(error!.message).toMatch(/faults\/gives-up\.bin/);
    expect(error!.message).toMatch(/request id [\w-]+/i);
    // attempts 6: the part was tried exactly that many times, no more.
    expect(h.cos.faults.list()[0].remaining).toBe(100 - RETRY.attempts);
  });
});

describe("a file that changes while it uploads", () => {
  it("a file cut short mid-upload fails with a SourceError naming it, not as a network error after retries", async () => {
    const path = await tempFile(bytes(5 * MiB + 3, 310));
    // Cut once the upload is planned for 5 MiB: part 2 ends early, parts 3 to 6 cannot be read.
    const onStateChange = (state: string) => state === "uploading" && truncateSync(path, MiB + MiB / 2);
    const error = await uploader().upload({ key: "users/alice/faults/cut-short.bin", body: { path }, onStateChange }).done.then(
      () => null,
      (e: Error) => e,
    );
    expect(isSourceError(error), String(error)).toBe(true);
    expect(error!.message).toMatch(new RegExp(`^could not read ${basename(path).replace(".", "\\.")} \\(the file ended at \\d+ bytes, expected ${5 * MiB + 3}\\): it was moved, deleted or changed while uploading`));
  });
});

describe("a bucket CORS rule that does not expose ETag", () => {
  it("fails fast with the CORS message (which ExposeHeader to add), without retrying the parts", async () => {
    const h = harness();
    h.resetCounters();
    const hiding = (inner: HttpStack): HttpStack => ({
      async send(request) {
        const response = await inner.send(request);
        return { ...response, header: (name: string) => (name.toLowerCase() === "etag" ? null : response.header(name)) };
      },
    });
    const task = uploader({ httpStack: hiding(defaultStack()) }).upload({ key: "users/alice/faults/cors.bin", body: bytes(5 * MiB, 400) });
    const error = await task.done.then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.name).toBe("CorsError");
    expect(error!.message).toMatch(/ETag/);
    expect(error!.message).toMatch(/ExposeHeader|Expose-Headers/i);
    expect(task.state).toBe("failed");
    // Fast: no part was retried (at most the first window of 3 parts went out once each). Counted
    // for this upload only: an aborted request of an earlier test may reach cos-local late.
    const parts = Object.values(h.counters().parts[task.uploadId!] ?? {});
    expect(parts.length).toBeGreaterThan(0);
    expect(parts.length).toBeLessThanOrEqual(3);
    expect(parts.every((n) => n === 1)).toBe(true);
  });
});
