// Issue 3 "What it must show": with `npm run dev` (scripts/dev.ts: cos-local + wrangler dev), the
// curl-only script uploads 20 MB in parts, reads back identical bytes, and gets 403 when another
// user completes. The script runs with its own defaults for the JWT secret, so this also pins that
// it matches the dev-only secret `npm run dev` configures.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startDevProcess, type DevProcess } from "../../scripts/dev-process";

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
