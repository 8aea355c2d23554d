// The compat layer runs the seed's examples (issue 4 "Tests", reference/seed-cos-js-sdk-uploading-object.txt)
// against the functions in workerd and cos-local: putObject, appendObject, sliceUploadFile with
// onTaskReady/onHashProgress/onProgress, uploadFile and uploadFiles with onFileFinish, the six
// multipart operations, and the queue (getTaskList, pauseTask, restartTask, cancelTask, list-update).
// Each example is the seed's code with `new CosDirect(...)` for `new COS(...)`; Bucket and Region stay.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { CosDirect, type CompatError, type ProgressData, type TaskInfo, type UploadData } from "../../client/compat";
import { CosDirect as NodeCosDirect } from "../../client/compat-node";
import { bytes } from "../shared/bytes";
import { MiB, sha256, useClientHarness, writeRandomFile } from "./client-harness";

const harness = useClientHarness();
const PREFIX = "users/alice/compat/";
const Bucket = "examplebucket-1250000000";
const Region = "COS_REGION";

function newCos(keyPrefix = PREFIX) {
  const h = harness();
  return new CosDirect({ endpoint: h.endpoint, getToken: h.getToken("alice"), KeyPrefix: keyPrefix, ChunkParallelLimit: 2 });
}

/** The seed's `function(err, data) { ... }` as a promise of both. */
function callback<T>() {
  let done!: (outcome: { err: CompatError | null; data?: T; calls: number }) => void;
  const outcome = new Promise<{ err: CompatError | null; data?: T; calls: number }>((resolve) => (done = resolve));
  let calls = 0;
  return {
    outcome,
    fn: (err: CompatError | null, data?: T) => {
      calls++;
      done({ err, data, calls });
    },
  };
}

/** Checks the SDK's progressData contract: percent a fraction 0-1, loaded monotonic, ends at 1. */
function expectProgress(reports: ProgressData[], total: number) {
  expect(reports.length).toBeGreaterThan(0);
  for (let i = 0; i < reports.length; i++) {
    expect(reports[i].total).toBe(total);
    expect(reports[i].percent).toBeGreaterThanOrEqual(0);
    expect(reports[i].percent).toBeLessThanOrEqual(1);
    if (i) expect(reports[i].loaded).toBeGreaterThanOrEqual(reports[i - 1].loaded);
  }
  expect(reports.at(-1)).toMatchObject({ loaded: total, percent: 1 });
}

/** Resolves with the task's entry once a list-update shows it in `state`. */
function whenListed(cos: CosDirect, id: () => string, state: TaskInfo["state"]): Promise<TaskInfo> {
  return new Promise((resolve) => {
    const listener = ({ list }: { list: TaskInfo[] }) => {
      const task = list.find((t) => t.id === id());
      if (task?.state === state) {
        cos.off("list-update", listener);
        resolve(task);
      }
    };
    cos.on("list-update", listener);
  });
}

/** Parts cos-local has accepted since the last resetCounters. */
const accepted = () => Object.values(harness().counters().parts).reduce((sum, parts) => sum + Object.keys(parts).length, 0);

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10);
}

/** Slows the UploadPart requests for these part numbers to ~10 KB/s, so the upload is mid-way for as long as the test needs. */
function holdParts(partNumbers: number[]) {
  for (const n of partNumbers) harness().fault({ kind: "slow", operation: "UploadPart", query: `partNumber=${n}`, bitsPerSecond: 81920 });
}

describe("simple operations", () => {
  it("putObject: a string as the file content, with the seed's callback, and as a promise", async () => {
    const cos = newCos();
    const cb = callback<UploadData>();
    const returned = cos.putObject({ Bucket, Region, Key: "1.txt", Body: "hello!" }, cb.fn);
    const { err, data } = await cb.outcome;
    expect(err).toBeNull();
    expect(data).toMatchObject({ statusCode: 200, Key: "1.txt", ETag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
    expect(data!.Location).toMatch(/^[^:/]+(:\d+)?\/.*users\/alice\/compat\/1\.txt$/); // no scheme, as the SDK gives it
    expect(await returned).toEqual(data);
    expect((await harness().readBack(PREFIX + "1.txt")).toString()).toBe("hello!");

    const viaPromise = await cos.putObject({ Bucket, Region, Key: "a/", Body: "" }); // "Create directory a"
    expect(viaPromise.statusCode).toBe(200);
    expect((await harness().readBack(PREFIX + "a/")).length).toBe(0);
  });

  it("putObject: a file object with StorageClass and onProgress (percent as a fraction)", async () => {
    const body = bytes(300 * 1024, 11);
    const reports: ProgressData[] = [];
    const data = await newCos().putObject({
      Bucket,
      Region,
      Key: "a/b/1.jpg",
      StorageClass: "STANDARD",
      Body: new Blob([body], { type: "image/jpeg" }),
      Headers: { "x-cos-traffic-limit": 819200 * 100 },
      onProgress: (progressData) => reports.push(progressData),
    });
    expect(data.Key).toBe("a/b/1.jpg");
    expectProgress(reports, body.length);
    expect(sha256(await harness().readBack(PREFIX + "a/b/1.jpg"))).toBe(sha256(body));
  });

  it("putObject: a failure reaches the callback and the promise with the SDK's statusCode and error.Code", async () => {
    const cos = newCos("users/bob/"); // alice's token, bob's prefix
    const cb = callback<UploadData>();
    const returned = cos.putObject({ Bucket, Region, Key: "1.txt", Body: "hello!" }, cb.fn);
    const { err, data } = await cb.outcome;
    expect(data).toBeUndefined();
    expect(err).toMatchObject({ statusCode: 403, error: { Code: "KeyOutsidePrefix" } });
    expect(err!.message).toMatch(/users\/alice\//);
    await expect(returned).rejects.toBe(err);
  });

  it("appendObject: first at Position 0, then at the next position from the response", async () => {
    const cos = newCos();
    const first = await cos.appendObject({ Bucket, Region, Key: "test.txt", Body: "hello ", Position: 0 });
    expect(first.headers["x-cos-next-append-position"]).toBe("6");
    const cb = callback<Awaited<ReturnType<CosDirect["appendObject"]>>>();
    cos.appendObject({ Bucket, Region, Key: "test.txt", Body: "66666", Position: first.headers["x-cos-next-append-position"] }, cb.fn);
    const { err, data } = await cb.outcome;
    expect(err).toBeNull();
    expect(data!.headers["x-cos-next-append-position"]).toBe("11");
    expect((await harness().readBack(PREFIX + "test.txt")).toString()).toBe("hello 66666");
  });
});

describe("advanced uploads", () => {
  it("sliceUploadFile: onTaskReady gives the id getTaskList shows; onProgress ends at 1; a fresh upload reports no hashing", async () => {
    const cos = newCos();
    const body = bytes(3 * MiB + 512 * 1024, 21);
    let taskId = "";
    const hash: ProgressData[] = [];
    const progress: ProgressData[] = [];
    const cb = callback<UploadData>();
    cos.sliceUploadFile(
      {
        Bucket,
        Region,
        Key: "1.jpg",
        Body: body,
        onTaskReady: (id) => (taskId = id),
        onHashProgress: (progressData) => hash.push(progressData),
        onProgress: (progressData) => progress.push(progressData),
      },
      cb.fn,
    );
    expect(taskId).not.toBe(""); // onTaskReady runs before sliceUploadFile returns, as in the SDK
    expect(cos.getTaskList().map((t) => t.id)).toContain(taskId);
    const { err, data } = await cb.outcome;
    expect(err).toBeNull();
    expect(data).toMatchObject({ statusCode: 200, Key: "1.jpg", ETag: expect.stringMatching(/^"[0-9a-f]+-4"$/) });
    expectProgress(progress, body.length);
    // Hashing is reported only when a resumed upload checks parts COS already holds (compat.ts header).
    expect(hash).toEqual([]);
    expect(cos.getTaskList().find((t) => t.id === taskId)).toMatchObject({ Key: "1.jpg", Bucket, Region, state: "success", size: body.length, loaded: body.length, percent: 1, error: null });
    expect(sha256(await harness().readBack(PREFIX + "1.jpg"))).toBe(sha256(body));
  });

  it("uploadFile: onFileFinish then the callback, for a small and a large file", async () => {
    const cos = newCos();
    for (const [Key, size] of [["small.bin", 1000], ["large.bin", 2 * MiB + 7]] as const) {
      const body = bytes(size, size);
      const finished: [CompatError | null, UploadData | null, string | undefined, boolean, boolean][] = [];
      let taskId = "";
      const data = await cos.uploadFile({ Bucket, Region, Key, Body: body, SliceSize: 1024 * 1024 * 5, onTaskReady: (id) => (taskId = id), onFileFinish: (err, d, options) => finished.push([err, d, options.Key, options.TaskId === taskId, "Body" in options]) });
      // The options are the file's info, as the SDK's: plain values and the TaskId, no Body.
      expect(finished).toEqual([[null, data, Key, true, false]]);
      expect(sha256(await harness().readBack(PREFIX + Key))).toBe(sha256(body));
    }
  });

  it("Node (compat-node): uploadFile with cos-nodejs-sdk-v5's FilePath reads the file from disk", async () => {
    const h = harness();
    const dir = await mkdtemp(join(tmpdir(), "client-compat-"));
    try {
      const path = join(dir, "disk.bin");
      const digest = await writeRandomFile(path, 2 * MiB + 99);
      const cos = new NodeCosDirect({ endpoint: h.endpoint, getToken: h.getToken("alice"), KeyPrefix: PREFIX });
      const progress: ProgressData[] = [];
      const data = await cos.uploadFile({ Bucket, Region, Key: "disk.bin", FilePath: path, onProgress: (p) => progress.push(p) });
      expect(data).toMatchObject({ Key: "disk.bin", ETag: expect.stringMatching(/-3"$/) });
      expectProgress(progress, 2 * MiB + 99);
      expect(sha256(await h.readBack(PREFIX + "disk.bin"))).toBe(digest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("Node uploadFiles of FilePaths one at a time: the aggregate counts every file's size from the start, so its percent never drops", async () => {
    const h = harness();
    const dir = await mkdtemp(join(tmpdir(), "client-compat-"));
    try {
      const sizes = [1 * MiB + 5, 2 * MiB + 7, 300 * 1024];
      const paths = sizes.map((_, i) => join(dir, `file-${i}.bin`));
      await Promise.all(paths.map((path, i) => writeRandomFile(path, sizes[i])));
      const cos = new NodeCosDirect({ endpoint: h.endpoint, getToken: h.getToken("alice"), KeyPrefix: PREFIX, FileParallelLimit: 1 });
      const progress: ProgressData[] = [];
      const { files } = await cos.uploadFiles({ files: paths.map((FilePath, i) => ({ Bucket, Region, Key: `paths/${i}.bin`, FilePath })), onProgress: (p) => progress.push(p) });
      expect(files.map((f) => f.error)).toEqual([null, null, null]);
      const total = sizes.reduce((a, b) => a + b, 0);
      expect(progress.length).toBeGreaterThan(3);
      for (const p of progress) expect(p.total).toBe(total);
      for (let i = 1; i < progress.length; i++) expect(progress[i].percent).toBeGreaterThanOrEqual(progress[i - 1].percent);
      expect(progress.at(-1)).toMatchObject({ loaded: total, percent: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("uploadFiles: onFileFinish per file, aggregate onProgress, data.files in order", async () => {
    const cos = newCos();
    const files = [
      { Key: "batch/1.jpg", body: bytes(200 * 1024, 31) },
      { Key: "batch/2.jpg", body: bytes(2 * MiB + 100, 32) },
      { Key: "batch/3.jpg", body: bytes(1500 * 1024, 33) },
    ];
    const total = files.reduce((n, f) => n + f.body.length, 0);
    const ready: string[] = [];
    const finished: string[] = [];
    const progress: ProgressData[] = [];
    const cb = callback<Awaited<ReturnType<CosDirect["uploadFiles"]>>>();
    cos.uploadFiles(
      {
        files: files.map((f) => ({ Bucket, Region, Key: f.Key, Body: f.body, onTaskReady: (taskId: string) => ready.push(taskId) })),
        SliceSize: 1024 * 1024 * 10,
        onProgress: (info) => progress.push(info),
        onFileFinish: (err, _data, options) => finished.push(`${options.Key} ${err ? "failed" : "completed"}`),
      },
      cb.fn,
    );
    const { err, data } = await cb.outcome;
    expect(err).toBeNull();
    expect(ready).toHaveLength(3);
    expect(finished.sort()).toEqual(files.map((f) => `${f.Key} completed`));
    expect(data!.files.map((f) => [f.options.Key, f.error, f.data?.Key])).toEqual(files.map((f) => [f.Key, null, f.Key]));
    // Each file's options as the SDK gives them: plain values with Index and TaskId, no Body or callbacks.
    expect(data!.files.map((f) => [f.options.Index, f.options.TaskId, f.options.Bucket, "Body" in f.options, "onTaskReady" in f.options])).toEqual(files.map((_, i) => [i, ready[i], Bucket, false, false]));
    expect(progress.at(-1)).toMatchObject({ loaded: total, total, percent: 1 });
    for (let i = 1; i < progress.length; i++) expect(progress[i].loaded).toBeGreaterThanOrEqual(progress[i - 1].loaded);
    for (const f of files) expect(sha256(await harness().readBack(PREFIX + f.Key))).toBe(sha256(f.body));
  });
});

describe("uploadFiles: each file's own onFileFinish", () => {
  it("is called with (err, data), and the batch's with the file's info", async () => {
    const cos = newCos();
    const own: string[] = [];
    const batch: string[] = [];
    await cos.uploadFiles({
      files: ["own/1.txt", "own/2.txt"].map((Key) => ({ Bucket, Region, Key, Body: Key, onFileFinish: (err: CompatError | null, data: UploadData | null) => own.push(`${err ? "failed" : data!.Key}`) })),
      onFileFinish: (err, data, info) => batch.push(`${info.Index} ${info.Key} ${info.TaskId ? "has TaskId" : "no TaskId"} ${err ? "failed" : data!.Key}`),
    });
    expect(own.sort()).toEqual(["own/1.txt", "own/2.txt"]);
    expect(batch.sort()).toEqual(["0 own/1.txt has TaskId own/1.txt", "1 own/2.txt has TaskId own/2.txt"]);
  });
});

describe("errors before a task starts", () => {
  it("putObject with a callback and no Body: the callback gets the error, and nothing rejects unobserved", async () => {
    const unobserved: unknown[] = [];
    const onUnhandled = (reason: unknown) => unobserved.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const cb = callback<UploadData>();
      void newCos().putObject({ Bucket, Region, Key: "no-body.txt" } as never, cb.fn);
      const { err } = await cb.outcome;
      expect(err?.message).toContain("give Body");
      await sleep(20);
      expect(unobserved).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("the upload queue", () => {
  it("pauseTask mid-upload, restartTask: completes once, with no part sent twice", async () => {
    const h = harness();
    h.resetCounters();
    const cos = newCos();
    const body = bytes(6 * MiB, 41);
    holdParts([3, 4, 5, 6]);
    let taskId = "";
    const cb = callback<UploadData>();
    const pausedEntry = whenListed(cos, () => taskId, "paused");
    cos.sliceUploadFile({ Bucket, Region, Key: "pause.bin", Body: body, onTaskReady: (id) => (taskId = id) }, cb.fn);
    // Parts 1 and 2 in COS, 3 and 4 crawling in cos-local: pausing aborts those two for certain (a
    // request still in the client's socket buffer when the pause comes could yet arrive whole).
    await until(() => accepted() >= 2 && harness().counters().faults >= 2);
    cos.pauseTask(taskId);
    const entry = await pausedEntry;
    expect(entry.loaded).toBeLessThan(body.length);
    expect(cos.getTaskList().find((t) => t.id === taskId)?.state).toBe("paused");

    h.clearFaults();
    cos.restartTask(taskId);
    const { err, data, calls } = await cb.outcome;
    expect(err).toBeNull();
    expect(calls).toBe(1);
    expect(data!.ETag).toMatch(/-6"$/);
    expect(cos.getTaskList().find((t) => t.id === taskId)?.state).toBe("success");
    const [uploadId] = Object.keys(h.counters().parts);
    expect(Object.values(h.counters().parts[uploadId])).toEqual([1, 1, 1, 1, 1, 1]);
    expect(sha256(await h.readBack(PREFIX + "pause.bin"))).toBe(sha256(body));
  });

  it("cancelTask: the callback gets a CancelledError, the task is canceled, the upload is gone from COS", async () => {
    const h = harness();
    h.resetCounters();
    const cos = newCos();
    holdParts([2, 3, 4]);
    let taskId = "";
    const cb = callback<UploadData>();
    cos.sliceUploadFile({ Bucket, Region, Key: "cancel.bin", Body: bytes(4 * MiB, 51), onTaskReady: (id) => (taskId = id) }, cb.fn);
    await until(() => accepted() >= 1);
    expect((await h.listUploads()).map((u) => u.key)).toContain(PREFIX + "cancel.bin");
    cos.cancelTask(taskId);
    const { err, data } = await cb.outcome;
    h.clearFaults();
    expect(data).toBeUndefined();
    expect(err?.name).toBe("CancelledError");
    expect(cos.getTaskList().find((t) => t.id === taskId)).toMatchObject({ state: "canceled", error: null });
    expect((await h.listUploads()).map((u) => u.key)).not.toContain(PREFIX + "cancel.bin");
  });

  it("a failed task shows as error; restartTask runs it again and calls the callback again with the data", async () => {
    const h = harness();
    h.resetCounters();
    const cos = new CosDirect({ endpoint: h.endpoint, getToken: h.getToken("alice"), KeyPrefix: PREFIX, ChunkRetryTimes: 0 });
    const body = bytes(3 * MiB, 71);
    h.fault({ kind: "500", operation: "UploadPart", query: "partNumber=2" });
    let taskId = "";
    const outcomes: [CompatError | null, UploadData | undefined][] = [];
    let failed!: () => void;
    const failure = new Promise<void>((resolve) => (failed = resolve));
    let succeeded!: () => void;
    const success = new Promise<void>((resolve) => (succeeded = resolve));
    const returned = cos.sliceUploadFile({ Bucket, Region, Key: "retry.bin", Body: body, onTaskReady: (id) => (taskId = id) }, (err, data) => {
      outcomes.push([err, data]);
      (err ? failed : succeeded)();
    });
    await failure;
    expect(outcomes[0][0]).toMatchObject({ statusCode: 500, error: { Code: "InternalError" } });
    expect(cos.getTaskList().find((t) => t.id === taskId)).toMatchObject({ state: "error", error: outcomes[0][0] });
    await expect(returned).rejects.toBe(outcomes[0][0]); // the promise keeps the first outcome

    cos.restartTask(taskId);
    await success;
    expect(outcomes).toHaveLength(2);
    expect(outcomes[1][1]).toMatchObject({ Key: "retry.bin", ETag: expect.stringMatching(/-3"$/) });
    expect(cos.getTaskList().find((t) => t.id === taskId)).toMatchObject({ state: "success", error: null });
    expect(sha256(await h.readBack(PREFIX + "retry.bin"))).toBe(sha256(body));
  });

  it("on('list-update') reports the list with the task's state changes", async () => {
    const cos = newCos();
    const states: string[] = [];
    cos.on("list-update", ({ list }) => {
      const state = list.find((t) => t.Key === "listed.txt")?.state;
      if (state && states.at(-1) !== state) states.push(state);
    });
    await cos.putObject({ Bucket, Region, Key: "listed.txt", Body: "listed" });
    // list-update comes from a timer, as in the SDK: the last one follows the callback.
    await until(() => states.at(-1) === "success");
    // The first one already has the task, before any bytes moved.
    expect(["waiting", "checking"]).toContain(states[0]);
    expect(states.length).toBeGreaterThan(1);
  });

  it("restartTask called from list-update when a task fails: the callback gets the error, then the data", async () => {
    const h = harness();
    const cos = new CosDirect({ endpoint: h.endpoint, getToken: h.getToken("alice"), KeyPrefix: PREFIX, ChunkRetryTimes: 0 });
    h.fault({ kind: "500", operation: "UploadPart", query: "partNumber=1" });
    const restarted = new Set<string>();
    cos.on("list-update", ({ list }) => {
      for (const t of list) if (t.state === "error" && !restarted.has(t.id)) (restarted.add(t.id), cos.restartTask(t.id));
    });
    const outcomes: string[] = [];
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    cos.sliceUploadFile({ Bucket, Region, Key: "auto-retry.bin", Body: bytes(2 * MiB + 10, 72) }, (err, data) => {
      outcomes.push(err ? `error ${err.statusCode}` : `ok ${data!.Key}`);
      if (!err) finished();
    });
    await done;
    expect(outcomes).toEqual(["error 500", "ok auto-retry.bin"]);
    expect(cos.getTaskList()[0]).toMatchObject({ state: "success", error: null });
  });

  it("a Key with a leading / is stored without it, as the SDK does", async () => {
    const cos = newCos();
    const data = await cos.putObject({ Bucket, Region, Key: "/slash.txt", Body: "slash" });
    expect(data.Key).toBe("slash.txt");
    expect((await harness().readBack(PREFIX + "slash.txt")).toString()).toBe("slash");
  });
});

describe("multipart operations", () => {
  it("multipartInit, multipartUpload, multipartListPart, multipartList, multipartComplete", async () => {
    const cos = newCos();
    const body = bytes(2 * MiB + 1000, 61);
    const init = await cos.multipartInit({ Bucket, Region, Key: "mp/1.jpg", Body: body });
    expect(init).toMatchObject({ Key: "mp/1.jpg", UploadId: expect.any(String), PartCount: 3 });
    const parts: { PartNumber: number; ETag: string }[] = [];
    for (let n = 1; n <= init.PartCount; n++) {
      const cb = callback<Awaited<ReturnType<CosDirect["multipartUpload"]>>>();
      cos.multipartUpload({ Bucket, Region, Key: "mp/1.jpg", UploadId: init.UploadId, PartNumber: n, Body: body.subarray((n - 1) * init.PartSize, n * init.PartSize) }, cb.fn);
      const { err, data } = await cb.outcome;
      expect(err).toBeNull();
      parts.push({ PartNumber: n, ETag: data!.ETag });
    }
    const listed = await cos.multipartListPart({ Bucket, Region, Key: "mp/1.jpg", UploadId: init.UploadId });
    expect(listed.Part.map((p) => [p.PartNumber, p.ETag])).toEqual(parts.map((p) => [String(p.PartNumber), p.ETag]));
    const uploads = await cos.multipartList({ Bucket, Region, Prefix: "mp/" });
    expect(uploads.Upload).toContainEqual(expect.objectContaining({ Key: "mp/1.jpg", UploadId: init.UploadId }));

    const done = await cos.multipartComplete({ Bucket, Region, Key: "mp/1.jpg", UploadId: init.UploadId, Parts: parts });
    expect(done).toMatchObject({ statusCode: 200, Key: "mp/1.jpg", ETag: expect.stringMatching(/-3"$/) });
    expect(sha256(await harness().readBack(PREFIX + "mp/1.jpg"))).toBe(sha256(body));
  });

  it("multipartAbort: the upload leaves multipartList; a part of the wrong size is refused before it is sent", async () => {
    const cos = newCos();
    const init = await cos.multipartInit({ Bucket, Region, Key: "mp/abort.bin", ContentLength: 3 * MiB });
    await expect(cos.multipartUpload({ Bucket, Region, Key: "mp/abort.bin", UploadId: init.UploadId, PartNumber: 1, Body: "too short" })).rejects.toThrow(/planned part is 1048576/);
    const aborted = await cos.multipartAbort({ Bucket, Region, Key: "mp/abort.bin", UploadId: init.UploadId });
    expect(aborted.statusCode).toBe(204);
    expect((await cos.multipartList({ Bucket, Region, Prefix: "mp/abort" })).Upload).toEqual([]);
  });

  it("an UploadId this instance does not know fails as the SDK's 404 NoSuchUpload", async () => {
    const error = await newCos().multipartListPart({ Bucket, Region, Key: "mp/x.bin", UploadId: "unknown" }).catch((e: CompatError) => e);
    expect(error).toMatchObject({ statusCode: 404, error: { Code: "NoSuchUpload" } });
  });
});

describe("finished uploads let their bytes go", () => {
  it("putObject, uploadFile and uploadFiles: the task list keeps the tasks, not their Body", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const cos = newCos();
    const refs: WeakRef<object>[] = [];
    await (async () => {
      const one = bytes(2 * MiB + 3, 91);
      const two = bytes(1000, 92);
      const three = bytes(1000, 93);
      refs.push(new WeakRef(one), new WeakRef(two), new WeakRef(three));
      await cos.putObject({ Bucket, Region, Key: "gc/1.bin", Body: one, onProgress: () => {} });
      await cos.uploadFile({ Bucket, Region, Key: "gc/2.bin", Body: two, onFileFinish: () => {} });
      await cos.uploadFiles({ files: [{ Bucket, Region, Key: "gc/3.bin", Body: three, onProgress: () => {} }], onProgress: () => {} });
    })();
    expect(cos.getTaskList().map((t) => t.state)).toEqual(["success", "success", "success"]);
    for (let i = 0; i < 5 && refs.some((r) => r.deref()); i++) {
      await sleep(20);
      gc();
    }
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true]);
  });
});
