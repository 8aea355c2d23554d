// Task control end to end (issue 4 "Tests"): pause mid-upload then resume, cancel (cos-local then
// lists no such upload), and uploadFiles with 7 files under fileParallelLimit 3, where "never more
// than 3 running" is measured twice: from the tasks' states and from the PUTs the transport really
// had in flight per object (an HttpStack wrapper around the default one).

import { afterEach, describe, expect, it } from "vitest";
import { checkSetup, createUploader, defaultStack, isApiError } from "../../client/node";
import type { HttpStack, TaskState } from "../../client/types";
import { bytes } from "../shared/bytes";
import { until as untilWithin } from "../shared/until";
import { MiB, progressRecorder, sha256, useClientHarness } from "./client-harness";

const until = (condition: () => boolean, what: string) => untilWithin(condition, what, 20_000);

const harness = useClientHarness();
afterEach(() => harness().clearFaults());

/** 1 MiB at 16 Mbit/s: each part takes about half a second, so a test can act while parts are in flight. */
const SLOW_PARTS = { kind: "slow", operation: "UploadPart", bitsPerSecond: 16 * 1024 * 1024, count: 1000 } as const;

const acceptedParts = () => Object.values(harness().counters().parts).reduce((n, parts) => n + Object.values(parts).reduce((a, b) => a + b, 0), 0);

describe("pause, resume, cancel", () => {
  it("pause stops the parts in flight without losing finished ones; resume completes byte for byte", async () => {
    const h = harness();
    h.resetCounters();
    h.fault(SLOW_PARTS);
    const size = 6 * MiB + 1000;
    const body = bytes(size, 11);
    const progress = progressRecorder(size);
    const states: TaskState[] = [];
    // PUTs the client starts, counted in the transport (cos-local's counters would also see a request
    // that left just before the pause but arrived after it).
    let puts = 0;
    const inner = defaultStack();
    const counting: HttpStack = {
      send(request) {
        if (request.method === "PUT") puts++;
        return inner.send(request);
      },
    };
    const uploader = createUploader({ endpoint: h.endpoint, getToken: h.getToken(), sliceSize: MiB, partSize: MiB, chunkParallelLimit: 2, httpStack: counting });
    const task = uploader.upload({ key: "users/alice/control/paused.bin", body, onProgress: progress.onProgress, onStateChange: (s) => states.push(s) });

    await until(() => acceptedParts() >= 1, "the first part to be accepted");
    task.pause();
    expect(task.state).toBe("paused");
    const putsAtPause = puts;
    const acceptedAtPause = acceptedParts();
    const loadedAtPause = task.progress.loaded;
    // While paused no part request starts. (A part whose bytes had all left the client before the
    // abort may still be accepted by the server as it reads them: at most the 2 in flight.)
    await new Promise((r) => setTimeout(r, 600));
    expect(puts).toBe(putsAtPause);
    expect(acceptedParts()).toBeLessThanOrEqual(acceptedAtPause + 2);
    expect(task.state).toBe("paused");
    // loaded counts finished parts and bytes in flight (client/progress.ts) and never goes back.
    expect(task.progress.loaded).toBeGreaterThanOrEqual(loadedAtPause);
    expect(task.progress.loaded).toBeLessThan(size);

    h.clearFaults();
    task.resume();
    const result = await task.done;
    expect(result.size).toBe(size);
    expect(states).toContain("paused");
    expect(states.at(-1)).toBe("done");
    expect(states.lastIndexOf("uploading")).toBeGreaterThan(states.indexOf("paused"));
    progress.assertComplete();
    expect(sha256(await h.readBack(result.key))).toBe(sha256(body));
    // Finished parts were kept, and so were parts in flight at the pause that reached COS whole
    // anyway (resume lists the parts COS holds): no part was accepted twice.
    const perUpload = Object.values(h.counters().parts);
    expect(perUpload).toHaveLength(1);
    expect(Object.keys(perUpload[0])).toHaveLength(7);
    expect(Object.values(perUpload[0]).every((times) => times === 1)).toBe(true);
  });

  it("cancel aborts the multipart upload on COS and settles done with a CancelledError", async () => {
    const h = harness();
    h.resetCounters();
    h.fault(SLOW_PARTS);
    const uploader = createUploader({ endpoint: h.endpoint, getToken: h.getToken(), sliceSize: MiB, partSize: MiB, chunkParallelLimit: 2 });
    const task = uploader.upload({ key: "users/alice/control/cancelled.bin", body: bytes(5 * MiB, 12) });
    await until(() => task.state === "uploading", "the upload to start");
    await until(() => task.uploadId !== undefined, "the upload id");
    const uploadId = task.uploadId!;
    expect((await h.listUploads()).map((u) => u.uploadId)).toContain(uploadId);

    await task.cancel();
    const error = await task.done.then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.name).toBe("CancelledError");
    expect(task.state).toBe("cancelled");
    expect((await h.listUploads()).map((u) => u.uploadId)).not.toContain(uploadId);
    expect(h.counters().operations.AbortMultipartUpload).toBeGreaterThanOrEqual(1);
    // The object never appeared.
    await expect(h.readBack("users/alice/control/cancelled.bin")).rejects.toThrow(/404/);
  });
});

describe("uploadFiles", () => {
  it("7 files with fileParallelLimit 3: never more than 3 running (task states and PUTs in flight), all identical", async () => {
    const h = harness();
    h.fault(SLOW_PARTS);
    // Objects with PUTs in flight at once, seen by the transport.
    const inFlight = new Map<string, number>();
    let peakObjects = 0;
    const stackOf = (inner: HttpStack): HttpStack => ({
      async send(request) {
        const object = new URL(request.url).pathname;
        if (request.method === "PUT") {
          inFlight.set(object, (inFlight.get(object) ?? 0) + 1);
          peakObjects = Math.max(peakObjects, inFlight.size);
        }
        try {
          return await inner.send(request);
        } finally {
          if (request.method === "PUT") {
            const n = inFlight.get(object)! - 1;
            if (n === 0) inFlight.delete(object);
            else inFlight.set(object, n);
          }
        }
      },
    });
    const running = new Set<string>();
    let peakTasks = 0;
    const active: TaskState[] = ["hashing", "initiating", "uploading", "completing"];
    const uploader = createUploader({
      endpoint: h.endpoint,
      getToken: h.getToken(),
      sliceSize: MiB,
      partSize: MiB,
      chunkParallelLimit: 2,
      fileParallelLimit: 3,
      httpStack: stackOf(defaultStack()),
    });
    uploader.on("state", (task) => {
      if (active.includes(task.state)) running.add(task.id);
      else running.delete(task.id);
      peakTasks = Math.max(peakTasks, running.size);
    });
    const sizes = [2 * MiB + 1, 500_000, 3 * MiB, MiB + 17, 2 * MiB, 700_000, 2 * MiB + 99];
    const bodies = sizes.map((size, i) => bytes(size, 100 + i));
    const finished: string[] = [];
    const results = await uploader.uploadFiles(
      bodies.map((body, i) => ({ key: `users/alice/control/batch-${i}.bin`, body })),
      { onFileFinish: (error, result) => finished.push(error ? `error ${error.message}` : result!.key) },
    );

    expect(results.every((r) => !(r instanceof Error))).toBe(true);
    expect(finished).toHaveLength(7);
    expect(finished.every((f) => !f.startsWith("error"))).toBe(true);
    expect(peakTasks).toBe(3);
    expect(peakObjects).toBeLessThanOrEqual(3);
    expect(peakObjects).toBeGreaterThanOrEqual(2);
    for (const [i, body] of bodies.entries()) expect(sha256(await h.readBack(`users/alice/control/batch-${i}.bin`))).toBe(sha256(body));
  });
});

describe("checkSetup", () => {
  it("asks the functions about an origin: cos-local's rules are right, CORS_ORIGINS (unset here) is not; the clock skew is measured", async () => {
    const h = harness();
    const report = await checkSetup({ endpoint: h.endpoint, getToken: h.getToken(), origin: "https://app.example" });
    expect(report).toMatchObject({ origin: "https://app.example", bucketCors: "ok" });
    expect(report.problems.map((p) => [p.severity, p.code])).toEqual([["error", "ApiOriginNotAllowed"]]);
    // Same machine, same clock: within half a round trip.
    expect(Math.abs(report.clockSkewMs)).toBeLessThanOrEqual(1000);
  });

  it("outside a browser the origin must be given: an ApiError naming query.origin", async () => {
    const h = harness();
    const error = await checkSetup({ endpoint: h.endpoint, getToken: h.getToken() }).catch((e: unknown) => e);
    expect(isApiError(error) && [error.status, error.apiMessage]).toEqual([400, expect.stringContaining("query.origin")]);
  });
});
