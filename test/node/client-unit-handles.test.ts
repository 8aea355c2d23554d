// File handles as bodies (client/sources.ts, checkpoint.ts, uploader.ts unfinished()): a store that
// keeps handles (indexedDbStore in browsers; here a memory store with setHandle/getHandle) keeps the
// body's handle with its checkpoint, and after a "reload" (a new uploader) unfinished() hands back
// the upload() options that resume it without the file being picked again. The read permission a
// handle loses on reload is asked for again; a refusal is a SourceError. The real thing, IndexedDB
// and FileSystemFileHandle in Chromium, is in test/browser/client.test.ts.

import { describe, expect, it } from "vitest";
import { CHECKPOINT_PREFIX } from "../../client/checkpoint";
import { createUploader, memoryStore } from "../../client/node";
import type { FileHandle, Store } from "../../client/types";
import { bytes } from "../shared/bytes";
import { FakeCos, until } from "./client-fake";

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

/** A handle over `body` whose read permission starts as `permission`; requestPermission answers `answer`. */
function fakeHandle(name: string, body: Uint8Array, permission = "granted", answer = "granted") {
  const calls = { requestPermission: 0, getFile: 0 };
  const handle: FileHandle = {
    kind: "file",
    name,
    async getFile() {
      calls.getFile++;
      if (permission !== "granted") throw Object.assign(new Error("not allowed"), { name: "NotAllowedError" });
      return new File([body as Uint8Array<ArrayBuffer>], name, { lastModified: 1_700_000_000_000 });
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

/** Starts uploading `handle`, lets `parts` parts reach COS, then abandons it (as a reload would). */
async function reloadAfter(cos: FakeCos, store: Store, options: { key?: string; body: FileHandle }, parts: number) {
  cos.putDelay = 20;
  const task = setup(cos, store).upload(options);
  await until(() => (cos.uploads.get(task.uploadId ?? "")?.parts.size ?? 0) >= parts, `${parts} parts in COS`);
  task.pause();
  cos.putDelay = 0;
  await new Promise((r) => setTimeout(r, 20)); // the checkpoint write settles
  return task.uploadId!;
}

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
    // Named as the first upload named it (by file name, the functions chose the key): same fingerprint.
    expect(listed.resumeOptions).toEqual({ filename: "photo.raw", body: handle });

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

  it("an upload named by key resumes by that key", async () => {
    const cos = new FakeCos();
    const store = handleStore();
    const { handle } = fakeHandle("a.bin", bytes(4 * 1024, 72));
    await reloadAfter(cos, store, { key: "users/test/by-key.bin", body: handle }, 1);
    const [listed] = await setup(cos, store).unfinished();
    expect(listed.resumeOptions).toEqual({ key: "users/test/by-key.bin", body: handle });
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

  it("a handle whose read permission was lost asks for it again, once, and uploads when it is granted", async () => {
    const cos = new FakeCos();
    const body = bytes(3 * 1024 + 5, 74);
    const { handle, calls } = fakeHandle("c.bin", body, "prompt", "granted");
    const result = await setup(cos, memoryStore()).upload({ key: "users/test/c.bin", body: handle }).done;
    expect(cos.objects.get(result.key)).toEqual(body);
    expect(calls.requestPermission).toBe(1);
  });

  it("a refused read permission fails the upload at once with a SourceError naming the file and what to do; nothing is sent", async () => {
    const cos = new FakeCos();
    const { handle, calls } = fakeHandle("d.bin", bytes(4 * 1024, 75), "prompt", "denied");
    const task = setup(cos, memoryStore()).upload({ key: "users/test/d.bin", body: handle });
    const error = await task.done.catch((e: Error) => e);
    expect(error).toMatchObject({ name: "SourceError", source: "d.bin" });
    expect((error as Error).message).toMatch(/could not read d\.bin .*not allowed to read it; resume from a click and allow access/);
    expect(task.state).toBe("failed");
    expect(calls.requestPermission).toBe(1);
    expect(cos.log.filter((r) => r.to === "cos")).toHaveLength(0);
    expect(cos.log.filter((r) => r.path === "/v1/uploads")).toHaveLength(0);
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
