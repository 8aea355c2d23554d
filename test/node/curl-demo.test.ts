// Issue 3 "What it must show": with `npm run dev` (scripts/dev.ts: cos-local + wrangler dev), the
// curl-only script uploads 20 MB in parts, reads back identical bytes, and gets 403 when another
// user completes. Issue 5: the same process serves the demo page, moves to free ports when its
// ports are taken, and leaves no process (workerd included) and nothing listening after Ctrl-C. The script runs with its own defaults for the JWT secret, so this also pins that
// it matches the dev-only secret `npm run dev` configures.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_BUCKET } from "../../emulator/server";
import { startDevProcess, type DevProcess } from "../../scripts/dev-process";
import { DEV_JWT_SECRET, DEV_UPLOAD_TOKEN_SECRET } from "../../scripts/dev-env";

let dev: DevProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "cos-direct-curl-demo-"));
  dev = await startDevProcess({ dataDir, timeoutMs: 45_000 });
}, 50_000);

afterAll(async () => {
  await dev?.stop();
  await rm(dataDir, { recursive: true, force: true });
}, 20_000);

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", fail);
    child.once("exit", (code) => done({ code, output }));
  });
}

it("scripts/curl-demo.sh passes against npm run dev", async () => {
  const { JWT_SECRET: _secret, ...env } = process.env;
  const { code, output } = await run("bash", ["scripts/curl-demo.sh"], { ...env, API_URL: dev.apiUrl });
  expect(output, `${output}\n--- npm run dev ---\n${dev.output()}`).toMatch(/^PASS: 20000000 bytes .* got 403$/m);
  expect(code).toBe(0);
  expect(output).toContain("HTTP 403 NotYourUpload");
}, 60_000);

it("serves the demo page: its config points at the API, and its DEV-ONLY token is accepted there", async () => {
  // One line, the URL to open: wrangler's banner, bindings table and request log are not printed.
  expect(dev.output().split("\n").filter((line) => line.trim())).toEqual([expect.stringMatching(/^cos-direct dev: open http:\/\/127\.0\.0\.1:\d+ /)]);
  const page = await fetch(dev.demoUrl);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<title>cos-direct demo</title>");
  expect(await (await fetch(`${dev.demoUrl}/config.json`)).json()).toEqual({ api: dev.apiUrl });
  const { token } = (await (await fetch(`${dev.demoUrl}/dev/token`)).json()) as { token: string };
  const list = await fetch(`${dev.apiUrl}/v1/uploads`, { headers: { authorization: `Bearer ${token}`, origin: dev.demoUrl } });
  expect(list.status).toBe(200);
  // The functions allow the demo's origin (CORS_ORIGINS), so the page may read their answers.
  expect(list.headers.get("access-control-allow-origin")).toBe(dev.demoUrl);
  // cos-local's bucket CORS lets the page PUT parts and read their ETag; another origin gets no CORS headers.
  const preflight = (origin: string) =>
    fetch(`${dev.cosUrl}/${DEFAULT_BUCKET}/users/demo/x`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "PUT", "access-control-request-headers": "content-type" } });
  const allowed = await preflight(dev.demoUrl);
  expect(allowed.status).toBe(200);
  expect(allowed.headers.get("access-control-allow-origin")).toBe(dev.demoUrl);
  expect(allowed.headers.get("access-control-expose-headers")).toMatch(/\bETag\b/i);
  expect((await preflight("http://127.0.0.1:1")).headers.get("access-control-allow-origin")).toBeNull();
  const script = await fetch(`${dev.demoUrl}/demo.js`);
  expect(script.headers.get("content-type")).toContain("javascript");
  expect((await script.text()).length).toBeGreaterThan(10_000);
});

it("hands wrangler its secrets in a file, not on a command line other local users can read in ps", () => {
  const secrets = [DEV_UPLOAD_TOKEN_SECRET, DEV_JWT_SECRET];
  const exposed = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")];
      } catch {
        return [];
      }
    })
    .filter((line) => /wrangler/.test(line) && secrets.some((secret) => line.includes(secret)));
  expect(dev.output()).toContain("cos-direct dev: open"); // dev (and wrangler with it) is running
  expect(exposed).toEqual([]);
});

/** Live (not zombie) processes descending from `root`, read from /proc: wrangler and workerd included. */
function descendants(root: number): Map<number, string> {
  const procs = readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((pid) => {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return state === "Z" ? [] : [{ pid: Number(pid), ppid: Number(ppid), comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) }];
    } catch {
      return []; // exited while listing
    }
  });
  const found = new Map<number, string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!found.has(p.pid) && (p.ppid === root || found.has(p.ppid))) {
        found.set(p.pid, p.comm);
        grew = true;
      }
    }
  }
  return found;
}

/** Whether `pid` still runs (a zombie does not). */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").slice(-200).match(/\) Z /);
  } catch {
    return false;
  }
}

/** Whether something answers on `url` (a closed port refuses at once; the long timeout is for a loaded machine). */
const listening = (url: string) => fetch(url, { signal: AbortSignal.timeout(10_000) }).then(() => true, () => false);

it("ports already taken are skipped, and Ctrl-C (SIGINT to the group) leaves no process (workerd included) and nothing listening", async () => {
  const port = (url: string) => new URL(url).port;
  const otherData = await mkdtemp(join(tmpdir(), "cos-direct-dev-2-"));
  const other = await startDevProcess({
    dataDir: otherData,
    timeoutMs: 45_000,
    // The first instance holds these: the second must move to the next free ones.
    env: { PORT: port(dev.apiUrl), COS_LOCAL_PORT: port(dev.cosUrl), DEMO_PORT: port(dev.demoUrl) },
  });
  try {
    expect(other.apiUrl).not.toBe(dev.apiUrl);
    expect(other.cosUrl).not.toBe(dev.cosUrl);
    expect(other.demoUrl).not.toBe(dev.demoUrl);
    expect(await listening(`${other.apiUrl}/healthz`)).toBe(true);
    // wrangler runs in a process group of its own, so the group signal alone would not reach workerd.
    const children = descendants(other.pid);
    expect([...children.values()]).toContain("workerd");
    process.kill(-other.pid, "SIGINT");
    expect(await other.exited).toBe(0);
    await expect.poll(() => [...children].filter(([pid]) => alive(pid)), { timeout: 5_000 }).toEqual([]);
    for (const url of [`${other.apiUrl}/healthz`, other.cosUrl, other.demoUrl]) expect(await listening(url), url).toBe(false);
    // The first instance is untouched.
    expect(await listening(`${dev.apiUrl}/healthz`)).toBe(true);
  } finally {
    await other.stop();
    await rm(otherData, { recursive: true, force: true });
  }
}, 90_000);
