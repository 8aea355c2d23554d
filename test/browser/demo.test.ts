// The demo page (demo/, served by scripts/demo-server.ts's routes) in Chromium, against the functions
// in workerd and cos-local (issue 5 "End-to-end tests"). Files are real files on disk picked through
// the file input, so a file picked again after a reload is the same File (name, size, lastModified).
// cos-local is slowed a little per part where a test needs to act mid-upload.

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_SUBJECT, demoRoutes, serveRoutes } from "../../scripts/demo-server";
import { corsHidingEtag, partsSettled, useBrowserHarness, writeOpfsFile } from "./harness";

const MiB = 1024 * 1024;
const rig = useBrowserHarness({ routes: (client) => demoRoutes({ api: client.endpoint, token: (sub, ttl) => client.token(sub, ttl) }) });

let dir: string;
const files: Record<string, { path: string; sha256: string; size: number }> = {};
async function file(name: string, size: number) {
  const bytes = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, bytes);
  files[name] = { path, sha256: createHash("sha256").update(bytes).digest("hex"), size };
  return files[name];
}
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "demo-e2e-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function openDemo(init?: () => void): Promise<Page> {
  const page = await rig().page("/", init);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

/** The row of the upload of `name` (the newest, when the file was picked twice). */
const row = (page: Page, name: string) => page.locator(".upload", { has: page.locator(".name", { hasText: new RegExp(`^${name.replace(/\./g, "\\.")}$`) }) }).first();
const percentOf = async (page: Page, name: string) => Number(await row(page, name).locator("progress").getAttribute("value"));
async function waitPercent(page: Page, name: string, atLeast: number): Promise<void> {
  await expect.poll(() => percentOf(page, name), { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(atLeast);
}
const stateOf = (page: Page, name: string) => row(page, name).getAttribute("data-state");

/** The object's bytes, read back from cos-local through a presigned GET, as SHA-256. */
async function readBackSha(page: Page, name: string): Promise<string> {
  const key = (await row(page, name).locator(".key").textContent())!;
  return rig().client.readBackSha256(key, DEMO_SUBJECT);
}

/** Slows every part PUT by `ms` on cos-local (so a click lands mid-upload); cleared after each test. */
const slowParts = (ms: number) => rig().client.fault({ kind: "delay", method: "PUT", query: "partNumber", delayMs: ms, count: 10_000 });
afterEach(() => rig().client.clearFaults());

/** A fresh demo page uploading a new `size`-byte file `name` with parts slowed, once `percent` of it is sent. */
async function uploadUntil(name: string, size: number, percent: number) {
  const f = await file(name, size);
  rig().client.resetCounters();
  const page = await openDemo();
  slowParts(80);
  await page.setInputFiles("#files", f.path);
  await waitPercent(page, name, percent);
  return { f, page, client: rig().client };
}

describe("the demo page in Chromium", () => {
  it("uploads three files at once (one of 50 MB in parts), pauses and resumes the big one; the bytes read back are identical", async () => {
    const big = await file("big-50mb.bin", 50 * MiB);
    const small = await file("small.txt", 200 * 1024);
    const medium = await file("medium.bin", 3 * MiB + 17);
    const page = await openDemo();
    // The default rules are right for this page: no setup notice.
    expect(await page.locator("#setup").isHidden()).toBe(true);
    slowParts(60);
    await page.setInputFiles("#files", [big.path, small.path, medium.path]);
    await waitPercent(page, "big-50mb.bin", 20);
    // From the keyboard: Enter on Pause; focus moves on to Resume, not back to the page.
    await row(page, "big-50mb.bin").getByRole("button", { name: "Pause big-50mb.bin" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => stateOf(page, "big-50mb.bin")).toBe("paused");
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.tagName);
    expect(await focused()).toBe("Resume big-50mb.bin");
    const pausedAt = await percentOf(page, "big-50mb.bin");
    expect(pausedAt).toBeLessThan(100);
    await rig().screenshot(page, "demo-mid-upload-paused");
    // Paused stays paused: no progress while it waits.
    await page.waitForTimeout(500);
    // (A part whose answer was already on its way when Pause was pressed may still count.)
    expect(await percentOf(page, "big-50mb.bin")).toBeLessThanOrEqual(pausedAt + (100 * MiB) / big.size);
    await page.keyboard.press("Enter");
    await expect.poll(focused).toBe("Pause big-50mb.bin");
    for (const name of ["big-50mb.bin", "small.txt", "medium.bin"]) await expect.poll(() => stateOf(page, name), { timeout: 60_000 }).toBe("done");
    await rig().screenshot(page, "demo-done");
    for (const name of ["big-50mb.bin", "small.txt", "medium.bin"]) {
      expect(await readBackSha(page, name), name).toBe(files[name].sha256);
      expect(await row(page, name).locator(".etag").textContent()).toMatch(/^"[0-9a-f]{32}(-\d+)?"$/);
      expect(await row(page, name).locator(".crc64").textContent()).toMatch(/^\d+$/);
      const href = await row(page, name).locator("a.download").getAttribute("href");
      expect(href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.+q-signature/);
    }
    // The download link serves the file as COS stored it.
    const href = (await page.getByRole("link", { name: "Download small.txt" }).getAttribute("href"))!;
    expect(Buffer.from(await (await fetch(href)).arrayBuffer())).toEqual(await readFile(small.path));
  });

  it("after a reload mid-upload, lists the upload and resumes it when the same file is picked; no finished part is sent twice", async () => {
    const { f, page, client } = await uploadUntil("resume.bin", 20 * MiB, 30);
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await expect.poll(() => page.locator("#unfinished").textContent()).toMatch(/resume\.bin: [\d.]+ MB of 20 MB sent .*Pick the same file to resume/);
    await rig().screenshot(page, "demo-after-reload-unfinished");
    await page.setInputFiles("#files", f.path);
    await expect.poll(() => stateOf(page, "resume.bin"), { timeout: 60_000 }).toBe("done");
    expect(await readBackSha(page, "resume.bin")).toBe(f.sha256);
    const perUpload = Object.values(client.counters().parts);
    expect(perUpload).toHaveLength(1); // one multipart upload, resumed, not a second one
    const counts = Object.values(perUpload[0]);
    expect(counts).toHaveLength(20);
    expect(counts.every((n) => n === 1), JSON.stringify(perUpload[0])).toBe(true);
    // Picked again, it leaves the list, and stays off it once done.
    await expect.poll(() => page.locator("#unfinished").textContent()).not.toContain("resume.bin");
  });

  it("with the File System Access API, a picked file resumes after a reload from Unfinished uploads with one click, without being picked again; no finished part is sent twice", async () => {
    // The picker's dialog cannot be driven by automation (playwright#8850): this stands in for it,
    // giving a real FileSystemFileHandle from the origin private file system (writeOpfsFile).
    const page = await openDemo(() => {
      (window as unknown as { showOpenFilePicker: () => Promise<FileSystemFileHandle[]> }).showOpenFilePicker = async () => [await (await navigator.storage.getDirectory()).getFileHandle("handle.bin")];
    });
    const size = 20 * MiB;
    const sha256 = await writeOpfsFile(page, "handle.bin", size);
    const client = rig().client;
    client.resetCounters();
    slowParts(80);
    await page.click('label[for="files"]');
    await waitPercent(page, "handle.bin", 30);
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await partsSettled(client); // a part landing after the resume's listing would be sent again
    client.clearFaults();
    const item = page.locator("#unfinished li", { hasText: "handle.bin" });
    expect(await item.textContent()).toMatch(/^handle\.bin: [\d.]+ MB of 20 MB sent \(.+\)\. Resume$/);
    await rig().screenshot(page, "demo-after-reload-handle");
    // Listing the parts is slowed, so the task stays before "uploading" for a while: its entry must
    // not come back meanwhile (a second click would start a second upload of the whole file).
    client.fault({ kind: "delay", method: "GET", query: "uploadId", delayMs: 1500, count: 1 });
    await page.getByRole("button", { name: "Resume unfinished upload of handle.bin" }).click();
    expect(await item.count()).toBe(0);
    // The keyboard's focus goes to the new row, not to the page.
    await expect.poll(() => page.evaluate(() => document.activeElement?.querySelector(".name")?.textContent)).toBe("handle.bin");
    await new Promise((r) => setTimeout(r, 800));
    expect(await item.count()).toBe(0);
    await expect.poll(() => stateOf(page, "handle.bin"), { timeout: 60_000 }).toBe("done");
    expect(await readBackSha(page, "handle.bin")).toBe(sha256);
    const perUpload = Object.values(client.counters().parts);
    expect(perUpload).toHaveLength(1); // one multipart upload, resumed
    const counts = Object.values(perUpload[0]);
    expect(counts).toHaveLength(20);
    expect(counts.every((n) => n === 1), JSON.stringify(perUpload[0])).toBe(true);
    await expect.poll(() => item.count()).toBe(0);
    await rig().screenshot(page, "demo-handle-resumed");
  });

  it("offline mid-upload, the page says the uploads wait; back online, they finish", async () => {
    const { f, page } = await uploadUntil("offline.bin", 12 * MiB, 10);
    // Everything #status says, in order (a later message may replace one before the test looks).
    await page.evaluate(() => {
      const said: string[] = ((window as unknown as { said: string[] }).said = []);
      const status = document.getElementById("status")!;
      new MutationObserver(() => said.push(status.textContent ?? "")).observe(status, { childList: true, characterData: true, subtree: true });
    });
    const said = () => page.evaluate(() => (window as unknown as { said: string[] }).said);
    await page.context().setOffline(true);
    await expect.poll(() => page.locator("#status").textContent()).toMatch(/^You are offline\. Uploads wait/);
    await rig().screenshot(page, "demo-offline");
    // (That the client holds its retries however long the browser is offline is client.test.ts's.)
    await page.context().setOffline(false);
    await expect.poll(() => stateOf(page, "offline.bin"), { timeout: 60_000 }).toBe("done");
    await expect.poll(said).toEqual([expect.stringMatching(/^You are offline/), expect.stringMatching(/^Back online/), "offline.bin is uploaded."]);
    expect(await readBackSha(page, "offline.bin")).toBe(f.sha256);
  });

  it("from the keyboard: the first Tab reaches the file picker (its ring on the visible button), Pause all and Resume all stop and restart every upload", async () => {
    const a = await file("all-a.bin", 8 * MiB);
    const b = await file("all-b.bin", 8 * MiB + 3);
    const page = await openDemo();
    // Slow enough that neither file (8 parts, 3 at a time) can finish between the 10 % seen and the press.
    slowParts(250);
    // One tab stop for picking files: the file input, drawn as its label. (The picker itself is not
    // opened: Chromium shows a real one only to the page in front, flaky with many.)
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("files");
    const ring = await page.$eval('label[for="files"]', (label) => getComputedStyle(label).outlineStyle);
    expect(ring).toBe("solid");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("pause-all");
    await page.setInputFiles("#files", [a.path, b.path]);
    await waitPercent(page, "all-a.bin", 10);
    await page.focus("#pause-all");
    await page.keyboard.press("Enter");
    for (const name of ["all-a.bin", "all-b.bin"]) await expect.poll(() => stateOf(page, name)).toBe("paused");
    await expect.poll(() => row(page, "all-a.bin").locator(".state").textContent()).toBe("Paused");
    expect(await page.locator("#status").textContent()).toMatch(/is paused\.$/);
    // Focus is visible where the keyboard is (an outline, not the browser's default none).
    expect(await page.$eval("#pause-all", (el) => getComputedStyle(el).outlineStyle)).not.toBe("none");
    await rig().screenshot(page, "demo-paused-all");
    await page.keyboard.press("Tab"); // to Resume all
    await page.keyboard.press(" ");
    for (const name of ["all-a.bin", "all-b.bin"]) await expect.poll(() => stateOf(page, name), { timeout: 30_000 }).toBe("done");
    for (const name of ["all-a.bin", "all-b.bin"]) expect(await readBackSha(page, name), name).toBe(files[name].sha256);
  });

  it("a failed upload says so in words and completes when resumed", async () => {
    const f = await file("fails.txt", 4000);
    const page = await openDemo();
    // Every PUT answers 500 until the client's retries run out (5 attempts).
    rig().client.fault({ kind: "500", method: "PUT", count: 10_000 });
    await page.setInputFiles("#files", f.path);
    await expect.poll(() => stateOf(page, "fails.txt"), { timeout: 30_000 }).toBe("failed");
    expect(await row(page, "fails.txt").locator(".error").textContent()).toMatch(/^COS refused the upload \(500.*\)\. Press Resume to try again\.$/);
    await rig().screenshot(page, "demo-failed");
    rig().client.clearFaults();
    await row(page, "fails.txt").getByRole("button", { name: "Resume fails.txt" }).click();
    await expect.poll(() => stateOf(page, "fails.txt"), { timeout: 15_000 }).toBe("done");
    // The new attempt's result reaches the row, and the old error is gone.
    expect(await row(page, "fails.txt").locator(".error").isHidden()).toBe(true);
    expect(await readBackSha(page, "fails.txt")).toBe(f.sha256);
  });

  it("at 320 px wide a row's buttons stay inside it and the page does not scroll sideways; the focus ring stands out (≥ 3:1)", async () => {
    const name = "narrow-screen-with-a-long-name.bin";
    const f = await file(name, 3000);
    const page = await openDemo();
    await page.setViewportSize({ width: 320, height: 640 });
    await page.setInputFiles("#files", f.path);
    await expect.poll(() => stateOf(page, name)).toBe("done");
    const layout = await row(page, name).evaluate((li) => {
      const box = li.getBoundingClientRect();
      const spill = [...li.querySelectorAll("button")].map((b) => b.getBoundingClientRect()).filter((r) => r.left < box.left || r.right > box.right).length;
      return { spill, scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth };
    });
    expect(layout).toEqual({ spill: 0, scrollWidth: 320, clientWidth: 320 });
    await rig().screenshot(page, "demo-320px");
    // WCAG relative luminance and contrast of the ring's colour against the page's background, on
    // Pause all reached by the keyboard (so :focus-visible applies).
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => [document.activeElement?.id, getComputedStyle(document.activeElement!).outlineStyle])).toEqual(["pause-all", "solid"]);
    const contrast = await page.evaluate(() => {
      const rgb = (css: string) => css.match(/\d+/g)!.slice(0, 3).map(Number);
      const luminance = (css: string) => {
        const [r, g, b] = rgb(css).map((c) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4));
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const button = document.activeElement!;
      const [ring, page] = [luminance(getComputedStyle(button).outlineColor), luminance(getComputedStyle(document.documentElement).backgroundColor)];
      return (Math.max(ring, page) + 0.05) / (Math.min(ring, page) + 0.05);
    });
    expect(contrast).toBeGreaterThanOrEqual(3);
  });

  it("a file dropped on the drop zone uploads", async () => {
    const f = await file("dropped.txt", 5000);
    const page = await openDemo();
    const bytes = [...(await readFile(f.path))];
    // What a drag from the desktop delivers: a drop event whose DataTransfer holds the file.
    await page.locator("#drop").evaluate((zone, data) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(data)], "dropped.txt", { type: "text/plain" }));
      zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await expect.poll(() => stateOf(page, "dropped.txt"), { timeout: 15_000 }).toBe("done");
    await rig().screenshot(page, "demo-dropped");
    expect(await readBackSha(page, "dropped.txt")).toBe(f.sha256);
  });

  it("a folder dropped with a file is named and skipped; the file uploads", async () => {
    const f = await file("beside-folder.txt", 3000);
    const page = await openDemo();
    const bytes = [...(await readFile(f.path))];
    // Chromium gives a dropped folder as a "file" item whose handle is a directory. A DataTransfer
    // built here cannot hold a folder, so the item named "photos" answers with a real directory
    // handle from the origin private file system; the other keeps the browser's own answer.
    await page.locator("#drop").evaluate(async (zone, data) => {
      const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle("photos", { create: true });
      type Item = DataTransferItem & { getAsFileSystemHandle(): Promise<FileSystemHandle | null> };
      const proto = DataTransferItem.prototype as Item;
      const own = proto.getAsFileSystemHandle;
      proto.getAsFileSystemHandle = function (this: Item) {
        return this.getAsFile()?.name === "photos" ? Promise.resolve(folder) : own.call(this);
      };
      const transfer = new DataTransfer();
      transfer.items.add(new File([], "photos"));
      transfer.items.add(new File([new Uint8Array(data)], "beside-folder.txt", { type: "text/plain" }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await expect.poll(() => page.locator("#status").textContent()).toBe("photos is a folder: drop the files in it instead.");
    await expect.poll(() => stateOf(page, "beside-folder.txt"), { timeout: 15_000 }).toBe("done");
    expect(await row(page, "photos").count()).toBe(0);
    expect(await readBackSha(page, "beside-folder.txt")).toBe(f.sha256);
  });

  it("a File System Access picker that fails says so, and the next press opens the plain file picker", async () => {
    // A cross-origin frame or a policy may forbid the picker: it then throws (not AbortError).
    const page = await openDemo(() => {
      (window as unknown as { showOpenFilePicker: () => Promise<never> }).showOpenFilePicker = async () => {
        throw new DOMException("Cross origin sub frames aren't allowed to show a file picker.", "SecurityError");
      };
    });
    await page.click('label[for="files"]');
    await expect.poll(() => page.locator("#status").textContent()).toBe(
      "The file picker failed (Cross origin sub frames aren't allowed to show a file picker.). Press Choose files again.",
    );
    const f = await file("after-fallback.txt", 2000);
    const [chooser] = await Promise.all([page.waitForEvent("filechooser", { timeout: 5000 }), page.click('label[for="files"]')]);
    await chooser.setFiles(f.path);
    await expect.poll(() => stateOf(page, "after-fallback.txt"), { timeout: 15_000 }).toBe("done");
    expect(await readBackSha(page, "after-fallback.txt")).toBe(f.sha256);
  });

  it("cancel aborts the multipart upload on cos-local", async () => {
    const { page, client } = await uploadUntil("cancel.bin", 20 * MiB, 10);
    await row(page, "cancel.bin").getByRole("button", { name: "Cancel cancel.bin" }).click();
    await expect.poll(() => stateOf(page, "cancel.bin")).toBe("cancelled");
    // Said (role=status), not shown as an error.
    await expect.poll(() => page.locator("#status").textContent()).toBe("cancel.bin is cancelled. Nothing is left on the server.");
    expect(await row(page, "cancel.bin").locator(".error").isHidden()).toBe(true);
    await rig().screenshot(page, "demo-cancelled");
    expect(client.counters().operations.AbortMultipartUpload).toBeGreaterThanOrEqual(1);
    expect((await client.listUploads(DEMO_SUBJECT)).map((u) => basename(u.key))).not.toContain("cancel.bin");
  });

  it("the plain HTML form uploads through the policy, and a file over its content-length-range is refused", async () => {
    const ok = await file("form-ok.txt", 800);
    const tooBig = await file("form-too-big.txt", 1001);
    const page = await rig().page("/form?maxBytes=1000");
    await page.setInputFiles("#file", ok.path);
    await Promise.all([page.waitForURL(/\/form\/done\?/), page.getByRole("button", { name: "Upload" }).click()]);
    const key = (await page.locator(".key").textContent())!;
    expect(key).toMatch(new RegExp(`^users/${DEMO_SUBJECT}/.*form-ok\\.txt$`));
    await rig().screenshot(page, "demo-form-done");
    expect(await rig().client.readBackSha256(key, DEMO_SUBJECT)).toBe(ok.sha256);

    await page.goto(`${rig().origin}/form?maxBytes=1000`);
    await page.setInputFiles("#file", tooBig.path);
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.getByRole("button", { name: "Upload" }).click()]);
    expect(response.status()).toBe(400);
    expect(await response.text()).toContain("EntityTooLarge");
    await rig().screenshot(page, "demo-form-too-large");
    const confirm = await rig().client.api("POST", "/v1/objects/confirm", { key: key.replace("form-ok.txt", "form-too-big.txt") }, DEMO_SUBJECT);
    expect(confirm.status).toBe(404);
  });

  it("served from an origin the functions do not allow (CORS_ORIGINS), the page says so on load", async () => {
    // The same demo routes on another port: another origin, which the functions' CORS refuses.
    const elsewhere = await serveRoutes(demoRoutes({ api: rig().client.endpoint, token: (sub, ttl) => rig().client.token(sub, ttl) }), 0);
    try {
      const page = await rig().browser.newPage();
      await page.goto(elsewhere.url);
      await page.waitForSelector("body[data-ready=true]");
      expect(await page.locator("#setup").isVisible()).toBe(true);
      const items = await page.locator("#setup li").allTextContents();
      expect(items).toEqual([`Error: This page could not reach the upload service at ${rig().client.endpoint}. If it is running, its CORS_ORIGINS must include ${elsewhere.url}.`]);
      await page.close();
    } finally {
      await elsewhere.close();
    }
  });

  it("warns of a bucket CORS rule that hides ETag on load, before any upload, then shows the CORS message within seconds of one", async () => {
    const f = await file("cors.bin", 2 * MiB + 5);
    await rig().setBucketCors(corsHidingEtag(rig().origin));
    try {
      const page = await openDemo();
      // GET /v1/diagnostics judged the rule before anything was picked.
      await expect.poll(() => page.locator("#setup").isVisible()).toBe(true);
      expect(await page.locator("#setup-heading").textContent()).toContain("will fail");
      const items = await page.locator("#setup li").allTextContents();
      // Each item names its kind in words; errors first.
      expect(items.map((t) => t.split(":")[0])).toEqual(["Error", "Error", "Warning", "Warning"]);
      expect(items[0]).toContain('rule 1 ("hides-etag")');
      expect(items[0]).toContain("add ETag to its ExposeHeader");
      expect(items[1]).toContain("x-cos-hash-crc64ecma");
      expect(await page.locator("#status").textContent()).toBe("Setup check: 2 errors and 2 warnings, listed above the file picker.");
      await rig().screenshot(page, "demo-setup-warning");
      const started = Date.now();
      await page.setInputFiles("#files", f.path);
      await expect.poll(() => row(page, "cors.bin").locator(".error").textContent(), { timeout: 10_000 }).toContain("ExposeHeader");
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await page.locator("#status").textContent()).toContain("CORS");
      await rig().screenshot(page, "demo-cors-hides-etag");
    } finally {
      await rig().setBucketCors(null);
    }
  });
});
