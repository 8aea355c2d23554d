// The client's browser entry (client/index.ts) in real Chromium: the XHR stack against the functions
// in workerd and cos-local, cross-origin as in production (page, functions and cos-local on three
// origins). The bytes are random, made in the page; the page hashes them (SHA-256, Web Crypto) and
// the test compares that with what cos-local returns.

import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { corsHidingEtag, partsSettled, useBrowserHarness, writeOpfsFile } from "./harness";

const MiB = 1024 * 1024;
const rig = useBrowserHarness();

interface PageUpload {
  result?: { key: string; etag: string; size: number; crc64?: string };
  error?: { name: string; message: string };
  sha256: string;
  reports: { loaded: number; total: number; percent: number }[];
  states: string[];
  ms: number;
}

/**
 * Uploads `size` random bytes as `key` from the page; with `pauseAt` (a fraction), pauses once that
 * much is accepted and resumes after `pauseMs`.
 */
function uploadInPage(page: Page, args: { endpoint: string; token: string; key: string; size: number; pauseAt?: number; pauseMs?: number }): Promise<PageUpload> {
  return page.evaluate(async ({ endpoint, token, key, size, pauseAt, pauseMs }) => {
    const { createUploader } = (window as any).cosDirect;
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
    const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
    const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
    const body = new Blob([bytes], { type: "application/octet-stream" });
    const uploader = createUploader({ endpoint, getToken: () => token, sliceSize: 1024 * 1024, chunkParallelLimit: 3 });
    const reports: PageUpload["reports"] = [];
    const states: string[] = [];
    let paused = false;
    const started = performance.now();
    const task = uploader.upload({
      key,
      body,
      onProgress: (p: PageUpload["reports"][number]) => {
        reports.push({ loaded: p.loaded, total: p.total, percent: p.percent });
        if (pauseAt !== undefined && !paused && p.loaded >= size * pauseAt) {
          paused = true;
          task.pause();
          setTimeout(() => task.resume(), pauseMs ?? 300);
        }
      },
      onStateChange: (state: string) => states.push(state),
    });
    try {
      const result = await task.done;
      return { result, sha256, reports, states, ms: performance.now() - started };
    } catch (e) {
      const error = e as Error;
      return { error: { name: error.name, message: error.message }, sha256, reports, states, ms: performance.now() - started };
    }
  }, args);
}

function expectMonotonicToTotal(reports: PageUpload["reports"], total: number): void {
  expect(reports.length).toBeGreaterThan(0);
  for (let i = 1; i < reports.length; i++) expect(reports[i].loaded).toBeGreaterThanOrEqual(reports[i - 1].loaded);
  for (const r of reports) {
    expect(r.loaded).toBeLessThanOrEqual(total);
    expect(r.total).toBe(total);
  }
  expect(reports.at(-1)).toMatchObject({ loaded: total, percent: 100 });
}

describe("the client in Chromium", () => {
  it("uploads a single PUT and a multipart upload with XHR; the bytes read back are identical", async () => {
    const { client } = rig();
    const page = await rig().page();
    const token = await client.token("alice");
    const lines: string[] = [];
    for (const [key, size] of [["users/alice/browser/single.bin", 300 * 1024], ["users/alice/browser/multi.bin", 5 * MiB + 123]] as const) {
      const run = await uploadInPage(page, { endpoint: client.endpoint, token, key, size });
      expect(run.error, JSON.stringify(run.error)).toBeUndefined();
      expect(run.result).toMatchObject({ key, size });
      expect(run.result!.crc64).toMatch(/^\d+$/);
      expectMonotonicToTotal(run.reports, size);
      expect(await client.readBackSha256(key)).toBe(run.sha256);
      lines.push(`${key}: ${size} bytes, ${run.reports.length} progress reports, SHA-256 read back = ${run.sha256}`);
    }
    expect(await page.evaluate(() => typeof XMLHttpRequest)).toBe("function");
    await rig().screenshot(page, "client-uploads", lines.join("\n"));
  });

  it("pauses a multipart upload mid-way and resumes it to identical bytes", async () => {
    const { client } = rig();
    const page = await rig().page();
    client.resetCounters();
    const key = "users/alice/browser/paused.bin";
    const size = 12 * MiB;
    // A slower cos-local, so the pause lands while parts are in flight.
    client.fault({ kind: "delay", method: "PUT", query: "partNumber", delayMs: 150, count: 100 });
    try {
      const run = await uploadInPage(page, { endpoint: client.endpoint, token: await client.token("alice"), key, size, pauseAt: 0.3, pauseMs: 500 });
      expect(run.error, JSON.stringify(run.error)).toBeUndefined();
      expect(run.states).toContain("paused");
      expect(run.states.at(-1)).toBe("done");
      expectMonotonicToTotal(run.reports, size);
      expect(await client.readBackSha256(key)).toBe(run.sha256);
      expect(await client.listUploads()).not.toContainEqual(expect.objectContaining({ key }));
    } finally {
      client.clearFaults();
    }
  });

  it("a file deleted from disk while it uploads fails at once with a SourceError naming it, not as a network error after retries", async () => {
    const { client } = rig();
    const page = await rig().page();
    const dir = await mkdtemp(join(tmpdir(), "browser-gone-"));
    const path = join(dir, "vanishing.bin");
    await writeFile(path, new Uint8Array(8 * MiB).map((_, i) => i * 7));
    // Slow parts, so most of the file is still to be read when it disappears.
    client.fault({ kind: "delay", method: "PUT", query: "partNumber", delayMs: 300, count: 100 });
    try {
      await page.evaluate(() => document.body.insertAdjacentHTML("beforeend", `<input type="file" id="gone">`));
      await page.setInputFiles("#gone", path);
      await page.evaluate(({ endpoint, token }) => {
        const w = window as any;
        const file = (document.getElementById("gone") as HTMLInputElement).files![0];
        const uploader = w.cosDirect.createUploader({ endpoint, getToken: () => token, sliceSize: 1024 * 1024, partSize: 1024 * 1024, chunkParallelLimit: 2 });
        const started = performance.now();
        w.gone = uploader.upload({ key: "users/alice/browser/vanishing.bin", body: file }).done.then(
          () => ({ ok: true }),
          (e: Error) => ({ name: e.name, message: e.message, ms: performance.now() - started }),
        );
      }, { endpoint: client.endpoint, token: await client.token("alice") });
      await rm(path);
      const outcome = await page.evaluate(() => (window as any).gone);
      expect(outcome.name, JSON.stringify(outcome)).toBe("SourceError");
      expect(outcome.message).toMatch(/^could not read vanishing\.bin .*moved, deleted or changed while uploading/);
      // The default retry policy (5 attempts, backoff from 500 ms) would take seconds per part.
      expect(outcome.ms).toBeLessThan(5_000);
      await rig().screenshot(page, "client-file-gone", `${outcome.name} after ${Math.round(outcome.ms)} ms:\n${outcome.message}`);
    } finally {
      client.clearFaults();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("offline mid-upload for longer than every retry would take, the upload waits and completes once back online", async () => {
    const { client } = rig();
    const page = await rig().page();
    const key = "users/alice/browser/offline.bin";
    const size = 12 * MiB;
    client.fault({ kind: "delay", method: "PUT", query: "partNumber", delayMs: 100, count: 1000 });
    try {
      await page.evaluate(({ endpoint, token, key, size }) => {
        const w = window as any;
        const bytes = new Uint8Array(size);
        for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
        w.sha256 = crypto.subtle.digest("SHA-256", bytes).then((d) => [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, "0")).join(""));
        // Retries that give up within a quarter of a second once online.
        const uploader = w.cosDirect.createUploader({ endpoint, getToken: () => token, chunkParallelLimit: 2, retry: { attempts: 3, baseDelay: 20, maxDelay: 50 } });
        w.task = uploader.upload({ key, body: new Blob([bytes]) });
        w.outcome = w.task.done.then((r: unknown) => ({ result: r }), (e: Error) => ({ error: `${e.name}: ${e.message}` }));
      }, { endpoint: client.endpoint, token: await client.token("alice"), key, size });
      await expect.poll(() => page.evaluate(() => (window as any).task.progress.loaded), { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(2 * MiB);
      await page.context().setOffline(true);
      await new Promise((r) => setTimeout(r, 1500));
      const offline = await page.evaluate(() => ({ onLine: navigator.onLine, state: (window as any).task.state, loaded: (window as any).task.progress.loaded }));
      expect(offline).toMatchObject({ onLine: false, state: "uploading" });
      await page.context().setOffline(false);
      const outcome = await page.evaluate(() => (window as any).outcome);
      expect(outcome.error).toBeUndefined();
      expect(outcome.result.size).toBe(size);
      expect(await client.readBackSha256(key)).toBe(await page.evaluate(() => (window as any).sha256));
    } finally {
      await page.context().setOffline(false);
      client.clearFaults();
    }
  });

  it("indexedDbStore keeps checkpoints and file handles across a reload; remove() drops both", async () => {
    const page = await rig().page();
    const stored = async () =>
      page.evaluate(async () => {
        const store = (window as any).cosDirect.indexedDbStore("store-contract");
        const handle = await store.getHandle("cos-direct:upload:a");
        return { keys: await store.keys("cos-direct:upload:"), a: await store.get("cos-direct:upload:a"), other: await store.get("other"), handle: handle && { isHandle: handle instanceof FileSystemFileHandle, name: handle.name, text: handle && (await (await handle.getFile()).text()) } };
      });
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const handle = await root.getFileHandle("kept.txt", { create: true });
      const writable = await handle.createWritable();
      await writable.write("kept bytes");
      await writable.close();
      const store = (window as any).cosDirect.indexedDbStore("store-contract");
      await store.set("cos-direct:upload:a", "first");
      await store.set("cos-direct:upload:a", "second");
      await store.set("cos-direct:upload:b", "b");
      await store.set("other", "not a checkpoint");
      await store.setHandle("cos-direct:upload:a", handle);
    });
    await page.reload();
    await page.waitForFunction(() => (window as any).ready === true);
    const before = await stored();
    expect(before.keys.sort()).toEqual(["cos-direct:upload:a", "cos-direct:upload:b"]);
    expect(before).toMatchObject({ a: "second", other: "not a checkpoint", handle: { isHandle: true, name: "kept.txt", text: "kept bytes" } });
    await page.evaluate(() => (window as any).cosDirect.indexedDbStore("store-contract").remove("cos-direct:upload:a"));
    expect(await stored()).toMatchObject({ keys: ["cos-direct:upload:b"], a: null, handle: null });
  });

  it("indexedDbStore over its quota: a write fails with the browser's QuotaExceededError (not a hang), and uploads with that store still complete", async () => {
    const { client } = rig();
    const page = await rig().page();
    const origin = new URL(page.url()).origin;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 1 }); // every write refused
    try {
      const token = await client.token("alice", 3600);
      const outcome = await page.evaluate(async ({ endpoint, token }) => {
        const w = window as any;
        const store = w.cosDirect.indexedDbStore("over-quota");
        const refused = await store.set("cos-direct:upload:first", "x".repeat(1024)).then(() => "written", (e: Error) => e.name);
        // The same store, its refused writes noted: the upload's checkpoint writes fail too.
        const failedWrites: string[] = [];
        const noting = { ...store, set: (key: string, value: string) => store.set(key, value).catch((e: Error) => failedWrites.push(e.name) && Promise.reject(e)) };
        const uploader = w.cosDirect.createUploader({ endpoint, getToken: () => token, store: noting });
        const body = new Uint8Array(5 * 1024 * 1024 + 7).map((_, i) => i % 251);
        const result = await uploader.upload({ key: "users/alice/over-quota.bin", body: new File([body], "over-quota.bin") }).done;
        return { refused, failedWrites, size: result.size, key: result.key, kept: await store.keys("") };
      }, { endpoint: client.endpoint, token });
      // Its checkpoint writes failed too, without failing or holding the upload.
      expect(outcome).toMatchObject({ refused: "QuotaExceededError", size: 5 * MiB + 7, kept: [] });
      expect(outcome.failedWrites.length).toBeGreaterThan(0);
      expect(new Set(outcome.failedWrites)).toEqual(new Set(["QuotaExceededError"]));
      expect(await client.readBackSha256(outcome.key)).toBe(createHash("sha256").update(Uint8Array.from({ length: 5 * MiB + 7 }, (_, i) => i % 251)).digest("hex"));
    } finally {
      await cdp.send("Storage.overrideQuotaForOrigin", { origin });
    }
  });

  it("a file handle upload, reloaded mid-way, resumes from unfinished() without the file being picked again; no finished part is sent twice", async () => {
    const { client } = rig();
    const page = await rig().page();
    client.resetCounters();
    const size = 12 * MiB;
    const endpoint = client.endpoint;
    const token = await client.token("alice", 3600);
    const sha256 = await writeOpfsFile(page, "picked.bin", size);
    client.fault({ kind: "delay", method: "PUT", query: "partNumber", delayMs: 150, count: 1000 });
    try {
      await page.evaluate(({ endpoint, token }) => {
        const w = window as any;
        navigator.storage.getDirectory().then(async (root) => {
          const uploader = w.cosDirect.createUploader({ endpoint, getToken: () => token, store: w.cosDirect.indexedDbStore(), chunkParallelLimit: 2 });
          w.task = uploader.upload({ body: await root.getFileHandle("picked.bin") });
        });
      }, { endpoint, token });
      await expect.poll(() => page.evaluate(() => (window as any).task?.progress.loaded ?? 0), { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(4 * MiB);
      await page.reload();
      await page.waitForFunction(() => (window as any).ready === true);
      client.clearFaults();
      await partsSettled(client); // a part landing after the resume's listing would be sent again
      const outcome = await page.evaluate(async ({ endpoint, token }) => {
        const w = window as any;
        const uploader = w.cosDirect.createUploader({ endpoint, getToken: () => token, store: w.cosDirect.indexedDbStore() });
        const [listed] = (await uploader.unfinished()).filter((u: any) => u.name === "picked.bin");
        const options = listed.resumeOptions;
        const seen = { filename: options.filename, isHandle: options.body instanceof FileSystemFileHandle, bytesDone: listed.bytesDone };
        const result = await uploader.upload(options).done;
        const left = (await uploader.unfinished()).filter((u: any) => u.uploadId === listed.uploadId);
        const store = w.cosDirect.indexedDbStore();
        return { seen, result, left, checkpoints: await store.keys("cos-direct:upload:"), handle: await store.getHandle(options.checkpoint) };
      }, { endpoint, token });
      expect(outcome.seen).toMatchObject({ filename: "picked.bin", isHandle: true });
      expect(outcome.seen.bytesDone).toBeGreaterThanOrEqual(2 * MiB);
      expect(outcome.result.size).toBe(size);
      expect(await client.readBackSha256(outcome.result.key)).toBe(sha256);
      // One multipart upload, resumed: each of its 12 parts reached COS once.
      const perUpload = Object.values(client.counters().parts);
      expect(perUpload).toHaveLength(1);
      expect(Object.values(perUpload[0]).sort()).toEqual(Array(12).fill(1));
      expect(outcome.left).toEqual([]);
      expect(outcome.checkpoints).toEqual([]);
      expect(outcome.handle).toBeNull(); // the handle went with its checkpoint
      await rig().screenshot(page, "client-file-handle-resumed", `resumed after a reload from its file handle: ${outcome.result.key}, ${outcome.result.size} bytes`);
    } finally {
      client.clearFaults();
    }
  });

  it("fails within seconds with the CORS message when the bucket's CORS hides ETag", async () => {
    const { client, origin } = rig();
    await rig().setBucketCors(corsHidingEtag(origin));
    try {
      const page = await rig().page();
      const run = await uploadInPage(page, { endpoint: client.endpoint, token: await client.token("alice"), key: "users/alice/browser/cors.bin", size: 3 * MiB });
      expect(run.result).toBeUndefined();
      expect(run.error?.name).toBe("CorsError");
      expect(run.error?.message).toMatch(/ETag/);
      expect(run.error?.message).toMatch(/ExposeHeader/);
      expect(run.ms).toBeLessThan(10_000);
      await rig().screenshot(page, "client-cors-hides-etag", `${run.error?.name} after ${Math.round(run.ms)} ms:\n${run.error?.message}`);
    } finally {
      await rig().setBucketCors(null);
    }
  });
});
