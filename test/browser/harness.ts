// The browser rig (issue 5 "End-to-end tests"): Debian Chromium driven by playwright-core, a page
// server on 127.0.0.1, and test/node/client-harness.ts behind it (cos-local in-process, the functions
// in workerd), wired as a deployment would be: the functions allow the page's origin (CORS_ORIGINS)
// and cos-local's bucket CORS exposes ETag to it (cos-local's dev rule, or `cors` to change it).
//
// The page server serves `/` (an empty page that loads the client as `window.cosDirect`),
// `/client.js` (client/index.ts, the browser entry, bundled by esbuild once per process),
// `/cos-js-sdk.js` (the official cos-js-sdk-v5 build) and any `routes` a test adds. Screenshots go to
// test-results/browser/<name>.png (gitignored).
//
//   const rig = useBrowserHarness();
//   it("...", async () => { const page = await rig().page(); ... await rig().screenshot(page, "name"); });

import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { corsToXml, type CorsConfiguration } from "../../emulator/cors";
import { authorization, keyTime } from "../../functions/cos/sign";
import { send, serveRoutes, type Route } from "../../scripts/demo-server";
import { startClientHarness, type ClientHarness, type ClientHarnessOptions } from "../node/client-harness";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SCREENSHOTS = join(ROOT, "test-results/browser");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** TOOLCHAIN.md §5: flags verified with Debian Chromium; `extra` adds more (e.g. host-resolver-rules). */
export function launchChromium(extra: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", ...extra],
  });
}

let clientBundle: Promise<string> | undefined;
/** client/index.ts for browsers (ESM, minified as an app would ship it), built once per process. */
export function clientBundleCode(): Promise<string> {
  clientBundle ??= build({ entryPoints: [join(ROOT, "client/index.ts")], bundle: true, format: "esm", platform: "browser", target: "es2020", minify: true, write: false }).then((r) => r.outputFiles[0].text);
  return clientBundle;
}

const TEST_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cos-direct browser test</title></head>
<body><h1>cos-direct browser test</h1><pre id="log" aria-live="polite"></pre>
<script type="module">import * as cosDirect from "/client.js"; window.cosDirect = cosDirect; window.ready = true;</script></body></html>`;

export interface BrowserHarnessOptions {
  /** Passed to startClientHarness (vars for the functions, cos-local options). */
  client?: ClientHarnessOptions;
  /** Extra page-server routes by path (without query); a function gets the running client harness (e.g. the demo's routes). */
  routes?: Record<string, Route> | ((client: ClientHarness) => Record<string, Route>);
  /** Extra Chromium flags. */
  chromiumArgs?: string[];
}

export interface BrowserHarness {
  browser: Browser;
  /** cos-local + the functions (endpoint, token(), counters(), readBack()...). */
  client: ClientHarness;
  /** The page server's origin, `http://127.0.0.1:<port>`. */
  origin: string;
  /**
   * A fresh page (own context: own localStorage) at `path` (default the test page, client loaded);
   * `init` runs in every document of it before the page's scripts (e.g. standing in for a browser dialog).
   */
  page(path?: string, init?: () => void): Promise<Page>;
  /** Saves a full-page PNG as test-results/browser/<name>.png and returns its path. A `caption`
   *  (the test's outcome) is added to the page first, so a screenshot of the bare test page says something. */
  screenshot(page: Page, name: string, caption?: string): Promise<string>;
  /** Sets the bucket's CORS on cos-local (PUT /?cors, signed); null restores cos-local's default. */
  setBucketCors(config: CorsConfiguration | null): Promise<void>;
  close(): Promise<void>;
}

export async function startBrowserHarness(options: BrowserHarnessOptions = {}): Promise<BrowserHarness> {
  const routes: Record<string, Route> = {
    "/": (_req, res) => send(res, 200, "text/html; charset=utf-8", TEST_PAGE),
    "/client.js": async (_req, res) => send(res, 200, "text/javascript", await clientBundleCode()),
    "/cos-js-sdk.js": async (_req, res) => send(res, 200, "text/javascript", await readFile(join(ROOT, "node_modules/cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js"))),
    "/favicon.ico": (_req, res) => send(res, 204, "image/x-icon", ""),
  };
  // The page's origin must be known before the functions start (their CORS_ORIGINS); routes are added after.
  const server = await serveRoutes(routes, 0);
  const origin = server.url;
  let client: ClientHarness | undefined;
  let browser: Browser | undefined;
  try {
    const vars = { CORS_ORIGINS: origin, ...options.client?.vars };
    client = await startClientHarness({ ...options.client, vars });
    Object.assign(routes, typeof options.routes === "function" ? options.routes(client) : options.routes);
    browser = await launchChromium(options.chromiumArgs);
    await mkdir(SCREENSHOTS, { recursive: true });
    const contexts: BrowserContext[] = [];
    const cos = client.cos;
    const running = { client, browser };
    return {
      browser,
      client,
      origin,
      async page(path = "/", init) {
        const context = await running.browser.newContext({ viewport: { width: 1100, height: 800 } });
        contexts.push(context);
        if (init) await context.addInitScript(init);
        const page = await context.newPage();
        await page.goto(origin + path);
        // The test page sets window.ready once the client is loaded; a page mounted at "/" instead (the demo) sets body[data-ready].
        if (path === "/") await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true || document.body?.dataset.ready === "true");
        return page;
      },
      async screenshot(page, name, caption) {
        if (caption !== undefined) {
          await page.evaluate((text) => {
            const pre = document.createElement("pre");
            pre.textContent = text;
            document.body.append(pre);
          }, caption);
        }
        const path = join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, "-")}.png`);
        await page.screenshot({ path, fullPage: true });
        return path;
      },
      async setBucketCors(config) {
        const body = config ? corsToXml(config) : undefined;
        const method = config ? "PUT" : "DELETE";
        const host = `127.0.0.1:${cos.port}`;
        const headers: Record<string, string> = { host, ...(body ? { "content-type": "application/xml", "content-length": String(Buffer.byteLength(body)) } : {}) };
        const auth = await authorization({ secretId: cos.secretId, secretKey: cos.secretKey, method, pathname: `/${cos.bucket}/`, query: { cors: "" }, headers, keyTime: keyTime(Date.now()) });
        const res = await fetch(`${cos.url}/${cos.bucket}/?cors`, { method, headers: { ...headers, authorization: auth }, body });
        if (!res.ok) throw new Error(`${method} ?cors answered ${res.status}: ${await res.text()}`);
      },
      async close() {
        for (const context of contexts) await context.close().catch(() => undefined);
        await running.browser.close().catch(() => undefined);
        await running.client.close();
        await server.close();
      },
    };
  } catch (error) {
    await browser?.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await server.close();
    throw error;
  }
}

/** Starts a browser harness before a test file's tests and closes it after them. */
export function useBrowserHarness(options: BrowserHarnessOptions = {}): () => BrowserHarness {
  let harness: BrowserHarness | undefined;
  beforeAll(async () => {
    harness = await startBrowserHarness(options);
  }, 120_000);
  afterAll(() => harness?.close());
  return () => {
    if (!harness) throw new Error("the browser harness is not running (use it inside a test)");
    return harness;
  };
}

/** A CORS configuration for the page's origin that does NOT expose ETag (the misconfiguration users hit). */
export function corsHidingEtag(origin: string): CorsConfiguration {
  return { rules: [{ id: "hides-etag", allowedOrigins: [origin], allowedMethods: ["GET", "PUT", "POST", "DELETE", "HEAD"], allowedHeaders: ["*"], exposeHeaders: ["x-cos-request-id"], maxAgeSeconds: 0 }] };
}

/**
 * Waits until cos-local accepts no part for `quietMs`. After a page reload, parts whose bytes had all
 * left the page still land (after a delay fault); one landing after a resume's listing of the parts
 * would be sent again, so resume tests wait for this first.
 */
export async function partsSettled(client: ClientHarness, quietMs = 600): Promise<void> {
  let last = "";
  await expect
    .poll(
      () => {
        const now = JSON.stringify(client.counters().parts);
        const same = now === last;
        last = now;
        return same;
      },
      { timeout: 10_000, interval: quietMs },
    )
    .toBe(true);
}

/**
 * Writes `size` random bytes to `name` in the page's origin private file system and returns their
 * SHA-256 (hex). Its handles are real FileSystemFileHandles, read permission granted, as
 * showOpenFilePicker gives (whose dialog no automation can drive: playwright#8850).
 */
export function writeOpfsFile(page: Page, name: string, size: number): Promise<string> {
  return page.evaluate(
    async ({ name, size }) => {
      const bytes = new Uint8Array(size);
      for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
      const writable = await (await (await navigator.storage.getDirectory()).getFileHandle(name, { create: true })).createWritable();
      await writable.write(bytes);
      await writable.close();
      return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((x) => x.toString(16).padStart(2, "0")).join("");
    },
    { name, size },
  );
}
