// File handles as bodies (client/sources.ts, checkpoint.ts, uploader.ts unfinished()): a store that
// keeps handles (indexedDbStore in browsers; here a memory store with setHandle/getHandle) keeps the
// body's handle with its checkpoint, and after a "reload" (a new uploader) unfinished() hands back
// the upload() options that resume that upload (by its checkpoint) without the file being picked
// again. A handle that lost its read permission (after a reload) is a SourceError until the app asks
// for it again; a file changed since is a SourceError and its old upload is aborted. The real thing,
// IndexedDB and FileSystemFileHandle in Chromium, is in test/browser/client.test.ts.

import { afterEach, describe, expect, it, vi } from "vitest";
import { CHECKPOINT_PREFIX, loadCheckpoint } from "../../client/checkpoint";
import { createUploader, memoryStore } from "../../client/node";
import { createUploaderFor } from "../../client/uploader";
import type { FileHandle, Store, UploadOptions } from "../../client/types";
import { bytes } from "../shared/bytes";
import { FakeCos, abandonAfter, fakeLocks, until } from "./client-fake";

const fast = { attempts: 3, baseDelay: 1, maxDelay: 2 };
const setup = (cos: FakeCos, store: Store) => createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, store, retry: fast, chunkParallelLimit: 2 });

/** memoryStore plus a handle map: what indexedDbStore does, in memory. */
function handleStore(): Store & { handles: Map<string, FileHandle> } {
  const store = memoryStore();
  const handles = new Map<string, FileHandle>();
  return {
    ...store,
    handles,
    async remove(key) {
      handles.delete(key);
      await store.remove(key);
    },
    async setHandle(key, handle) {
      handles.set(key, handle);
    },
    async getHandle(key) {
      return handles.get(key) ?? null;
    },
  };
}

/**
 * A handle over `body` whose read permission starts as `permission`; requestPermission answers
 * `answer`. `file.lastModified` can be changed (the file saved again).
 */
function fakeHandle(name: string, body: Uint8Array, permission = "granted", answer = "granted") {
  const calls = { requestPermission: 0, getFile: 0 };
  const file = { lastModified: 1_700_000_000_000 };
  const handle: FileHandle & { file: typeof file } = {
    kind: "file",
    name,
    file,
    async getFile() {
      calls.getFile++;
      if (permission !== "granted") throw Object.assign(new Error("not allowed"), { name: "NotAllowedError" });
      return new File([body as Uint8Array<ArrayBuffer>], name, { lastModified: file.lastModified });
    },
    async queryPermission() {
      return permission;
    },
    async requestPermission() {
      calls.requestPermission++;
      permission = answer;
      return answer;
    },
  };
  return { handle, calls };
}

/** Starts uploading, lets `parts` parts reach COS, then abandons it (as a reload would). */
const reloadAfter = (cos: FakeCos, store: Store, options: UploadOptions, parts: number) => abandonAfter(cos, () => setup(cos, store).upload(options), parts);

afterEach(() => vi.unstubAllGlobals());
/** COS refusing part 3 (a 4xx: the task fails at once) while `on()` says so. */
const refusePart3 = (cos: FakeCos, on: () => boolean) =>
  (cos.intercept = (req) => (on() && req.to === "cos" && req.query.get("partNumber") === "3" ? { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" } : undefined));
/** Web Locks that another tab holds: every request is refused. */
const heldElsewhere = () => vi.stubGlobal("navigator", { locks: { request: async (_name: string, _options: unknown, callback: (lock: unknown) => Promise<void>) => callback(null) } });

describe("file handles as bodies", () => {
  it("the handle is kept with the checkpoint; after a reload unfinished() gives the options that resume it; no part is sent twice; done removes both", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const body = bytes(8 * 1024, 71);
    const { handle } = fakeHandle("photo.raw", body);
    const uploadId = await reloadAfter(cos, store, { body: handle }, 3);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    expect(store.handles.get(id)).toBe(handle);

    const [listed] = await setup(cos, store).unfinished();
    expect(listed).toMatchObject({ uploadId, resumable: true, name: "photo.raw", size: body.length });
    // Named as the first upload named it (by file name, the functions chose the key), and that upload's checkpoint.
    expect(listed.resumeOptions).toEqual({ filename: "photo.raw", body: handle, checkpoint: id });

    const inCos = [...cos.uploads.get(uploadId)!.parts.keys()];
    const mark = cos.log.length;
    const result = await setup(cos, store).upload(listed.resumeOptions!).done;
    expect(cos.objects.get(result.key)).toEqual(body);
    const after = cos.log.slice(mark);
    expect(after.filter((r) => r.path === "/v1/uploads" && r.method === "POST")).toHaveLength(0);
    const sent = after.filter((r) => r.to === "cos").map((r) => Number(r.query.get("partNumber")));
    expect(sent.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].filter((n) => !inCos.includes(n)));
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
    expect(store.handles.size).toBe(0);
  });

  it("resumeOptions ask for what the first upload asked for: key, content type, metadata, headers, storage class, traffic limit", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("a.bin", bytes(4 * 1024, 72));
    const asked = { key: "users/test/by-key.bin", contentType: "image/png", metadata: { album: "2026" }, headers: { "cache-control": "no-cache" }, storageClass: "STANDARD_IA", trafficLimit: 819200 };
    await reloadAfter(cos, store, { ...asked, body: handle }, 1);
    const [listed] = await setup(cos, store).unfinished();
    expect(listed.resumeOptions).toEqual({ ...asked, body: handle, checkpoint: (await store.keys(CHECKPOINT_PREFIX))[0] });
  });

  it("a file changed since (saved again): resumeOptions fail with a SourceError, the old upload is aborted on COS, its checkpoint and handle go; nothing is uploaded afresh", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("photo.raw", bytes(8 * 1024, 78));
    const uploadId = await reloadAfter(cos, store, { body: handle }, 2);
    handle.file.lastModified += 1000;
    const [listed] = await setup(cos, store).unfinished();
    const mark = cos.log.length;
    const error = await setup(cos, store).upload(listed.resumeOptions!).done.catch((e: Error) => e);
    expect(error).toMatchObject({ name: "SourceError", source: "photo.raw" });
    expect((error as Error).message).toMatch(/changed since the upload started/);
    expect(cos.aborted).toEqual([uploadId]);
    expect(cos.log.slice(mark).filter((r) => r.path === "/v1/uploads" && r.method === "POST")).toHaveLength(0);
    expect(cos.log.slice(mark).filter((r) => r.to === "cos")).toHaveLength(0);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
    expect(store.handles.size).toBe(0);
    expect(await setup(cos, store).unfinished()).toEqual([]);
  });

  it("a resumed upload cancelled while still queued aborts that upload on COS and lets its checkpoint and handle go", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("d.bin", bytes(8 * 1024, 91));
    const uploadId = await reloadAfter(cos, store, { body: handle }, 2);
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, store, retry: fast, fileParallelLimit: 1 });
    cos.putDelay = 20;
    const busy = uploader.upload({ key: "users/test/busy.bin", body: bytes(8 * 1024, 92) });
    const [listed] = await uploader.unfinished();
    const task = uploader.upload(listed.resumeOptions!);
    expect(task.state).toBe("queued");
    await task.cancel();
    await busy.done;
    expect(cos.aborted).toEqual([uploadId]);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
    expect(store.handles.size).toBe(0);
  });

  it("while another tab holds that upload, resumeOptions fail with an error saying so instead of uploading the file afresh", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("e.bin", bytes(4 * 1024, 79));
    await reloadAfter(cos, store, { body: handle }, 1);
    const [listed] = await setup(cos, store).unfinished();
    heldElsewhere();
    const mark = cos.log.length;
    const error = await setup(cos, store).upload(listed.resumeOptions!).done.catch((e: Error) => e);
    expect((error as Error).message).toBe("e.bin is already being uploaded, in this tab or another");
    expect(cos.log.slice(mark).filter((r) => r.method !== "GET")).toEqual([]);
    expect(await store.keys(CHECKPOINT_PREFIX)).toHaveLength(1);
  });

  it("unfinished() forgets local checkpoints (and handles) whose upload COS says is gone, and keeps those it cannot say so of", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const gone = await reloadAfter(cos, store, { body: fakeHandle("gone.bin", bytes(4 * 1024, 80)).handle }, 1);
    const unlisted = await reloadAfter(cos, store, { body: fakeHandle("unlisted.bin", bytes(4 * 1024, 81)).handle }, 1);
    const refused = await reloadAfter(cos, store, { body: fakeHandle("refused.bin", bytes(4 * 1024, 82)).handle }, 1);
    const elsewhere = `${CHECKPOINT_PREFIX}${encodeURIComponent("https://other.test")}|x`;
    await store.set(elsewhere, JSON.stringify({ v: 1, key: "k", uploadId: "up-other", token: "t", partSize: 1, partCount: 1, size: 1, parts: [], updatedAt: 0 }));
    cos.uploads.delete(gone); // completed, aborted or swept meanwhile
    const ours = (await store.keys(CHECKPOINT_PREFIX)).filter((id) => id !== elsewhere);
    // The listing (of another caller, on a shared device) has none of them: one still exists, the
    // functions refuse to say anything of another (403).
    cos.intercept = (req) => {
      if (req.method === "GET" && req.path === "/v1/uploads") return { status: 200, body: { uploads: [] } };
      if (req.path === `/v1/uploads/${refused}/parts`) return { status: 403, body: { error: { code: "NotYourUpload", message: "x", requestId: "r" } } };
      return undefined;
    };
    const mark = cos.log.length;
    expect(await setup(cos, store).unfinished()).toEqual([]);
    expect(cos.log.slice(mark).filter((r) => r.path.endsWith("/parts")).map((r) => r.path).sort()).toEqual([gone, unlisted, refused].map((id) => `/v1/uploads/${id}/parts`).sort());
    const left = await store.keys(CHECKPOINT_PREFIX);
    expect(left).toHaveLength(3);
    expect(left).toContain(elsewhere);
    expect(left).not.toContain(ours.find((id) => id.includes("gone.bin")));
    expect(store.handles.size).toBe(2);
  });

  it("unfinished(): forgets a checkpoint whose upload token expired (the sweeper's age), keeps one whose token the functions cannot verify (a secret misconfigured); offers no other endpoint's checkpoint of a listed upload", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const expired = await reloadAfter(cos, store, { body: fakeHandle("old.bin", bytes(4 * 1024, 85)).handle }, 1);
    const unverified = await reloadAfter(cos, store, { body: fakeHandle("other.bin", bytes(4 * 1024, 87)).handle }, 1);
    const listed = await reloadAfter(cos, store, { body: fakeHandle("listed.bin", bytes(4 * 1024, 86)).handle }, 1);
    const idOf = async (uploadId: string) => {
      for (const id of await store.keys(CHECKPOINT_PREFIX)) if ((await loadCheckpoint(store, id))?.uploadId === uploadId) return id;
      return undefined;
    };
    const listedId = (await idOf(listed))!;
    // Swept at the token's expiry: the functions refuse the token before asking COS.
    cos.uploads.delete(expired);
    // Not listed (another caller's, on a shared device), and the functions' secret is not the one that signed its token.
    cos.uploads.delete(unverified);
    const refuse = (code: string) => ({ status: 403, body: { error: { code, message: "Upload-Token header", requestId: "r" } } });
    cos.intercept = (req) => (req.path === `/v1/uploads/${expired}/parts` ? refuse("UploadTokenExpired") : req.path === `/v1/uploads/${unverified}/parts` ? refuse("UploadTokenInvalid") : undefined);
    // The same upload's checkpoint and handle, kept by an uploader of another deployment in front of the same bucket.
    const preview = `${CHECKPOINT_PREFIX}${encodeURIComponent("https://preview.test")}|listed`;
    await store.set(preview, (await store.get(listedId))!);
    await store.setHandle!(preview, fakeHandle("listed.bin", bytes(4 * 1024, 86)).handle);

    const list = await setup(cos, store).unfinished();
    expect(await idOf(expired)).toBeUndefined();
    expect(await idOf(unverified)).toBeDefined();
    expect(list.map((u) => [u.uploadId, u.resumeOptions?.checkpoint])).toEqual([[listed, listedId]]);
    expect(await store.get(preview)).not.toBeNull(); // not this endpoint's to forget
  });

  it("a failed task whose upload was aborted starts over on resume(), and the new upload's checkpoint keeps the file handle (resumable from unfinished())", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const uploader = setup(cos, store);
    const { handle } = fakeHandle("h.bin", bytes(4 * 1024, 88));
    let completeDown = true;
    cos.intercept = (req) => (completeDown && req.path.endsWith("/complete") ? { status: 502, body: { error: { code: "CosUnavailable", message: "down", requestId: "r" } } } : undefined);
    const task = uploader.upload({ key: "users/test/h.bin", body: handle });
    await task.done.catch(() => undefined);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    expect(store.handles.get(id)).toBe(handle);
    const firstId = task.uploadId!;
    completeDown = false;
    cos.uploads.delete(firstId); // aborted on COS meanwhile
    cos.putDelay = 40;
    task.resume();
    await until(() => task.uploadId !== firstId && (cos.uploads.get(task.uploadId!)?.parts.size ?? 0) >= 1, "the new upload under way");
    task.pause(); // the page closes
    await until(() => task.state === "paused", "paused");
    const entry = (await uploader.unfinished()).find((u) => u.uploadId === task.uploadId);
    expect(entry?.resumeOptions?.body).toBe(handle);
    expect(entry?.resumeOptions?.checkpoint).toBe(id);
  });

  it("a stored checkpoint without the fields a resume reads is no checkpoint (a store's value may be anything)", async () => {
    const store = memoryStore();
    const good = { v: 1, key: "k", uploadId: "u", token: "t", partSize: 1024, partCount: 2, size: 2048, parts: [{ partNumber: 1, etag: '"e"', size: 1024 }], updatedAt: 0 };
    await store.set("good", JSON.stringify(good));
    expect(await loadCheckpoint(store, "good")).toEqual(good);
    const bad = [{ ...good, parts: [null] }, { ...good, parts: [{ partNumber: "1", etag: "e", size: 1 }] }, { ...good, token: undefined }, { ...good, partSize: "1024" }, { ...good, v: 2 }, null, 7];
    for (const [i, value] of bad.entries()) {
      await store.set(`bad-${i}`, JSON.stringify(value));
      expect(await loadCheckpoint(store, `bad-${i}`)).toBeNull();
    }
    await store.set("text", "not json");
    expect(await loadCheckpoint(store, "text")).toBeNull();
  });

  it("cancelling a resumed task that failed because another tab holds the upload leaves that tab's upload alone", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("e.bin", bytes(4 * 1024, 79));
    const uploadId = await reloadAfter(cos, store, { body: handle }, 1);
    const [listed] = await setup(cos, store).unfinished();
    heldElsewhere();
    const task = setup(cos, store).upload(listed.resumeOptions!);
    await task.done.catch(() => undefined);
    expect(task.state).toBe("failed");
    await task.cancel(); // the person dismisses the failed row
    expect(task.state).toBe("cancelled");
    expect(cos.aborted).toEqual([]);
    expect(cos.uploads.has(uploadId)).toBe(true);
    expect(await store.keys(CHECKPOINT_PREFIX)).toHaveLength(1);
  });

  it("a checkpoint of bytes held in memory is refused by id (TypeError): other bytes of that size would pass for them; that checkpoint stays, and the same bytes resume it", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const first = bytes(8 * 1024, 87);
    const uploadId = await reloadAfter(cos, store, { key: "users/test/mem.bin", body: first }, 2);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    const mark = cos.log.length;
    const error = await setup(cos, store).upload({ key: "users/test/mem.bin", body: bytes(8 * 1024, 88), checkpoint: id }).done.catch((e: Error) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/files only/);
    expect(cos.log.slice(mark).filter((r) => r.to === "cos" || r.method === "DELETE")).toEqual([]);
    expect((await loadCheckpoint(store, id))?.uploadId).toBe(uploadId);

    const again = setup(cos, store).upload({ key: "users/test/mem.bin", body: first });
    await again.done;
    expect(again.uploadId).toBe(uploadId);
    expect(cos.objects.get("users/test/mem.bin")).toEqual(first);
  });

  it("a checkpoint made for another endpoint is refused with a TypeError; nothing is uploaded, that checkpoint stays", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("x.bin", bytes(8 * 1024, 83));
    const uploadId = await reloadAfter(cos, store, { body: handle }, 2);
    const [listed] = await setup(cos, store).unfinished();
    const other = new FakeCos();
    const error = await createUploader({ endpoint: "https://other.test", fetch: other.fetch, httpStack: other.stack, store, retry: fast }).upload(listed.resumeOptions!).done.catch((e: Error) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/another endpoint/);
    expect(other.log).toEqual([]);
    expect(JSON.parse((await store.get(listed.resumeOptions!.checkpoint))!).uploadId).toBe(uploadId);
  });

  it("unfinished() keeps a checkpoint rewritten for a new upload of the same file while it asked COS about the old one", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("r.bin", bytes(8 * 1024, 84));
    const old = await reloadAfter(cos, store, { body: handle }, 2);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    cos.uploads.delete(old); // swept
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).includes(`/v1/uploads/${old}/parts`)) await gate;
      return cos.fetch(input, init);
    }) as typeof fetch;
    const listing = createUploader({ endpoint: "https://api.test", fetch: slowFetch, httpStack: cos.stack, store, retry: fast }).unfinished();
    // Meanwhile the same file is uploaded again: its resume finds the old upload gone and starts a new one under the same id.
    cos.putDelay = 20;
    const task = setup(cos, store).upload({ body: handle });
    await until(() => !!task.uploadId && store.handles.has(id), "the new upload's checkpoint and handle");
    release();
    await listing;
    task.pause();
    await new Promise((r) => setTimeout(r, 30));
    expect(JSON.parse((await store.get(id))!).uploadId).toBe(task.uploadId);
    expect(store.handles.has(id)).toBe(true);
  });

  it("resumeOptions of an upload finished meanwhile (its checkpoint gone) fail saying so, not that the file changed", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("f.bin", bytes(4 * 1024, 85));
    await reloadAfter(cos, store, { body: handle }, 1);
    const [listed] = await setup(cos, store).unfinished();
    await store.remove(listed.resumeOptions!.checkpoint); // another tab finished it
    const mark = cos.log.length;
    const error = await setup(cos, store).upload(listed.resumeOptions!).done.catch((e: Error) => e);
    expect((error as Error).message).toBe("f.bin: this upload is no longer unfinished here (completed, cancelled or forgotten); upload the file anew");
    expect(cos.log.slice(mark).filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("resumeOptions of an upload COS no longer holds fail with the functions' 404 instead of uploading the file afresh", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("g.bin", bytes(4 * 1024, 86));
    const uploadId = await reloadAfter(cos, store, { body: handle }, 1);
    const [listed] = await setup(cos, store).unfinished();
    cos.uploads.delete(uploadId); // swept
    const mark = cos.log.length;
    const error = await setup(cos, store).upload(listed.resumeOptions!).done.catch((e: Error) => e);
    expect(error).toMatchObject({ name: "ApiError", status: 404 });
    expect(cos.log.slice(mark).filter((r) => r.method !== "GET")).toEqual([]);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("a failed task lets its Web Lock go; if another tab takes the upload over, cancel leaves it alone and resume fails saying so, sending nothing", async () => {
    const locks = fakeLocks();
    const cos = new FakeCos();
    const store = memoryStore();
    let refusing = true;
    refusePart3(cos, () => refusing);
    const task = setup(cos, store).upload({ key: "users/test/a.bin", body: bytes(8 * 1024, 1) });
    await task.done.catch(() => undefined);
    expect(task.state).toBe("failed");
    refusing = false;
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    expect(locks.held.has(id)).toBe(false);
    locks.elsewhere.add(id); // another tab picked the same file: its upload now
    const mark = cos.log.length;
    task.resume();
    const error = await task.done.catch((e: Error) => e);
    expect((error as Error).message).toBe("users/test/a.bin is already being uploaded, in this tab or another");
    expect(cos.log.slice(mark).filter((r) => r.to === "cos")).toEqual([]);
    await task.cancel();
    expect(task.state).toBe("cancelled");
    expect(cos.aborted).toEqual([]);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([id]);
  });

  it("by checkpoint: a task failed while listing parts, cancelled after another tab took the upload, leaves that tab's checkpoint alone", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const uploadId = await reloadAfter(cos, store, { body: fakeHandle("b.bin", bytes(8 * 1024, 2)).handle }, 2);
    const [listed] = await setup(cos, store).unfinished();
    const locks = fakeLocks();
    cos.intercept = (req) => (req.method === "GET" && req.path.endsWith("/parts") ? { status: 500, body: { error: { code: "Internal", message: "x", requestId: "r" } } } : undefined);
    const task = setup(cos, store).upload(listed.resumeOptions!);
    await task.done.catch(() => undefined);
    expect(task.state).toBe("failed");
    cos.intercept = undefined;
    locks.elsewhere.add(listed.resumeOptions!.checkpoint);
    await task.cancel();
    expect(cos.aborted).toEqual([]);
    expect(cos.uploads.has(uploadId)).toBe(true);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([listed.resumeOptions!.checkpoint]);
    expect(store.handles.size).toBe(1);
  });

  it("a 401 while resuming (the app's login expired) fails the task and keeps the checkpoint and handle for later", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const uploadId = await reloadAfter(cos, store, { body: fakeHandle("d.bin", bytes(8 * 1024, 4)).handle }, 2);
    const [listed] = await setup(cos, store).unfinished();
    cos.intercept = (req) => (req.to === "api" ? { status: 401, body: { error: { code: "Unauthenticated", message: "the JWT has expired", requestId: "r" } } } : undefined);
    const error = await setup(cos, store).upload(listed.resumeOptions!).done.catch((e: Error) => e);
    expect(error).toMatchObject({ name: "ApiError", status: 401 });
    cos.intercept = undefined;
    expect(cos.uploads.has(uploadId)).toBe(true);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([listed.resumeOptions!.checkpoint]);
    expect((await setup(cos, store).unfinished())[0]).toMatchObject({ resumable: true, resumeOptions: expect.anything() });
  });

  it("resumeOptions given to an uploader without a store are a TypeError, not a second upload", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    await reloadAfter(cos, store, { body: fakeHandle("f.bin", bytes(8 * 1024, 6)).handle }, 2);
    const [listed] = await setup(cos, store).unfinished();
    const storeless = createUploaderFor({ stack: () => cos.stack, store: () => undefined, chunkParallelLimit: 2 }, { endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: fast });
    const mark = cos.log.length;
    const error = await storeless.upload(listed.resumeOptions!).done.catch((e: Error) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(cos.log.slice(mark)).toEqual([]);
  });

  it("by checkpoint, failed because the upload is gone, then resumed: the same error again", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const uploadId = await reloadAfter(cos, store, { body: fakeHandle("g.bin", bytes(4 * 1024, 7)).handle }, 1);
    const [listed] = await setup(cos, store).unfinished();
    cos.uploads.delete(uploadId);
    const task = setup(cos, store).upload(listed.resumeOptions!);
    const first = await task.done.catch((e: Error) => e);
    expect(first).toMatchObject({ name: "ApiError", status: 404 });
    task.resume();
    expect(await task.done.catch((e: Error) => e)).toBe(first);
  });

  it("a store that cannot keep handles (Web Storage, memory) still resumes when the file is picked again, but offers no resumeOptions", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const { handle } = fakeHandle("b.bin", bytes(4 * 1024, 73));
    const uploadId = await reloadAfter(cos, store, { body: handle }, 1);
    const [listed] = await setup(cos, store).unfinished();
    expect(listed).toMatchObject({ uploadId, resumable: true, name: "b.bin" });
    expect(listed).not.toHaveProperty("resumeOptions");
  });

  it("a handle without read permission (after a reload) fails at once with a SourceError saying what to do; the client never asks (that needs a click); once the app has asked, a resume uploads", async () => {
    const cos = new FakeCos();
    const body = bytes(4 * 1024, 75);
    const { handle, calls } = fakeHandle("d.bin", body, "prompt", "granted");
    const task = setup(cos, memoryStore()).upload({ key: "users/test/d.bin", body: handle });
    const error = await task.done.catch((e: Error) => e);
    expect(error).toMatchObject({ name: "SourceError", source: "d.bin", cause: { name: "NotAllowedError" } });
    expect((error as Error).message).toMatch(/could not read d\.bin \(no permission to read it: call handle\.requestPermission\(\{ mode: "read" \}\) from a click first\): the person has to allow reading it again/);
    expect(task.state).toBe("failed");
    expect(calls.requestPermission).toBe(0);
    expect(cos.log).toHaveLength(0);
    await handle.requestPermission!({ mode: "read" }); // the app, from a click
    task.resume();
    expect((await task.done).size).toBe(body.length);
    expect(cos.objects.get("users/test/d.bin")).toEqual(body);
  });

  it("a queued handle task reports its file's size as the total before it runs", async () => {
    const cos = new FakeCos();
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, store: memoryStore(), retry: fast, fileParallelLimit: 1 });
    cos.putDelay = 20;
    const first = uploader.upload({ key: "users/test/first.bin", body: bytes(4 * 1024, 76) });
    const { handle } = fakeHandle("e.bin", bytes(5000, 77));
    const queued = uploader.upload({ key: "users/test/e.bin", body: handle });
    await until(() => queued.progress.total === 5000, "the queued task's total");
    expect(queued.state).toBe("queued");
    cos.putDelay = 0;
    await Promise.all([first.done, queued.done]);
  });
});

describe("checkpoints and Web Locks after failures", () => {
  const api401 = { status: 401, body: { error: { code: "Unauthenticated", message: "the JWT has expired", requestId: "r" } } };
  const setupWith = (cos: FakeCos, store: Store, fetch = cos.fetch) => createUploader({ endpoint: "https://api.test", fetch, httpStack: cos.stack, store, retry: fast, chunkParallelLimit: 2 });
  it("the same file while another tab holds its upload: a fresh upload of its own, which a failure and resume finish and cancel aborts", async () => {
    const locks = fakeLocks();
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 1);
    const firstId = await reloadAfter(cos, store, { key: "users/test/a.bin", body }, 2);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    locks.elsewhere.add(id);
    let refusing = true;
    refusePart3(cos, () => refusing);
    const t = setup(cos, store).upload({ key: "users/test/a.bin", body });
    await t.done.catch(() => undefined);
    expect(t.state).toBe("failed");
    expect(t.uploadId).not.toBe(firstId);
    refusing = false;
    t.resume();
    expect((await t.done).size).toBe(8 * 1024);
    cos.putDelay = 30;
    const c = setup(cos, store).upload({ key: "users/test/a.bin", body });
    await until(() => !!c.uploadId, "planned");
    await c.cancel();
    expect(c.state).toBe("cancelled");
    expect(cos.aborted).toContain(c.uploadId);
  });

  it("another caller's checkpoint (NotYourUpload): a fresh upload without a checkpoint, which lets that checkpoint's Web Lock go at once", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 2);
    const firstId = await reloadAfter(cos, store, { key: "users/test/b.bin", body }, 2);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    const locks = fakeLocks();
    cos.intercept = (req) => (req.method === "GET" && req.path.endsWith("/parts") ? { status: 403, body: { error: { code: "NotYourUpload", message: "x", requestId: "r" } } } : undefined);
    cos.putDelay = 30;
    const a = setup(cos, store).upload({ key: "users/test/b.bin", body });
    await until(() => a.state === "uploading", "uploading");
    expect(a.uploadId).not.toBe(firstId);
    expect((await loadCheckpoint(store, id))?.uploadId).toBe(firstId); // the other caller's, untouched
    const heldDuringUpload = locks.held.has(id);
    await a.cancel();
    expect(cos.aborted).toEqual([a.uploadId]);
    expect(locks.held.has(id)).toBe(false); // released at the end
    expect(heldDuringUpload).toBe(false);
  });

  it("a task failed after taking the lock (createUpload 500), resumed while another task holds it, uploads afresh rather than that task's upload", async () => {
    const locks = fakeLocks();
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 3);
    const uploader = setup(cos, store);
    let failCreate = true;
    cos.intercept = (req) => (failCreate && req.path === "/v1/uploads" && req.method === "POST" ? { status: 500, body: { error: { code: "Internal", message: "x", requestId: "r" } } } : undefined);
    const a = uploader.upload({ key: "users/test/c.bin", body });
    await a.done.catch(() => undefined);
    expect(a.state).toBe("failed");
    failCreate = false;
    cos.putDelay = 30;
    const b = uploader.upload({ key: "users/test/c.bin", body });
    await until(() => !!b.uploadId, "b planned");
    expect(locks.held.size).toBe(1); // b holds the fingerprint's lock
    a.resume();
    await until(() => !!a.uploadId, "a planned");
    // Fingerprint semantics: lock held elsewhere => upload afresh, never the holder's upload.
    expect(a.uploadId).not.toBe(b.uploadId);
    await Promise.allSettled([a.cancel(), b.cancel()]);
  });

  it("cancelling a task that failed while resuming (401) aborts the checkpoint's upload and removes the checkpoint: none left alive but forgotten", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 4);
    const firstId = await reloadAfter(cos, store, { key: "users/test/d.bin", body }, 2);
    const uploadId = firstId;
    cos.intercept = (req) => (req.method === "GET" && req.path.endsWith("/parts") ? api401 : undefined);
    const a = setup(cos, store).upload({ key: "users/test/d.bin", body }); // "after a reload"
    await a.done.catch(() => undefined);
    expect(a.state).toBe("failed");
    expect(await store.keys(CHECKPOINT_PREFIX)).toHaveLength(1); // kept, as the commit intends
    cos.intercept = undefined;
    await a.cancel();
    const keys = await store.keys(CHECKPOINT_PREFIX);
    // Either the upload is aborted (cancel's promise) or the checkpoint is kept: not "forgotten but alive".
    expect({ aborted: cos.aborted.includes(uploadId), alive: cos.uploads.has(uploadId), checkpoints: keys.length }).toEqual({ aborted: true, alive: false, checkpoints: 0 });
  });

  it("cancelling a failed task leaves a checkpoint that now names another upload of the same file", async () => {
    fakeLocks();
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 7);
    let refusing = true;
    refusePart3(cos, () => refusing);
    const uploader = setup(cos, store);
    const a = uploader.upload({ key: "users/test/g.bin", body });
    await a.done.catch(() => undefined);
    expect(a.state).toBe("failed");
    cos.uploads.delete(a.uploadId!); // swept by the lifecycle rule
    const b = uploader.upload({ key: "users/test/g.bin", body }); // the same file again: its upload gone, a new one
    await b.done.catch(() => undefined);
    expect(b.state).toBe("failed");
    expect(b.uploadId).not.toBe(a.uploadId);
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    expect((await loadCheckpoint(store, id))?.uploadId).toBe(b.uploadId);
    await a.cancel();
    expect((await loadCheckpoint(store, id))?.uploadId).toBe(b.uploadId); // b's checkpoint must survive a's cancel
  });

  it("offline while completing, the Complete landed but its answer was lost: the task fails, and resume sends Complete again and finishes", async () => {
    const events = new EventTarget();
    const nav = { onLine: true };
    vi.stubGlobal("navigator", nav);
    vi.stubGlobal("addEventListener", events.addEventListener.bind(events));
    vi.stubGlobal("removeEventListener", events.removeEventListener.bind(events));
    const cos = new FakeCos();
    const store = memoryStore();
    let lose = true;
    const fetch: typeof cos.fetch = async (url, init) => {
      if (nav.onLine === false) throw new TypeError("Failed to fetch");
      const r = await cos.fetch(url, init);
      if (lose && String(url).endsWith("/complete")) {
        lose = false;
        nav.onLine = false; // the tunnel, as the answer comes back
        throw new TypeError("Failed to fetch");
      }
      return r;
    };
    const task = setupWith(cos, store, fetch).upload({ key: "users/test/e.bin", body: bytes(4 * 1024, 5) });
    await task.done.catch(() => undefined);
    expect(task.state).toBe("failed");
    expect(cos.objects.has("users/test/e.bin")).toBe(true); // the object IS there
    nav.onLine = true;
    events.dispatchEvent(new Event("online"));
    task.resume();
    const r = await task.done.catch((e: Error) => e);
    expect(r).toMatchObject({ key: "users/test/e.bin" });
  });

  it("without Web Locks (Node), a second task of the same file in one uploader uploads afresh rather than drive the first one's upload; cancelling it aborts only its own", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 11);
    const uploader = setup(cos, store);
    cos.putDelay = 20;
    const a = uploader.upload({ key: "users/test/n.bin", body });
    await until(() => (cos.uploads.get(a.uploadId ?? "")?.parts.size ?? 0) >= 2, "a has 2 parts");
    a.pause(); // a still holds its checkpoint
    const b = uploader.upload({ key: "users/test/n.bin", body });
    await until(() => !!b.uploadId, "b planned");
    expect(b.uploadId).not.toBe(a.uploadId);
    await b.cancel();
    expect(cos.aborted).toEqual([b.uploadId]);
    a.resume();
    expect((await a.done).size).toBe(body.length);
  });

  it("cancelling a task that failed before it had an upload leaves the upload a later task of the same file made, and its checkpoint", async () => {
    fakeLocks();
    const cos = new FakeCos();
    const store = memoryStore();
    const body = bytes(8 * 1024, 12);
    const uploader = setup(cos, store);
    let failCreate = true;
    let refusing = false;
    cos.intercept = (req) => {
      if (failCreate && req.path === "/v1/uploads" && req.method === "POST") return { status: 400, body: { error: { code: "Bad", message: "x", requestId: "r" } } };
      if (refusing && req.to === "cos" && req.query.get("partNumber") === "3") return { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" };
      return undefined;
    };
    const a = uploader.upload({ key: "users/test/f.bin", body });
    await a.done.catch(() => undefined);
    expect(a.state).toBe("failed");
    failCreate = false;
    refusing = true;
    const b = uploader.upload({ key: "users/test/f.bin", body });
    await b.done.catch(() => undefined);
    expect(b.state).toBe("failed");
    const [id] = await store.keys(CHECKPOINT_PREFIX);
    await a.cancel();
    expect(cos.aborted).toEqual([]);
    expect((await loadCheckpoint(store, id))?.uploadId).toBe(b.uploadId);
  });

  it("a run that outlives cancel's wait (a stack that ignores the abort) never writes the checkpoint again", { timeout: 10_000 }, async () => {
    const locks = fakeLocks();
    const cos = new FakeCos();
    const store = memoryStore();
    const stuck: typeof cos.stack = {
      send: async (req) => {
        const r = await cos.stack.send({ ...req, signal: undefined });
        if (req.url.includes("partNumber")) await new Promise((res) => setTimeout(res, 3500));
        return r;
      },
    };
    const task = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: stuck, store, retry: fast, chunkParallelLimit: 2 }).upload({ key: "users/test/s.bin", body: bytes(8 * 1024, 15) });
    await until(() => (cos.uploads.get(task.uploadId ?? "")?.parts.size ?? 0) >= 1, "a part reached COS");
    await task.cancel();
    expect(cos.aborted).toEqual([task.uploadId]);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
    expect(locks.held.size).toBe(0);
    await new Promise((r) => setTimeout(r, 1000)); // the stuck parts answer
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  /** A fetch whose answer to POST /v1/uploads (the upload already made) comes `ms` late. */
  const slowCreate = (cos: FakeCos, ms: number) =>
    (async (input: RequestInfo | URL, init?: RequestInit) => {
      const answer = await cos.fetch(input, init);
      if (init?.method === "POST" && String(input).endsWith("/v1/uploads")) await new Promise((r) => setTimeout(r, ms));
      return answer;
    }) as typeof fetch;

  it("paused or cancelled while the upload is being created: the upload made is kept for the resume, or aborted once, never left behind", async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const paused = setupWith(cos, store, slowCreate(cos, 150)).upload({ key: "users/test/p.bin", body: bytes(8 * 1024, 14) });
    await until(() => cos.uploads.size === 1, "the upload made");
    paused.pause();
    paused.resume();
    await paused.done;
    expect(paused.key).toBe("users/test/p.bin"); // known from the plan that arrived while paused
    expect(paused.uploadId).toBeDefined();
    expect(cos.log.filter((r) => r.method === "POST" && r.path === "/v1/uploads")).toHaveLength(1);
    const cancelled = setupWith(cos, store, slowCreate(cos, 150)).upload({ key: "users/test/c.bin", body: bytes(8 * 1024, 13) });
    await until(() => cos.uploads.size === 1, "the upload made");
    await cancelled.cancel();
    expect(cos.uploads.size).toBe(0);
    expect(cos.log.filter((r) => r.method === "DELETE")).toHaveLength(1); // once: the run that got the answer and cancel both come to it
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("cancelled while the upload is being created, and its answer comes after cancel stopped waiting: that upload is aborted when it does", { timeout: 10_000 }, async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const task = setupWith(cos, store, slowCreate(cos, 3500)).upload({ key: "users/test/late.bin", body: bytes(8 * 1024, 16) });
    await until(() => cos.uploads.size === 1, "the upload made");
    const uploadId = [...cos.uploads.keys()][0];
    await task.cancel(); // gives up waiting for the run after 3 s
    expect(task.state).toBe("cancelled");
    await until(() => cos.aborted.includes(uploadId), "the late upload aborted", 3000);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });
  /** A handle whose file takes `slow.ms` to open. */
  const slowHandle = (name: string, body: Uint8Array, slow: { ms: number }): FileHandle => ({
    kind: "file",
    name,
    async getFile() {
      await new Promise((r) => setTimeout(r, slow.ms));
      return new File([body as Uint8Array<ArrayBuffer>], name, { lastModified: 1_700_000_000_000 });
    },
  });

  it("a resumed run that outlives cancel's wait (reopening its file) and takes the claim again lets it go when it stops", { timeout: 15_000 }, async () => {
    const locks = fakeLocks();
    const cos = new FakeCos();
    const store = memoryStore();
    const slow = { ms: 0 };
    const body = bytes(8 * 1024, 21);
    const handle = slowHandle("d1.bin", body, slow);
    const uploader = setupWith(cos, store);
    let refusing = true;
    refusePart3(cos, () => refusing);
    const task = uploader.upload({ key: "users/test/d1.bin", body: handle });
    await task.done.catch(() => undefined);
    expect(task.state).toBe("failed");
    await until(() => locks.held.size === 0, "the failed task's claim released");
    refusing = false;
    slow.ms = 3500; // the resumed run reopens the file (cleanup dropped the source)
    task.resume();
    await new Promise((r) => setTimeout(r, 50)); // the resumed run is reopening the file
    await task.cancel(); // gives up waiting after 3 s: aborts, removes, releases
    expect(locks.held.size).toBe(0);
    await new Promise((r) => setTimeout(r, 1000)); // the late run goes on
    expect(locks.held.size).toBe(0);
  });

  it("without Web Locks, after such a late run the id is free again: a new task of the same file keeps a checkpoint", { timeout: 15_000 }, async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const slow = { ms: 0 };
    const body = bytes(8 * 1024, 22);
    const handle = slowHandle("d1b.bin", body, slow);
    const uploader = setupWith(cos, store);
    let refusing = true;
    refusePart3(cos, () => refusing);
    const task = uploader.upload({ key: "users/test/d1b.bin", body: handle });
    await task.done.catch(() => undefined);
    refusing = false;
    slow.ms = 3500;
    task.resume();
    await new Promise((r) => setTimeout(r, 50));
    await task.cancel();
    await new Promise((r) => setTimeout(r, 1000));
    slow.ms = 0;
    cos.putDelay = 30;
    const again = uploader.upload({ key: "users/test/d1b.bin", body: handle });
    await until(() => (cos.uploads.get(again.uploadId ?? "")?.parts.size ?? 0) >= 2, "2 parts");
    expect(await store.keys(CHECKPOINT_PREFIX)).toHaveLength(1);
    await again.cancel();
  });

  it("a create answering while cancel removes the checkpoint (a slow store) does not write it back", { timeout: 15_000 }, async () => {
    const cos = new FakeCos();
    const base = memoryStore();
    let created = false;
    const store: Store = {
      ...base,
      async remove(key) {
        await until(() => created, "create answered", 5000); // a slow store: the remove outlasts the answer
        await new Promise((r) => setTimeout(r, 50));
        await base.remove(key);
      },
    };
    const slowFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const answer = await cos.fetch(input, init);
      if (init?.method === "POST" && String(input).endsWith("/v1/uploads")) {
        await new Promise((r) => setTimeout(r, 3200));
        created = true;
      }
      return answer;
    }) as typeof fetch;
    const task = setupWith(cos, store, slowFetch).upload({ key: "users/test/d2.bin", body: bytes(8 * 1024, 23) });
    await until(() => cos.uploads.size === 1, "the upload made");
    const uploadId = [...cos.uploads.keys()][0];
    await task.cancel();
    await until(() => cos.aborted.includes(uploadId), "aborted by the late run", 3000);
    await new Promise((r) => setTimeout(r, 200));
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("a store write that hangs does not keep a failed task's done pending", { timeout: 10_000 }, async () => {
    const cos = new FakeCos();
    const base = memoryStore();
    let sets = 0;
    const store: Store = { ...base, set: (k, v) => (++sets >= 2 ? new Promise(() => undefined) : base.set(k, v)) };
    refusePart3(cos, () => true);
    const task = setupWith(cos, store).upload({ key: "users/test/d3.bin", body: bytes(8 * 1024, 24) });
    const settled = await Promise.race([task.done.then(() => "resolved", () => "rejected"), new Promise((r) => setTimeout(() => r("pending"), 5000))]);
    expect(task.state).toBe("failed");
    expect(settled).toBe("rejected");
  });

  it("a late run that ends while cancel aborts on COS does not release the claim under cancel: the checkpoint is removed", { timeout: 15_000 }, async () => {
    fakeLocks();
    const cos = new FakeCos();
    const store = memoryStore();
    const slow = { ms: 0 };
    const handle = slowHandle("r1.bin", bytes(8 * 1024, 31), slow);
    const slowAbort = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === "DELETE") await new Promise((r) => setTimeout(r, 1000)); // the abort takes 1 s
      return cos.fetch(input, init);
    }) as typeof fetch;
    const uploader = setupWith(cos, store, slowAbort);
    let refusing = true;
    refusePart3(cos, () => refusing);
    const task = uploader.upload({ key: "users/test/r1.bin", body: handle });
    await task.done.catch(() => undefined);
    const uploadId = task.uploadId!;
    refusing = false;
    slow.ms = 3500;
    task.resume();
    await new Promise((r) => setTimeout(r, 50));
    await task.cancel();
    expect(cos.aborted).toContain(uploadId);
    expect(await store.keys(CHECKPOINT_PREFIX)).toEqual([]);
  });

  it("cancelling a failed task whose claim release hangs (a hung store write) settles", { timeout: 10_000 }, async () => {
    const cos = new FakeCos();
    const base = memoryStore();
    let sets = 0;
    const store: Store = { ...base, set: (k, v) => (++sets >= 2 ? new Promise(() => undefined) : base.set(k, v)) };
    refusePart3(cos, () => true);
    const task = setupWith(cos, store).upload({ key: "users/test/r2.bin", body: bytes(8 * 1024, 32) });
    await task.done.catch(() => undefined);
    expect(task.state).toBe("failed");
    const settled = await Promise.race([task.cancel().then(() => "settled"), new Promise((r) => setTimeout(() => r("pending"), 7000))]);
    expect(settled).toBe("settled");
  });

  /** A store whose writes take `ms` once part 1 is sent (until `slow.on` is cleared), and COS refusing part 3. */
  const slowWritesThenRefusal = (cos: FakeCos, ms: number) => {
    const base = memoryStore();
    const slow = { on: false };
    const store: Store = {
      ...base,
      async set(key, value) {
        if (slow.on) await new Promise((r) => setTimeout(r, ms));
        await base.set(key, value);
      },
    };
    cos.intercept = (req) => {
      if (req.to === "cos" && req.query.get("partNumber") === "1") slow.on = true;
      return req.to === "cos" && req.query.get("partNumber") === "3" ? { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" } : undefined;
    };
    return { store, slow };
  };

  it("upload() of the same file again from done.catch, while a checkpoint write is in flight, resumes the failed upload", { timeout: 15_000 }, async () => {
    const cos = new FakeCos();
    const { store } = slowWritesThenRefusal(cos, 300);
    const uploader = setupWith(cos, store);
    const body = bytes(8 * 1024, 33);
    const a = uploader.upload({ key: "users/test/r3.bin", body });
    const b = await a.done.then(
      () => undefined,
      () => {
        cos.intercept = undefined;
        return uploader.upload({ key: "users/test/r3.bin", body });
      },
    );
    await b!.done;
    expect(b!.uploadId).toBe(a.uploadId); // resumed a's upload
  });

  it("resumed while the release is slow, then cancelled: the upload is aborted and the claim let go", { timeout: 20_000 }, async () => {
    const locks = fakeLocks();
    const cos = new FakeCos();
    const { store, slow } = slowWritesThenRefusal(cos, 3500);
    const task = setupWith(cos, store).upload({ key: "users/test/r4.bin", body: bytes(8 * 1024, 34) });
    await task.done.catch(() => undefined);
    cos.intercept = undefined;
    slow.on = false;
    const uploadId = task.uploadId!;
    task.resume();
    await new Promise((r) => setTimeout(r, 20)); // the resumed run is in retake, waiting for the release
    await task.cancel();
    await new Promise((r) => setTimeout(r, 500));
    expect(cos.aborted).toContain(uploadId);
    expect(locks.held.size).toBe(0);
  });

  it("a late run that reopens a { path } body after cancel's cleanup closes it", { timeout: 15_000 }, async () => {
    const cos = new FakeCos();
    const store = memoryStore();
    const slow = { ms: 0 };
    let opened = 0, closed = 0;
    const data = bytes(8 * 1024, 35);
    const src = () => ({ size: data.length, name: "r5.bin", lastModified: 1_700_000_000_000, slice: async (s: number, e: number) => data.slice(s, e), close: async () => void closed++ });
    const uploader = createUploaderFor(
      { stack: () => cos.stack, store: () => store, chunkParallelLimit: 2, openPath: async () => { await new Promise((r) => setTimeout(r, slow.ms)); opened++; return src(); } } as never,
      { endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, store, retry: fast, chunkParallelLimit: 2 } as never,
    );
    let refusing = true;
    refusePart3(cos, () => refusing);
    const task = uploader.upload({ key: "users/test/r5.bin", body: { path: "/r5.bin" } } as never);
    await task.done.catch(() => undefined);
    expect(task.state).toBe("failed");
    refusing = false;
    slow.ms = 3500;
    task.resume();
    await new Promise((r) => setTimeout(r, 50));
    await task.cancel();
    await new Promise((r) => setTimeout(r, 1500));
    expect(opened).toBe(2);
    expect(closed).toBe(opened);
  });
});
