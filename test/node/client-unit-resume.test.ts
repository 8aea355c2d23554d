// Resume (client/checkpoint.ts, upload.ts): a checkpoint in the Store per fingerprint; a new
// uploader (after a reload or crash) lists the parts in COS, keeps those with the planned size and
// the checkpoint's ETag, hashes the ones it has no CRC for, and uploads only the rest. The checkpoint
// goes after complete and cancel; a Web Lock held elsewhere means a fresh upload. Node's file store
// and file source too.

import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { CHECKPOINT_PREFIX, type Checkpoint } from "../../client/checkpoint";
import { createUploader, fileStore, memoryStore, openFileSource } from "../../client/node";
import type { Store, TaskState, UploadTask } from "../../client/types";
import { bytes } from "../shared/bytes";
import { FakeCos, abandonAfter, fakeLocks, until } from "./client-fake";

const fast = { attempts: 3, baseDelay: 1, maxDelay: 2 };
const setup = (cos: FakeCos, store: Store, extra = {}) => createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, store, retry: fast, chunkParallelLimit: 2, ...extra });
const KEY = "users/test/resume.bin";

/** Starts an upload, lets `parts` parts reach COS, then abandons it (as a crash would). */
const crashAfter = (cos: FakeCos, store: Store, body: Uint8Array, parts: number) => abandonAfter(cos, () => setup(cos, store).upload({ key: KEY, body }), parts);

/**
 * Uploads every part of `body`, but its Complete fails (502); then the upload is aborted on COS (by
 * hand, a sweeper), so no object of it exists. Returns the failed task.
 */
async function sentThenGone(cos: FakeCos, store: Store, body: Uint8Array | File): Promise<UploadTask> {
  let completeDown = true;
  cos.intercept = (req) => (completeDown && req.path.endsWith("/complete") ? { status: 502, body: { error: { code: "CosUnavailable", message: "COS did not answer", requestId: "req-502" } } } : undefined);
  const task = setup(cos, store).upload({ key: KEY, body });
  await task.done.catch(() => undefined);
  expect(task.state).toBe("failed");
  completeDown = false;
  cos.uploads.delete(task.uploadId!);
  return task;
}

/** `inner`, but every removal fails from now on (a full quota, a flaky AsyncStorage). */
const removeFails = (inner: Store): Store => ({ ...inner, remove: async () => Promise.reject(new Error("EIO: remove failed")) });

afterEach(() => vi.unstubAllGlobals());

describe("resume from a checkpoint", () => {
  it("a new uploader with the same store lists the parts and uploads only the missing ones", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 60);
    const uploadId = await crashAfter(cos, store, body, 3);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    const cp = JSON.parse((await store.get(id))!) as Checkpoint;
    expect(cp).toMatchObject({ key: KEY, uploadId, token: `token-${uploadId}`, partSize: 1024, partCount: 8, size: 8192 });
    expect(cp.parts.length).toBeGreaterThanOrEqual(3);
    for (const p of cp.parts) expect(p.crc64).toMatch(/^\d+$/);
    const inCos = [...cos.uploads.get(uploadId)!.parts.keys()];

    const mark = cos.log.length;
    const result = await setup(cos, store).upload({ key: KEY, body }).done;
    expect(result.size).toBe(body.length);
    expect(cos.objects.get(KEY)).toEqual(body);
    const after = cos.log.slice(mark);
    expect(after.filter((r) => r.path === "/v1/uploads" && r.method === "POST")).toHaveLength(0);
    expect(after.filter((r) => r.method === "GET" && r.path === `/v1/uploads/${uploadId}/parts`)).toHaveLength(1);
    const resent = after.filter((r) => r.to === "cos").map((r) => Number(r.query.get("partNumber")));
    expect(resent.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].filter((n) => !inCos.includes(n)));
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("re-sends parts of the wrong size or another ETag; hashes parts COS has but the checkpoint lacks", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(6 * 1024, 61);
    const uploadId = await crashAfter(cos, store, body, 4);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    const cp = JSON.parse((await store.get(id))!) as Checkpoint;
    const held = cos.uploads.get(uploadId)!.parts;
    const [a, b, c] = cp.parts.map((p) => p.partNumber);
    held.set(a, { ...held.get(a)!, bytes: held.get(a)!.bytes.subarray(0, 10) }); // wrong size in COS
    held.set(b, { ...held.get(b)!, etag: '"other"' }); // replaced since the checkpoint
    await store.set(id, JSON.stringify({ ...cp, parts: cp.parts.filter((p) => p.partNumber !== c) })); // crashed before saving c
    const states: TaskState[] = [];
    const hashed: number[] = [];
    const mark = cos.log.length;
    const result = await setup(cos, store).upload({ key: KEY, body, onStateChange: (s) => states.push(s), onHashProgress: (p) => hashed.push(p.loaded) }).done;
    expect(cos.objects.get(KEY)).toEqual(body);
    expect(result.crc64).toBeDefined();
    const resent = cos.log.slice(mark).filter((r) => r.to === "cos").map((r) => Number(r.query.get("partNumber")));
    expect(resent).toContain(a);
    expect(resent).toContain(b);
    expect(resent).not.toContain(c);
    expect(states).toContain("hashing");
    expect(hashed.at(-1)).toBe(1024);
  });

  it("an upload gone from COS (404) starts afresh", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(4 * 1024, 62);
    const uploadId = await crashAfter(cos, store, body, 1);
    cos.uploads.delete(uploadId);
    const task = setup(cos, store).upload({ key: KEY, body });
    await task.done;
    expect(task.uploadId).not.toBe(uploadId);
    expect(cos.objects.get(KEY)).toEqual(body);
  });

  it("a Complete whose answer was lost, then a reload: the same file finishes with that object (no part sent again, no second object)", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 63);
    const file = () => new File([body], "lost.bin", { lastModified: 1_700_000_000_000 });
    let loseComplete = true;
    // COS completes; the answer never reaches the page (a dropped connection, then a reload).
    const fetch: typeof cos.fetch = async (url, init) => {
      const response = await cos.fetch(url, init);
      if (loseComplete && String(url).endsWith("/complete")) throw new TypeError("Failed to fetch");
      return response;
    };
    const first = setup(cos, store, { fetch }).upload({ filename: "lost.bin", body: file() });
    await first.done.catch(() => undefined);
    expect(first.state).toBe("failed");
    expect(cos.objects.size).toBe(1);
    expect(await store.keys(CHECKPOINT_PREFIX)).toHaveLength(1);

    loseComplete = false;
    // A "resume your uploads" screen after the reload: the upload is not listed, its checkpoint stays.
    expect(await setup(cos, store).unfinished()).toEqual([]);
    expect(await store.keys(CHECKPOINT_PREFIX)).toHaveLength(1);
    const mark = cos.log.length;
    const result = await setup(cos, store).upload({ filename: "lost.bin", body: file() }).done;
    expect(result.key).toBe(first.key);
    expect(cos.objects.size).toBe(1);
    expect(cos.objects.get(first.key!)).toEqual(body);
    const after = cos.log.slice(mark);
    expect(after.filter((r) => r.to === "cos")).toEqual([]);
    expect(after.filter((r) => r.method === "POST" && r.path === "/v1/uploads")).toEqual([]);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("a store that fails to read the checkpoint: the upload goes on without it and does not write over it; the next try resumes it", async () => {
    const cos = new FakeCos();
    const inner = memoryStore();
    let failReads = 0;
    const store: Store = {
      ...inner,
      async get(key) {
        if (failReads > 0 && failReads--) throw new Error("EIO: the disk hiccupped");
        return inner.get(key);
      },
    };
    const body = bytes(8 * 1024, 65);
    const first = await crashAfter(cos, store, body, 3);
    const [id] = await store.keys(CHECKPOINT_PREFIX);

    failReads = 1;
    const unsure = setup(cos, store).upload({ key: KEY, body });
    await unsure.done;
    expect(unsure.uploadId).not.toBe(first);
    expect(cos.objects.get(KEY)).toEqual(body);
    expect(JSON.parse((await inner.get(id))!).uploadId).toBe(first); // still the first upload's
    expect(cos.uploads.has(first)).toBe(true);

    const mark = cos.log.length;
    const resumed = setup(cos, store).upload({ key: KEY, body });
    await resumed.done;
    expect(resumed.uploadId).toBe(first);
    expect(cos.log.slice(mark).filter((r) => r.to === "cos").length).toBeLessThan(8);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("every part recorded but the upload gone and no object of it: Complete is sent again, finds nothing, and the same task uploads the file afresh (progress back at 0)", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(3 * 1024, 64);
    const first = await sentThenGone(cos, store, body);

    const states: TaskState[] = [];
    const loaded: number[] = [];
    const again = setup(cos, store).upload({ key: KEY, body, onStateChange: (state) => states.push(state), onProgress: (p) => loaded.push(p.loaded) });
    await again.done;
    expect(again.uploadId).not.toBe(first.uploadId);
    expect(cos.objects.get(KEY)).toEqual(body);
    expect(states).toEqual(["initiating", "uploading", "completing", "initiating", "uploading", "completing", "done"]);
    // All of it first (the checkpoint's parts), then from 0 again as the parts are sent anew.
    const restart = loaded.indexOf(body.length);
    expect(restart).toBeGreaterThanOrEqual(0);
    expect(loaded[restart + 1]).toBe(0);
    expect(loaded.at(-1)).toBe(body.length);
    expect(cos.log.filter((r) => r.method === "POST" && r.path === "/v1/uploads")).toHaveLength(2);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("cancel() or pause() pressed while the Complete sent again is on its way applies to the upload that starts over; a pause undone by resume() is undone", async () => {
    for (const action of ["cancel", "pause", "pause, then resume"] as const) {
      const cos = new FakeCos();
      const store = memoryStore();
      const body = bytes(3 * 1024, 71);
      await sentThenGone(cos, store, body);
      const slowComplete: typeof cos.fetch = async (url, init) => {
        if (String(url).endsWith("/complete")) await new Promise((r) => setTimeout(r, 30));
        return cos.fetch(url, init);
      };
      let pressed: Promise<void> | undefined;
      const states: TaskState[] = [];
      const task = setup(cos, store, { fetch: slowComplete }).upload({
        key: KEY,
        body,
        onStateChange: (state) => {
          states.push(state);
          if (state !== "completing" || pressed) return;
          if (action === "cancel") pressed = task.cancel();
          else pressed = Promise.resolve(task.pause());
          if (action === "pause, then resume") task.resume();
        },
      });
      if (action === "cancel") {
        expect(await task.done.catch((e: unknown) => (e as Error).name)).toBe("CancelledError");
        await pressed;
        expect(task.state).toBe("cancelled");
        expect(cos.uploads.size).toBe(0); // the new upload, if it was made, aborted
        expect(cos.objects.has(KEY)).toBe(false);
        expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
        continue;
      }
      if (action === "pause, then resume") {
        await task.done;
        expect(states).not.toContain("paused");
        expect(cos.objects.get(KEY)).toEqual(body);
        continue;
      }
      await until(() => task.state === "paused", "paused");
      expect(cos.objects.has(KEY)).toBe(false);
      task.resume();
      await task.done;
      expect(cos.objects.get(KEY)).toEqual(body);
    }
  });

  it("an upload gone from COS whose checkpoint the store cannot remove: the new upload's checkpoint writes over it", async () => {
    const cos = new FakeCos();
    const inner = memoryStore();
    const body = bytes(6 * 1024, 72);
    const first = await crashAfter(cos, inner, body, 2);
    cos.uploads.delete(first); // swept
    const store = removeFails(inner);
    cos.putDelay = 20;
    const task = setup(cos, store).upload({ key: KEY, body });
    await until(() => !!task.uploadId && task.uploadId !== first && (cos.uploads.get(task.uploadId)?.parts.size ?? 0) >= 1, "the new upload under way");
    task.pause(); // the page closes
    await until(() => task.state === "paused", "paused");
    const [id] = await inner.keys(CHECKPOINT_PREFIX);
    expect(JSON.parse((await inner.get(id))!).uploadId).toBe(task.uploadId);
  });

  it("starting over when the store cannot remove the dead checkpoint: that checkpoint is written over, not resumed again (no loop of Completes)", async () => {
    const cos = new FakeCos();
    const inner = memoryStore();
    const body = bytes(3 * 1024, 70);
    await sentThenGone(cos, inner, body);
    const store = removeFails(inner);
    // Each API call yields to timers, so a loop of requests could not starve the test's own timer.
    const yielding: typeof cos.fetch = async (url, init) => {
      await new Promise((r) => setTimeout(r, 1));
      return cos.fetch(url, init);
    };
    const mark = cos.log.length;
    const task = setup(cos, store, { fetch: yielding }).upload({ key: KEY, body });
    const outcome = await Promise.race([task.done.then(() => "done", () => "failed"), new Promise((r) => setTimeout(() => r("still running"), 3000))]);
    expect(outcome).toBe("done");
    expect(cos.objects.get(KEY)).toEqual(body);
    expect(cos.log.slice(mark).filter((r) => r.path.endsWith("/complete"))).toHaveLength(2); // the one sent again, the new upload's
    const [id] = await inner.keys(CHECKPOINT_PREFIX);
    expect(JSON.parse((await inner.get(id))!).uploadId).toBe(task.uploadId); // the new upload's, left by the failed remove
  });

  it("a failed task whose upload was aborted after every part was sent: resume() uploads the file afresh, not the same 404 every time", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(3 * 1024, 66);
    const task = await sentThenGone(cos, store, body);
    const firstId = task.uploadId;

    task.resume();
    await task.done;
    expect(task.state).toBe("done");
    expect(task.uploadId).not.toBe(firstId);
    expect(cos.objects.get(KEY)).toEqual(body);
  });

  it("a paused or failed task whose upload was swept meanwhile (parts still missing): resume() uploads the file afresh, not a 404 every time", async () => {
    for (const stop of ["pause", "fail"] as const) {
      const cos = new FakeCos();
      const store = memoryStore();
      const body = bytes(6 * 1024, 69);
      cos.putDelay = 5;
      let refuse = stop === "fail";
      cos.intercept = (req) => (refuse && req.to === "cos" && req.query.get("partNumber") === "4" ? { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" } : undefined);
      const task = setup(cos, store).upload({ key: KEY, body });
      if (stop === "pause") {
        await until(() => cos.partPuts().length >= 2, "two parts");
        task.pause();
        await until(() => task.state === "paused", "paused");
      } else {
        await task.done.catch(() => undefined);
        expect(task.state).toBe("failed");
        refuse = false;
      }
      const firstId = task.uploadId!;
      expect(cos.uploads.get(firstId)!.parts.size).toBeLessThan(6);
      cos.uploads.delete(firstId); // swept (STALE_UPLOAD_HOURS) while the task waited

      task.resume();
      await task.done;
      expect(task.uploadId).not.toBe(firstId);
      expect(cos.objects.get(KEY)).toEqual(body);
      expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
    }
  });

  it("a Complete sent again that finds other bytes of the same size at the key (written since) uploads the file afresh", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(3 * 1024, 67);
    let loseComplete = true;
    const fetch: typeof cos.fetch = async (url, init) => {
      const response = await cos.fetch(url, init);
      if (loseComplete && String(url).endsWith("/complete")) throw new TypeError("Failed to fetch");
      return response;
    };
    const first = setup(cos, store, { fetch }).upload({ key: KEY, body });
    await first.done.catch(() => undefined);
    expect(first.state).toBe("failed");
    loseComplete = false;
    cos.objects.set(KEY, bytes(3 * 1024, 99)); // another writer, same size

    const again = setup(cos, store).upload({ key: KEY, body });
    await again.done;
    expect(again.uploadId).not.toBe(first.uploadId);
    expect(cos.objects.get(KEY)).toEqual(body);
  });

  it("asked for by its checkpoint, an upload gone without its object fails with the 404, and resume() says so again without asking COS", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(3 * 1024, 68);
    const file = () => new File([body], "gone.bin", { lastModified: 1_700_000_000_000 });
    await sentThenGone(cos, store, file());
    const [checkpoint] = await store.keys(CHECKPOINT_PREFIX);

    const task = setup(cos, store).upload({ key: KEY, body: file(), checkpoint });
    const error = await task.done.catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ApiError", status: 404, code: "UploadNotFound" });
    expect(cos.log.filter((r) => r.method === "POST" && r.path === "/v1/uploads")).toHaveLength(1); // not started afresh
    const mark = cos.log.length;
    task.resume();
    expect(await task.done.catch((e: unknown) => e)).toBe(error);
    expect(cos.log.slice(mark)).toEqual([]);
  });

  it("cancel removes the checkpoint; unfinished() marks the uploads this device can resume", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const uploadId = await crashAfter(cos, store, bytes(4 * 1024, 63), 1);
    cos.uploads.set("up-elsewhere", { key: "users/test/other.bin", size: 5000, partSize: 1024, partCount: 5, parts: new Map() });
    const list = await setup(cos, store).unfinished();
    // This device's checkpoint adds the size and the bytes of the parts it recorded before the crash.
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    const recorded = (JSON.parse((await store.get(id))!) as Checkpoint).parts.reduce((sum, part) => sum + part.size, 0);
    expect(recorded).toBeGreaterThanOrEqual(1024);
    expect(list.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: "users/test/other.bin", uploadId: "up-elsewhere", initiated: "2026-01-01T00:00:00.000Z", resumable: false },
      { key: KEY, uploadId, initiated: "2026-01-01T00:00:00.000Z", resumable: true, size: 4 * 1024, bytesDone: recorded },
    ]);

    cos.putDelay = 20;
    const task = setup(cos, store).upload({ key: KEY, body: bytes(4 * 1024, 63) });
    await until(() => task.state === "uploading", "uploading");
    await task.cancel();
    expect(cos.aborted).toContain(uploadId);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("while another tab holds the upload's Web Lock, this one uploads afresh and leaves the checkpoint alone", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(4 * 1024, 64);
    const uploadId = await crashAfter(cos, store, body, 1);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    const before = await store.get(id);
    const requested: string[] = [];
    vi.stubGlobal("navigator", {
      locks: {
        request: async (name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void>) => {
          requested.push(name);
          expect(options.ifAvailable).toBe(true);
          return callback(null); // held elsewhere
        },
      },
    });
    const task = setup(cos, store).upload({ key: KEY, body });
    await task.done;
    expect(requested).toEqual([id]);
    expect(task.uploadId).not.toBe(uploadId);
    expect(await store.get(id)).toBe(before);
  });

  it("other bytes of the same size at the same key do not resume the checkpoint of the first (in-memory bodies are fingerprinted by content)", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const first = bytes(4 * 1024, 68);
    const uploadId = await crashAfter(cos, store, first, 2);
    const other = bytes(4 * 1024, 69);
    const task = setup(cos, store).upload({ key: KEY, body: other });
    await task.done;
    expect(task.uploadId).not.toBe(uploadId);
    expect(cos.objects.get(KEY)).toEqual(other);
    // The first body's checkpoint is still there for it.
    expect(await store.keys(CHECKPOINT_PREFIX)).toHaveLength(1);
    // A nameless Blob (no lastModified) gets no checkpoint at all; a File does.
    const inner = memoryStore();
    const written: string[] = [];
    const spy: Store = { get: inner.get, set: (key, value) => (written.push(key), inner.set(key, value)), remove: inner.remove, keys: inner.keys };
    await setup(cos, spy).upload({ key: "users/test/blob.bin", body: new Blob([bytes(3 * 1024, 70)]) }).done;
    expect(written).toEqual([]);
    await setup(cos, spy).upload({ key: "users/test/file.bin", body: new File([bytes(3 * 1024, 70)], "file.bin", { lastModified: 1 }) }).done;
    expect(written.length).toBeGreaterThan(0);
  });

  it("a { path } upload that failed, resumed after the file changed: SourceError, not an object mixing old and new bytes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cos-direct-changed-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "f.bin");
    await writeFile(path, bytes(4 * 1024, 71));
    const cos = new FakeCos();
    let broken = true;
    cos.intercept = (req) => (broken && req.query.get("partNumber") === "3" ? { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" } : undefined);
    const task = setup(cos, memoryStore()).upload({ key: KEY, body: { path } });
    expect(await task.done.catch((e: unknown) => (e as Error).name)).toBe("HttpError");
    await writeFile(path, bytes(4 * 1024, 72)); // same size, other bytes, a later mtime
    await utimes(path, new Date(), new Date(Date.now() + 5000));
    broken = false;
    task.resume();
    const error = (await task.done.catch((e: unknown) => e)) as Error;
    expect(error.name).toBe("SourceError");
    expect(error.message).toContain("changed since the upload started");
    expect(cos.objects.has(KEY)).toBe(false);
  });

  it("paused while it lists the checkpoint's parts and resumed: keeps its own Web Lock and resumes the same upload", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 66);
    const uploadId = await crashAfter(cos, store, body, 4);
    const { held } = fakeLocks(); // an exclusive lock manager, as browsers have
    let hold = true;
    cos.intercept = (req) => (hold && req.method === "GET" && req.path.endsWith("/parts") ? "hang" : undefined);
    const task = setup(cos, store).upload({ key: KEY, body });
    await until(() => cos.find("GET", /\/parts$/).length > 0, "the resume lists the parts");
    task.pause();
    hold = false;
    const mark = cos.log.length;
    task.resume();
    expect((await task.done).size).toBe(body.length);
    expect(task.uploadId).toBe(uploadId);
    expect(cos.objects.get(KEY)).toEqual(body);
    const after = cos.log.slice(mark);
    expect(after.filter((r) => r.method === "POST" && r.path === "/v1/uploads")).toHaveLength(0);
    expect(after.filter((r) => r.to === "cos").length).toBeLessThanOrEqual(4); // only the parts COS lacked
    expect(held.size).toBe(0); // done lets the lock go
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("cancelled while it lists the checkpoint's parts: the checkpoint's upload is aborted on COS, not left behind", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(4 * 1024, 67);
    const uploadId = await crashAfter(cos, store, body, 1);
    cos.intercept = (req) => (req.method === "GET" && req.path.endsWith("/parts") ? "hang" : undefined);
    const task = setup(cos, store).upload({ key: KEY, body });
    await until(() => cos.find("GET", /\/parts$/).length > 0, "the resume lists the parts");
    await task.cancel();
    expect(cos.aborted).toEqual([uploadId]);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
    expect(await task.done.catch((e: unknown) => (e as Error).name)).toBe("CancelledError");
  });
});

describe("Node stores and sources", () => {
  let dir: string;
  afterEach(async () => dir && rm(dir, { recursive: true, force: true }));

  it("fileStore keeps checkpoints in one JSON file across instances, written atomically", async () => {
    dir = await mkdtemp(join(tmpdir(), "cos-direct-store-"));
    const path = join(dir, "sub", "checkpoints.json");
    const a = fileStore(path);
    await a.set("cos-direct:upload:x", "1");
    await a.set("cos-direct:upload:y", "2");
    await a.set("other", "3");
    await a.remove("cos-direct:upload:x");
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ "cos-direct:upload:y": "2", other: "3" });
    const b = fileStore(path);
    expect(await b.get("cos-direct:upload:y")).toBe("2");
    expect(await b.keys("cos-direct:")).toEqual(["cos-direct:upload:y"]);
    expect(await readdir(join(dir, "sub"))).toEqual(["checkpoints.json"]);
  });

  it("fileStore: a failed write fails that call only, and a failed read is tried again", async () => {
    dir = await mkdtemp(join(tmpdir(), "cos-direct-store-"));
    const blocker = join(dir, "blocker");
    await writeFile(blocker, "a file where the store's folder should be");
    const path = join(blocker, "checkpoints.json");
    const store = fileStore(path);
    await expect(store.set("cos-direct:upload:a", "1")).rejects.toMatchObject({ code: "ENOTDIR" });
    await rm(blocker);
    await store.set("cos-direct:upload:b", "2");
    await store.remove("cos-direct:upload:a");
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ "cos-direct:upload:b": "2" });
    // A file that cannot be read yet (here: a folder in its place) fails the call; once it is fixed, the next call reads it.
    const other = join(dir, "other.json");
    await mkdir(other);
    const later = fileStore(other);
    await expect(later.get("k")).rejects.toMatchObject({ code: "EISDIR" });
    await rm(other, { recursive: true });
    await writeFile(other, JSON.stringify({ k: "v" }));
    expect(await later.get("k")).toBe("v");
  });

  it("openFileSource reads exactly the asked range, reuses released buffers, and { path } bodies upload", async () => {
    dir = await mkdtemp(join(tmpdir(), "cos-direct-src-"));
    const path = join(dir, "f.bin");
    const body = bytes(5000, 65);
    await writeFile(path, body);
    const source = await openFileSource(path);
    expect(source).toMatchObject({ size: 5000, name: "f.bin" });
    expect(await source.slice(1000, 2500)).toEqual(body.subarray(1000, 2500));
    // A released buffer is reused for the next slice of its length, and holds the new range.
    const first = (await source.slice(0, 1500)) as Uint8Array;
    source.release!(first);
    const second = await source.slice(3000, 4500);
    expect(second).toBe(first);
    expect(second).toEqual(body.subarray(3000, 4500));
    expect(await source.slice(3000, 4500)).not.toBe(second);
    await source.close!();

    const cos = new FakeCos();
    const result = await setup(cos, memoryStore()).upload({ filename: "f.bin", body: { path } }).done;
    expect(result.key).toBe("users/test/f.bin");
    expect(cos.objects.get("users/test/f.bin")).toEqual(body);
  });

  it("openFileSource streams a range in 1 MiB reads, again on each pass, and names a file that shrank", async () => {
    dir = await mkdtemp(join(tmpdir(), "cos-direct-src-"));
    const path = join(dir, "big.bin");
    const body = bytes(3 * 1024 * 1024 + 17, 66);
    await writeFile(path, body);
    const source = await openFileSource(path);
    const read = async (start: number, end: number) => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of source.stream!(start, end).chunks()) chunks.push(new Uint8Array(chunk)); // a copy (Buffer#slice is a view)
      return chunks;
    };
    const start = 100;
    const end = body.length - 5; // 3 MiB - 88 bytes
    const chunks = await read(start, end);
    expect(chunks.map((c) => c.length)).toEqual([1024 * 1024, 1024 * 1024, 1024 * 1024 - 88]);
    const same = (got: Uint8Array[], from: number, to: number) => Buffer.concat(got).equals(body.subarray(from, to));
    expect(same(chunks, start, end)).toBe(true);
    expect(same(await read(start, end), start, end)).toBe(true);
    expect(await read(7, 7)).toEqual([]);
    // A chunk the stack released (the socket took it) holds a later chunk: the read ahead of it
    // already had its own buffer, so the third chunk reuses the first's.
    const stream = source.stream!(0, 3 * 1024 * 1024);
    const seen: Uint8Array[] = [];
    const copies: Uint8Array[] = [];
    for await (const chunk of stream.chunks()) {
      seen.push(chunk);
      copies.push(new Uint8Array(chunk));
      stream.release!(chunk);
    }
    expect(seen[2]).toBe(seen[0]);
    expect(seen[1]).not.toBe(seen[0]);
    expect(same(copies, 0, 3 * 1024 * 1024)).toBe(true);
    // The file is cut short after the part was planned: the stream fails with the reason, not a hang.
    await writeFile(path, body.subarray(0, 2 * 1024 * 1024));
    await expect(read(start, end)).rejects.toThrow(/^the file ended at 2097152 bytes, expected 3145745$/);
    await source.close!();
  });
});
