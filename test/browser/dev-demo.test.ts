// Issue 5 "What it must show", as a newcomer does it: `npm run dev` (scripts/dev.ts as a child
// process: cos-local, `wrangler dev`, the demo server), open the URL it prints in Chromium, upload a
// file, see it complete. The other demo tests mount the demo's routes on the browser harness; this
// one proves the real dev wiring (CORS_ORIGINS, cos-local's CORS rule for the page, the token route,
// the form's redirect back) works end to end, with wrangler's default part size (multipart).

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startDevProcess, type DevProcess } from "../../scripts/dev-process";
import { launchChromium, SCREENSHOTS } from "./harness";

const MiB = 1024 * 1024;
let dir: string;
let dev: DevProcess;
let browser: Browser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cos-direct-dev-demo-"));
  [dev, browser] = await Promise.all([startDevProcess({ dataDir: join(dir, "cos-local"), timeoutMs: 60_000 }), launchChromium()]);
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await dev?.stop();
  await rm(dir, { recursive: true, force: true });
}, 30_000);

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

it("npm run dev: the printed URL opens the demo, a 17 MB file uploads in parts to identical bytes, and the HTML form lands a file", async () => {
  // 17 MB: more than the functions' default 8 MiB part size, so a multipart upload through wrangler dev.
  const bytes = randomBytes(17 * MiB);
  const path = join(dir, "dev-demo.bin");
  await writeFile(path, bytes);

  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(dev.demoUrl);
  await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
  await page.setInputFiles("#files", path);
  const row = page.locator(".upload").first();
  await expect.poll(() => row.getAttribute("data-state"), { timeout: 30_000 }).toBe("done");
  await page.screenshot({ path: join(SCREENSHOTS, "dev-demo-done.png"), fullPage: true });
  expect(await row.locator(".etag").textContent()).toMatch(/^"[0-9a-f]{32}-3"$/); // three parts
  expect(await page.locator("#status").textContent()).toBe("dev-demo.bin is uploaded.");

  // The row's download link (a presigned GET from the functions) serves the same bytes from cos-local.
  const href = (await row.locator("a.download").getAttribute("href"))!;
  expect(href.startsWith(dev.cosUrl)).toBe(true);
  const download = await fetch(href);
  expect(download.status).toBe(200);
  expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));

  // The no-JavaScript form: its policy comes from /v1/forms under wrangler dev, and cos-local redirects back.
  const formFile = join(dir, "dev-form.txt");
  const formText = `posted by a plain HTML form ${Date.now()}\n`;
  await writeFile(formFile, formText);
  await page.getByRole("link", { name: "A plain HTML form" }).click();
  await page.setInputFiles("#file", formFile);
  await Promise.all([page.waitForURL(/\/form\/done\?/), page.getByRole("button", { name: "Upload" }).click()]);
  const key = (await page.locator(".key").textContent())!;
  expect(key).toMatch(/^users\/demo\/(.+\/)?dev-form\.txt$/);
  // Read it back as the page's user: the demo server's DEV-ONLY token, a presigned GET from the functions.
  const { token } = (await (await fetch(`${dev.demoUrl}/dev/token`)).json()) as { token: string };
  const signed = await fetch(`${dev.apiUrl}/v1/objects/download`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ key }) });
  expect(signed.status).toBe(200);
  const { url } = (await signed.json()) as { url: string };
  expect(await (await fetch(url)).text()).toBe(formText);
  expect(errors).toEqual([]);
}, 60_000);
